"""MAE: the reference functions, the model's stages, its experiments and their shipped results."""

import json

import pytest
import torch

from sslcourse import methods, pretrained
from sslcourse.experiments import mae as experiments
from sslcourse.methods.mae import MAE, masked_mse_loss, patchify, random_masking, unpatchify
from sslcourse.models import vit_tiny
from sslcourse.train import TrainConfig, train

SMALL = {"dim": 32, "depth": 1, "heads": 2}
SMALL_DECODER = {"decoder_dim": 16, "decoder_depth": 1, "decoder_heads": 2}


def small_mae(**kw):
    torch.manual_seed(0)
    return MAE(vit_tiny(**SMALL), **SMALL_DECODER, **kw)


# --------------------------------------------------------------------------- the functions
def test_patchify_matches_the_vit_token_order():
    """A linear map of patchify's patches equals the ViT's patch-embedding convolution, token by token."""
    vit = vit_tiny(**SMALL)
    x = torch.rand(2, 3, 32, 32)
    w = vit.patch_embed.weight  # (D, C, p, p)
    as_linear = patchify(x, 4) @ w.permute(0, 2, 3, 1).reshape(w.shape[0], -1).T + vit.patch_embed.bias
    assert torch.allclose(as_linear, vit.patch_embed(x).flatten(2).transpose(1, 2), atol=1e-5)
    assert torch.equal(unpatchify(patchify(x, 4), 4), x)


def test_random_masking_restores_the_order_and_follows_the_generator():
    tokens = torch.randn(5, 64, 8)
    visible, mask, ids = random_masking(tokens, 0.75, torch.Generator().manual_seed(0))
    assert visible.shape == (5, 16, 8) and mask.sum(1).eq(48).all()
    holes = torch.zeros(5, 48, 8)
    back = torch.cat([visible, holes], 1).gather(1, ids[..., None].expand(-1, -1, 8))
    assert torch.equal(back, tokens * (1 - mask[..., None]))
    again = random_masking(tokens, 0.75, torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip((visible, mask, ids), again))


def test_masked_mse_loss_counts_hidden_patches_only():
    target = torch.rand(2, 4, 12)
    pred = target.clone()
    mask = torch.tensor([[1.0, 0, 0, 0], [0, 0, 1, 0]])
    pred[0, 1] += 5  # a visible patch: must not count
    assert masked_mse_loss(pred, target, mask, norm_pix=False) == 0
    pred[1, 2] += 2  # a hidden patch: (2^2) / 2 hidden patches
    assert torch.isclose(masked_mse_loss(pred, target, mask, norm_pix=False), torch.tensor(2.0))
    flat = torch.full((1, 1, 12), 0.3)
    assert masked_mse_loss(torch.zeros(1, 1, 12), flat, torch.ones(1, 1)) < 1e-6  # eps: no NaN


# --------------------------------------------------------------------------- the model
def test_the_encoder_sees_only_the_visible_tokens():
    mae = small_mae()
    seen = []
    mae.backbone.blocks[0].register_forward_hook(lambda m, i, o: seen.append(o.shape[1]))
    loss, pred, mask = mae(torch.rand(3, 3, 32, 32), 0.75, torch.Generator().manual_seed(0))
    assert seen == [1 + 16]  # cls + 25% of 64 patches
    assert pred.shape == (3, 64, 48) and mask.shape == (3, 64) and loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert mae.mask_token.grad is not None and mae.backbone.patch_embed.weight.grad is not None


def test_reconstruct_pastes_the_visible_patches_back():
    mae = small_mae(norm_pix=True).eval()
    x = (torch.rand(2, 3, 32, 32) * 255).to(torch.uint8)
    out = mae.reconstruct(x, 0.5, torch.Generator().manual_seed(1))
    visible = (1 - out["mask"]).bool()[..., None]  # (B, L, 1)
    truth = patchify(x.float() / 255, 4)
    assert torch.allclose(patchify(out["pasted"], 4)[visible.expand_as(truth)], truth[visible.expand_as(truth)])
    assert all(out[k].shape == (2, 3, 32, 32) for k in ("masked", "reconstruction", "pasted"))


def test_a_student_function_plugs_in():
    calls = []

    def my_loss(pred, target, mask, norm_pix=True):
        calls.append(pred.shape)
        return masked_mse_loss(pred, target, mask, norm_pix)

    mae = MAE(vit_tiny(**SMALL), **SMALL_DECODER, loss_fn=my_loss)
    mae.training_loss((torch.rand(4, 3, 32, 32) * 255).to(torch.uint8), None, torch.Generator().manual_seed(0))
    assert calls == [(4, 64, 48)]


def test_training_lowers_the_loss_and_weights_round_trip(tmp_path):
    mae = small_mae()
    x = (torch.rand(64, 3, 32, 32) * 255).to(torch.uint8)
    r = train(
        mae,
        x,
        torch.zeros(64, dtype=torch.long),
        TrainConfig(epochs=6, batch_size=16, optimizer="adamw", lr=2e-3, nan_check_every=4),
        "cpu",
        progress=False,
    )
    assert r.history[-1]["loss"] < r.history[0]["loss"]
    card = {"method": "mae", "method_kwargs": {"arch": "vit_tiny", **SMALL, **SMALL_DECODER}}
    pretrained.save(mae, tmp_path, card)
    encoder = pretrained.load(tmp_path, device="cpu")
    assert torch.allclose(
        encoder.forward_features(x[:2].float() / 255), mae.backbone.forward_features(x[:2].float() / 255), atol=2e-2
    )


def test_the_registry_knows_mae_and_the_vit_baseline():
    assert isinstance(methods.build("mae"), MAE)
    sup = methods.build("vit_supervised")
    assert sup.backbone.num_classes == 10 and methods.get("vit_supervised").recipe.optimizer == "adamw"
    with pytest.raises(ValueError, match="vit_tiny"):
        methods.build("mae", arch="resnet18")


# --------------------------------------------------------------------------- experiments
def test_encoder_cost_measures_both_encoders():
    # Whether visible-only is faster is a speed claim, measured by the experiment itself (`mae cost`) on a quiet
    # machine; a test on a shared CPU only checks what is measured and that the ratio is the two rates' ratio.
    r = experiments.encoder_cost(torch.device("cpu"), batch_size=32, steps=2, arch_kw=SMALL)
    assert r["tokens_visible"] == 16 and r["tokens_all"] == 64
    assert r["images_per_s_visible_only"] > 0 and r["images_per_s_all_tokens"] > 0
    assert r["speedup"] == pytest.approx(r["images_per_s_visible_only"] / r["images_per_s_all_tokens"], rel=0.05)
    assert r["timed_steps"] == 2 and r["speedup_se"] >= 0  # the steps' spread gives the speed-up its error bar
    one = experiments.encoder_cost(torch.device("cpu"), batch_size=8, steps=1, arch_kw=SMALL)
    assert one["speedup_se"] is None  # one step: no spread, and no NaN in the JSON


def test_the_experiments_run_end_to_end_and_record_provenance(tmp_path, monkeypatch):
    g = torch.Generator().manual_seed(0)
    x, y = (torch.rand(40, 3, 32, 32, generator=g) * 255).to(torch.uint8), torch.arange(40) % 10
    monkeypatch.setattr(experiments, "load_data", lambda *a: ((x, y), (x[:20], y[:20])))
    out = tmp_path / "sweep.json"
    args = [
        "sweep",
        "--device",
        "cpu",
        "--out",
        str(out),
        "--ratios",
        "0.5,0.75",
        "--pretrain-epochs",
        "1",
        "--finetune-epochs",
        "1",
        "--batch-size",
        "20",
        "--dim",
        "32",
        "--depth",
        "1",
        "--heads",
        "2",
        "--decoder-dim",
        "16",
        "--decoder-depth",
        "1",
        "--decoder-heads",
        "2",
        "--quiet",
    ]
    assert experiments.main(args) == 0
    record = json.loads(out.read_text())
    assert record["computed_on"] == "CPU" and record["command"].endswith("--quiet")
    assert set(record["results"]["ratios"]) == {"0.5", "0.75"}
    assert {"linear_top1", "knn_top1", "finetune_top1"} <= set(record["results"]["ratios"]["0.75"])
    assert experiments.main(args) == 2  # never overwrites without --force
    ft = experiments.finetune_vs_scratch(
        (x, y),
        (x[:20], y[:20]),
        TrainConfig(epochs=1, batch_size=20),
        TrainConfig(epochs=1, batch_size=20),
        "cpu",
        SMALL,
        SMALL_DECODER,
    )
    assert {"mae", "scratch"} <= set(ft) and "test_top1" in ft["scratch"]


def test_lp_ft_starts_fine_tuning_from_the_linear_probe(monkeypatch):
    """With head_from_probe, the classifier starts as the linear probe on the encoder's frozen features: with a
    learning rate of zero the fine-tuned network scores what the probe scored (a fresh head scores chance)."""
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(60, 3, 32, 32, generator=g) * 255).to(torch.uint8)
    y = torch.arange(60) % 3
    x[y == 1, 0] = 255  # a class the features can see: a red image
    x[y == 2, 2] = 255
    encoder = vit_tiny(**SMALL)
    frozen = TrainConfig(epochs=1, batch_size=20, lr=0.0, warmup=0.0)
    probe = experiments.probe(encoder, (x, y), (x, y), "cpu")
    lpft = experiments.finetune(encoder, (x, y), (x, y), frozen, "cpu", SMALL, head_from_probe=True)
    assert probe["linear_top1"] > 60  # the colours are linearly readable
    assert lpft["test_top1"] == pytest.approx(probe["linear_top1"], abs=2)
    fresh = experiments.finetune(encoder, (x, y), (x, y), frozen, "cpu", SMALL)
    assert fresh["test_top1"] < lpft["test_top1"]


@pytest.mark.parametrize("name", ["sweep", "finetune", "cost"])
def test_shipped_results_carry_their_provenance(name):
    r = experiments.load(name)
    assert r["computed_on"] in ("CPU", "GPU") and r["command"].startswith("python -m sslcourse.experiments.mae")
    assert r["code_version"] and r["wall_time_s"] > 0 and r["settings"]


def test_the_shipped_checkpoint_says_where_it_was_trained():
    card = pretrained.card("mae_vit")
    assert card["method"] == "mae" and card["trained_on"] in ("CPU", "GPU")
    mae = pretrained.load("mae_vit", device="cpu", full=True)
    assert isinstance(mae, MAE) and mae.backbone.feature_dim == card["method_kwargs"].get("dim", 192)
