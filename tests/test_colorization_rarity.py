"""The rarity-weighted AuC's noise: its per-image parts add up to it, and its error bar is that of its few
effective images (1/p weights let a handful of rare-coloured images dominate)."""

import pytest
import torch

from sslcourse import stats
from sslcourse.experiments import colorization as exp
from sslcourse.verdicts import Value, extreme


def test_per_image_auc_adds_up_to_the_weighted_auc():
    g = torch.Generator().manual_seed(0)
    true_ab = 40 * torch.randn(12, 2, 8, 8, generator=g)
    pred_ab = true_ab + 30 * torch.randn(12, 2, 8, 8, generator=g)
    w = torch.rand(12, 8, 8, generator=g) ** 4 * 50  # a few heavy pixels, as 1/p weights give
    a, total = exp.per_image_auc(pred_ab, true_ab, w)
    assert (total * a).sum() / total.sum() == pytest.approx(exp.auc(pred_ab, true_ab, w), abs=1e-3)
    noise = exp.rarity_noise(pred_ab, true_ab, w)
    assert noise["effective_images"] == pytest.approx(stats.effective_n(total.numpy()), abs=0.1)
    assert noise["effective_images"] < 12 and noise["auc_rebalanced_se"] > 0
    exact = exp.per_image_auc(true_ab, true_ab, w)[0]
    assert torch.allclose(exact, torch.full_like(exact, 100.0))  # a perfect guess: 100% in every image


def test_extreme_says_yes_no_or_cannot_tell():
    v = lambda x: Value(x, 1.0)
    assert extreme({"a": v(10), "b": v(5), "c": v(4)}, "a").startswith("yes")
    assert extreme({"a": v(10), "b": v(9), "c": v(4)}, "a") == "cannot tell: within two standard errors of b"
    assert extreme({"a": v(3), "b": v(9)}, "a") == "no: b is above it beyond two standard errors"
    assert extreme({"a": v(3), "b": v(9)}, "a", most=False).startswith("yes")
