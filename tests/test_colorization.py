"""Colorization: the Lab conversion against scikit-image, the bins, the exercises' references, the model, the metrics."""

import numpy as np
import pytest
import torch
from skimage.color import lab2rgb, rgb2lab
from torch.utils._python_dispatch import TorchDispatchMode

from sslcourse import methods
from sslcourse.experiments import colorization as exp
from sslcourse.methods import colorization as col
from sslcourse.methods.colorization_bins import in_gamut_bins, lab_to_rgb, rgb_to_lab, smooth_prior
from sslcourse.train import TrainConfig, train


@pytest.mark.filterwarnings("ignore:Conversion from CIE-LAB")
def test_lab_matches_scikit_image():
    rgb = torch.rand(2, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    ours = rgb_to_lab(rgb).permute(0, 2, 3, 1).numpy()
    assert np.abs(ours - rgb2lab(rgb.permute(0, 2, 3, 1).numpy())).max() < 1e-8
    lab = torch.from_numpy(ours).permute(0, 3, 1, 2)
    assert torch.allclose(lab_to_rgb(lab), rgb, atol=1e-8)  # a round trip
    wild = torch.stack([torch.rand(4, 4) * 100, torch.randn(4, 4) * 80, torch.randn(4, 4) * 80]).double()
    expected = lab2rgb(wild.permute(1, 2, 0).numpy())  # out of gamut: both clip
    assert np.abs(lab_to_rgb(wild).permute(1, 2, 0).numpy() - expected).max() < 1e-6


def test_lab_float32_and_bad_input():
    rgb = torch.rand(1, 3, 4, 4)
    assert rgb_to_lab(rgb).dtype == torch.float32
    assert torch.allclose(rgb_to_lab(rgb).double(), rgb_to_lab(rgb.double()), atol=1e-3)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the conversion stays in full precision under autocast
        assert torch.equal(rgb_to_lab(rgb), rgb_to_lab(rgb.clone()).float())
        assert rgb_to_lab(rgb).dtype == torch.float32
    with pytest.raises(TypeError, match="float"):
        rgb_to_lab(torch.zeros(1, 3, 2, 2, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3, H, W\)"):
        rgb_to_lab(torch.zeros(1, 4, 2, 2))


def test_in_gamut_bins():
    centers = in_gamut_bins()
    assert centers.shape == (261, 2)
    assert (centers % 10 == 0).all()
    assert [0.0, 0.0] in centers.tolist()
    # every colour of a random sample of sRGB falls within half a cell of some centre
    ab = rgb_to_lab(torch.rand(3, 2000, 1, generator=torch.Generator().manual_seed(1)).double())[1:, :, 0].T.float()
    assert (torch.cdist(ab, centers, p=float("inf")).min(dim=1).values <= 5.0 + 1e-4).all()
    with pytest.raises(ValueError, match="grid"):
        in_gamut_bins(grid=0)


def test_smooth_prior_keeps_mass_and_spreads_it():
    centers = in_gamut_bins()
    counts = torch.zeros(len(centers))
    counts[0] = 10
    p = smooth_prior(counts, centers, sigma=5.0)
    assert abs(p.sum().item() - 1) < 1e-5 and p[0] < 1 and (p > 0).sum() > 1


def test_references_on_hand_made_values():
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    w = col.soft_encode(torch.tensor([[0.0, 0.0]]), centers, k=2)
    e = float(np.exp(-100 / 50))
    assert torch.allclose(w, torch.tensor([[1 / (1 + e), e / (1 + e), 0.0]]))
    prior = torch.tensor([0.5, 0.25, 0.25])
    rw = col.rebalance_weights(prior, 0.5)
    assert abs((prior * rw).sum().item() - 1) < 1e-6 and rw[1] > rw[0]
    assert torch.allclose(col.rebalance_weights(prior, 1.0), torch.ones(3))
    probs = torch.tensor([[0.5, 0.3, 0.2]])
    assert torch.allclose(col.annealed_mean(probs, centers, 1.0), torch.tensor([[3.0, 2.0]]))
    assert torch.allclose(col.annealed_mean(probs, centers, 1e-3), torch.tensor([[0.0, 0.0]]), atol=1e-4)  # the mode
    logits = torch.zeros(2, 3)
    target = torch.tensor([[1.0, 0, 0], [0, 0, 1.0]])
    loss = col.rebalanced_cross_entropy(logits, target, torch.tensor([1.0, 1.0, 3.0]))
    assert torch.isclose(loss, torch.tensor((1 + 3) / 2 * np.log(3), dtype=torch.float32))


@pytest.mark.parametrize("loss", col.LOSSES)
def test_colorizer_shapes_and_features(loss):
    torch.manual_seed(0)
    model = methods.build("colorization", loss=loss, width=0.125).eval()
    L = torch.rand(2, 1, 32, 32) * 100
    assert model(L).shape == (2, 2 if loss == "l2" else 261, 16, 16)
    assert model.predict_ab(L).shape == (2, 2, 32, 32)
    rgb = model.colorize(torch.rand(1, 1, 40, 24) * 100)  # any size, fully convolutional
    assert rgb.shape == (1, 3, 40, 24) and 0 <= rgb.min() and rgb.max() <= 1
    x = torch.rand(3, 3, 32, 32)
    h = model.backbone.forward_features(x)
    assert h.shape == (3, model.backbone.feature_dim)
    with pytest.raises(ValueError, match="lightness"):
        model(torch.rand(2, 3, 32, 32))


def test_features_ignore_colour():
    torch.manual_seed(0)
    model = methods.build("colorization", width=0.125).eval()
    x = torch.rand(2, 3, 32, 32)
    swapped = x[:, [2, 0, 1]]  # another colour, but not the same L: features should differ
    L = rgb_to_lab(x)[:, :1]
    assert torch.allclose(
        model.backbone.forward_stages_from_lightness(L)[-1].mean(dim=(2, 3)),
        model.backbone.forward_features(x),
        atol=1e-5,
    )
    assert not torch.allclose(model.backbone.forward_features(swapped), model.backbone.forward_features(x))


def test_trains_through_the_engine_with_a_plugged_loss():
    calls = []

    def my_loss(logits, target, weights):
        calls.append(tuple(logits.shape))
        return col.rebalanced_cross_entropy(logits, target, weights)

    torch.manual_seed(0)
    model = methods.build("colorization", width=0.125)
    model.loss_fn = my_loss
    x = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    result = train(
        model,
        x,
        torch.zeros(64, dtype=torch.long),
        TrainConfig(epochs=2, batch_size=32, optimizer="adamw", lr=1e-3, nan_check_every=1),
        device="cpu",
        progress=False,
    )
    assert result.steps == 4 and calls[0] == (32 * 16 * 16, 261)
    assert all(np.isfinite(h["loss"]) for h in result.history)


def test_metrics():
    ab = torch.randn(2, 2, 8, 8) * 30
    assert exp.auc(ab, ab) == pytest.approx(100.0)
    far = ab + 200
    assert exp.auc(far, ab) == pytest.approx(0.0)
    assert 0 < exp.auc(torch.zeros_like(ab), ab) < 100
    assert exp.chroma(torch.zeros_like(ab)) == 0
    centers, prior = exp.shipped_prior()
    w = exp.rarity_weights(ab, centers, prior)
    assert w.shape == (2, 8, 8) and abs(w.mean().item() - 1) < 1e-5


def test_shipped_prior():
    r = exp.load("prior")
    centers, prior = exp.shipped_prior()
    assert torch.equal(centers, in_gamut_bins())
    assert abs(prior.sum().item() - 1) < 1e-4 and r["results"]["n_pixels"] == 50000 * 32 * 32
    assert centers[prior.argmax()].tolist() == [0.0, 0.0]  # grey is the commonest colour
    assert r["computed_on"] in ("CPU", "GPU") and r["command"].startswith("python -m sslcourse.experiments")


class _Float64Watch(TorchDispatchMode):
    """Records every op that makes a float64 tensor: Apple's MPS has none, so on a Mac any such op fails."""

    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if any(torch.is_tensor(t) and t.dtype == torch.float64 for t in torch.utils._pytree.tree_leaves(out)):
            self.ops.append(str(func))
        return out


@pytest.mark.parametrize("loss", col.LOSSES)
def test_nothing_runs_in_float64_on_the_device(loss):
    """Training and colorizing (what notebook 02 does on a Mac's MPS) never make a float64 tensor."""
    model = methods.build("colorization", loss=loss, width=0.125)
    x = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    with _Float64Watch() as watch:
        model.training_loss(x, torch.zeros(2, dtype=torch.long), torch.Generator().manual_seed(0)).backward()
        model.eval().colorize(rgb_to_lab(x.float() / 255)[:, :1])
        col.soft_encode(torch.randn(50, 2) * 200, in_gamut_bins())  # far outside the gamut, too
    assert watch.ops == []


def test_chroma_value_has_its_spread_over_images():
    ab = torch.zeros(4, 2, 8, 8)
    ab[:, 0], ab[:, 1] = 3.0, 4.0  # chroma 5 everywhere
    flat = exp.chroma_value(ab)
    assert flat.value == pytest.approx(5.0) and flat.se == pytest.approx(0.0)
    ab[2:] *= 2  # two images at chroma 5, two at 10
    v = exp.chroma_value(ab)
    assert v.value == pytest.approx(7.5)
    assert v.se == pytest.approx(np.std([5, 5, 10, 10], ddof=1) / 2)
    with pytest.raises(ValueError, match="at least 2"):
        exp.chroma_value(ab[:1])


@pytest.mark.parametrize("loss", ["l2", "rebalanced"])
def test_short_run_trains_and_measures(loss):
    g = torch.Generator().manual_seed(0)
    train_images = torch.randint(0, 256, (32, 3, 32, 32), dtype=torch.uint8, generator=g)
    test_images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8, generator=g)
    out = exp.short_run(loss, train_images, test_images, seconds=None, device="cpu", epochs=1, batch_size=16)
    assert out["run"].steps == 2 and out["model"].loss == loss
    assert out["n_test"] == 6 and 0 <= out["auc"] <= 100 and out["auc_rebalanced_se"] >= 0
    L, _ = exp.ab_of(test_images)
    pred = exp.predict(out["model"], L)
    assert out["chroma"].value == pytest.approx(exp.chroma(pred), rel=1e-5)
    grey = exp.auc(torch.zeros_like(pred), exp.ab_of(test_images)[1])
    assert out["auc_over_grey"].value == pytest.approx(out["auc"] - grey, abs=0.02)  # auc is rounded to 0.01
    assert out["auc_over_grey"].se > 0
    with pytest.raises(ValueError, match="loss must be one of"):
        exp.short_run("L1", train_images, test_images, seconds=None, device="cpu")
    with pytest.raises(ValueError, match="seconds must be positive"):
        exp.short_run(loss, train_images, test_images, seconds=0, device="cpu")
