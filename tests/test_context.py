"""Context prediction: batched patch pairs, the projection, the aberration simulator, the pair network and the
position regressor, and the experiments' plumbing (tiny runs on the CPU)."""

import json

import pytest
import torch

from sslcourse import methods, pretrained
from sslcourse.experiments import context as experiments
from sslcourse.methods.context import (
    OFFSETS,
    ContextPrediction,
    PatchEncoder,
    grid_side,
    per_image_sampler,
    remove_green_magenta,
    sample_patch_pair,
    sample_patch_pairs,
)
from sslcourse.methods.context_shortcuts import PositionRegressor, chromatic_aberration, colour_drop
from sslcourse.models import build_model


def coded(n, h, w):
    """Images whose values are their own coordinates: row * 1000 + column."""
    rows = torch.arange(h, dtype=torch.float32)[:, None] * 1000
    return (rows + torch.arange(w, dtype=torch.float32)[None]).expand(n, 3, h, w).clone()


@pytest.mark.parametrize("patch, gap, jitter", [(16, 4, 2), (8, 0, 0), (5, 3, 1)])
def test_batched_pairs_sit_where_their_labels_say(patch, gap, jitter):
    images = coded(64, 60, 70)
    center, neighbor, labels = sample_patch_pairs(images, patch, gap, jitter, torch.Generator().manual_seed(0))
    assert center.shape == neighbor.shape == (64, 3, patch, patch) and labels.shape == (64,)
    c, n = center[:, 0, 0, 0].long(), neighbor[:, 0, 0, 0].long()
    step = torch.tensor(OFFSETS)[labels] * (patch + gap)  # (B, 2)
    residual = torch.stack([n // 1000 - c // 1000, n % 1000 - c % 1000], 1) - step
    assert residual.abs().max() <= 2 * jitter
    assert torch.equal(center[:, 0, -1, -1] - center[:, 0, 0, 0], torch.full((64,), (patch - 1) * 1001.0))


def test_a_one_image_sampler_trains_the_network_too():
    torch.manual_seed(0)
    model = methods.build("context", width=0.125, hidden=32)
    model.sampler = per_image_sampler(sample_patch_pair)
    x = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    center, neighbor, labels = model.sampler(coded(6, 64, 64), 16, 4, 2, torch.Generator().manual_seed(0))
    assert center.shape == (6, 3, 16, 16) and labels.dtype == torch.long
    assert model.training_loss(x, None, torch.Generator().manual_seed(0)).isfinite()


def test_pairs_refuse_images_too_small_for_the_grid():
    need = grid_side(16, 4, 2)
    assert need == 60
    sample_patch_pair(coded(1, need, need)[0], 16, 4, 2, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="needs 3\\*16"):
        sample_patch_pair(coded(1, need - 1, need + 3)[0], 16, 4, 2)
    with pytest.raises(ValueError):
        sample_patch_pairs(coded(2, need, need - 1), 16, 4, 2)


def test_projection_removes_green_magenta_only():
    a, grey, red_blue = torch.tensor([-1.0, 2, -1]), torch.ones(3), torch.tensor([1.0, 0, -1])
    x = torch.stack([a, grey, red_blue], dim=1)[:, :, None]  # (3, 3, 1): three pixels
    out = remove_green_magenta(x)
    assert torch.allclose(out[:, 0, 0], torch.zeros(3), atol=1e-6)
    assert torch.allclose(out[:, 1:], x[:, 1:], atol=1e-6)
    batch = torch.rand(4, 3, 5, 5)
    assert torch.allclose(remove_green_magenta(remove_green_magenta(batch)), remove_green_magenta(batch), atol=1e-6)
    assert torch.allclose(remove_green_magenta(batch)[2], remove_green_magenta(batch[2]))


def test_aberration_shrinks_green_toward_the_centre():
    x = torch.zeros(3, 64, 64)
    x[:, 30:34, 56:60] = 1.0  # a white square near the right edge
    assert torch.allclose(chromatic_aberration(x, 0.0), x, atol=1e-5)
    y = chromatic_aberration(x, 0.1)
    cols = torch.arange(64.0)
    centroid = lambda ch: (ch.sum(0) * cols).sum() / ch.sum()
    assert centroid(y[1]) < centroid(y[0]) - 2  # green moved toward the centre, red stayed
    assert torch.allclose(y[0], x[0], atol=1e-5) and torch.allclose(y[2], x[2], atol=1e-5)


def test_colour_drop_keeps_one_channel_and_fills_the_others_with_faint_noise():
    x = torch.rand(16, 3, 8, 8)
    y = colour_drop(x, torch.Generator().manual_seed(0))
    kept = (y == x).flatten(2).all(2)  # (16, 3)
    assert (kept.sum(1) == 1).all()
    assert y[~kept].std() < 0.05 * x.std()


def test_pair_network_trains_and_scores():
    torch.manual_seed(0)
    model = methods.build("context", width=0.125, hidden=32)
    x = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    loss = model.training_loss(x, None, torch.Generator().manual_seed(0))
    loss.backward()
    assert loss.isfinite() and model.backbone.net.stem[0].weight.grad is not None
    assert model(*model.pairs(x)[:2]).shape == (8, 8)
    assert 0 <= model.pretext_accuracy(x) <= 100
    assert model.backbone.forward_features(x.float() / 255).shape == (8, model.backbone.feature_dim)
    with pytest.raises(ValueError):
        ContextPrediction(PatchEncoder(build_model("resnet18", width=0.125)), patch=20)


def test_position_regressor_starts_at_the_centre_guess():
    model = PositionRegressor(build_model("resnet18", width=0.125), strength=0.05, colour="drop")
    images = torch.randint(0, 256, (20, 3, 32, 32), dtype=torch.uint8)
    scores = model.evaluate(images, repeats=2)
    assert scores["n_patches"] == 40
    assert scores["error"] == pytest.approx(scores["centre_error"], abs=1e-6)
    assert model.training_loss(images, None, torch.Generator().manual_seed(0)).isfinite()


def test_a_saved_context_model_loads_back(tmp_path):
    model = methods.build("context", width=0.125, colour="rgb")
    pretrained.save(model, tmp_path, {"method": "context", "method_kwargs": {"width": 0.125, "colour": "rgb"}})
    backbone = pretrained.load(tmp_path, device="cpu")
    x = torch.rand(2, 3, 32, 32)
    assert torch.allclose(backbone.forward_features(x), model.eval().backbone.forward_features(x), atol=0.05)


@pytest.mark.slow
def test_the_experiments_run_and_write_their_provenance(tmp_path, cifar):
    common = [
        "--device",
        "cpu",
        "--train-subset",
        "100",
        "--test-subset",
        "50",
        "--batch-size",
        "32",
        "--epochs",
        "0.5",
        "--width",
        "0.125",
        "--quiet",
    ]
    out = tmp_path / "gj.json"
    assert (
        experiments.main(
            ["gapjitter", "--out", str(out), "--run", str(tmp_path / "run"), "--probe-train", "100", *common]
        )
        == 0
    )
    record = json.loads(out.read_text())
    assert record["computed_on"] == "CPU" and record["command"].startswith("python -m sslcourse.experiments.context")
    assert set(record["results"]["variants"]) == {"random init", "cured", "no gap, no jitter"}
    assert pretrained.card(tmp_path / "run")["trained_on"] == "CPU"
    assert experiments.main(["gapjitter", "--out", str(out), *common]) == 2  # never overwritten without --force
    out = tmp_path / "ab.json"
    assert experiments.main(["aberration", "--out", str(out), *common]) == 0
    rows = json.loads(out.read_text())["results"]["conditions"]
    assert len(rows) == 4 and all(0 < r["error"] < 1.5 for r in rows.values())


def smooth_images(n, seed=0):
    """uint8 images that vary slowly (4x4 random colours, enlarged bilinearly to 32x32): borders continue."""
    coarse = torch.rand(n, 3, 4, 4, generator=torch.Generator().manual_seed(seed))
    x = torch.nn.functional.interpolate(coarse, size=(32, 32), mode="bilinear", align_corners=False)
    return (255 * x).round().to(torch.uint8)


def test_border_shortcut_solves_touching_pairs_and_fades_with_a_gap():
    images = smooth_images(400)
    touching = experiments.border_shortcut(images, gap=0, jitter=0, batch_size=150)
    apart = experiments.border_shortcut(images, gap=6, jitter=2, batch_size=150)
    assert touching.dtype == torch.bool and touching.shape == (400,)
    assert touching.float().mean() > 0.9  # smooth images continue across a shared border
    assert apart.float().mean() < touching.float().mean() - 0.2
    assert torch.equal(apart, experiments.border_shortcut(images, gap=6, jitter=2, batch_size=150))  # seeded
    assert not torch.equal(apart, experiments.border_shortcut(images, gap=6, jitter=2, batch_size=150, seed=1))
    with pytest.raises(ValueError, match="needs"):  # 3*16 + 2*8 + 2*2 = 68 > 64 px
        experiments.border_shortcut(images, gap=8, jitter=2)


def test_compare_border_shortcut_pairs_the_images():
    images = smooth_images(300, seed=1)
    out = experiments.compare_border_shortcut(images, gap=0, jitter=0)
    mine = experiments.border_shortcut(images, 0, 0).float()
    base = experiments.border_shortcut(images, 4, 2).float()
    assert out["n"] == 300 and out["chance"] == 12.5
    assert out["mine"].value == pytest.approx(100 * mine.mean().item())
    assert out["baseline"].value == pytest.approx(100 * base.mean().item())
    assert out["difference"].value == pytest.approx(out["mine"].value - out["baseline"].value)
    paired = 100 * (mine - base).std().item() / 300**0.5  # sd of the per-image differences / sqrt(n)
    assert out["difference"].se == pytest.approx(paired, rel=1e-5)
    assert out["mine"].se == pytest.approx(100 * (mine.mean() * (1 - mine.mean()) / 300).sqrt().item(), rel=1e-5)
    same = experiments.compare_border_shortcut(images, gap=4, jitter=2)  # the baseline against itself
    assert same["difference"].value == 0 and same["difference"].se == 0
