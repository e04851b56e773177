"""Checker for notebook 03's exercise: `nt_xent_loss(z1, z2, temperature)`, SimCLR's loss.

The answer is judged by its value: an analytic case (one-hot projections, where every term is known), and
agreement with the library's reference on random projections built to tell the typical mistakes apart:
vectors of very different lengths (no normalisation), several temperatures (temperature forgotten or
used the wrong way), batch sizes 1, 2 and 8 (a sum instead of a mean, self-similarity not masked), two
views that differ in spread (only one direction of anchors). The loss must also stay connected to its
inputs (a network is trained through it) and not change them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from sslcourse.checks import STRONG, Case, CheckResult, Mistake, agrees_with, expect_tensor, run_check, same_output
from sslcourse.methods.simclr import nt_xent_loss as reference


def _inputs(
    b: int, d: int, temperature: float, seed: int, spread=(1.0, 1.0), lengths: bool = False, grad: bool = False
) -> dict:
    """Random projections: z2 is z1 plus noise (positives agree more than negatives), each view with its own
    noise level `spread`; with `lengths`, every row gets its own length (0.1x to 10x)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(b, d, generator=g)
    z1 = base + spread[0] * torch.randn(b, d, generator=g)
    z2 = base + spread[1] * torch.randn(b, d, generator=g)
    if lengths:
        z1 = z1 * torch.exp(torch.empty(b, 1).uniform_(-2.3, 2.3, generator=g))
        z2 = z2 * torch.exp(torch.empty(b, 1).uniform_(-2.3, 2.3, generator=g))
    return {"z1": z1.requires_grad_(grad), "z2": z2.requires_grad_(grad), "temperature": temperature}


def _one_hot() -> dict:
    """B = 2, D = 2: z1 = z2 = the identity. Every anchor sees its positive at cosine 1 and two negatives at
    cosine 0, so at temperature 1 the loss is log(1 + 2/e) exactly (all four anchors alike)."""
    return {"z1": torch.eye(2), "z2": torch.eye(2), "temperature": 1.0}


def _judge_one_hot(inputs: dict, out) -> str | None:
    problem = _per_anchor_shape(inputs, out) or expect_tensor(out, ())
    if problem:
        return problem
    expected = math.log(1 + 2 / math.e)
    if abs(out.item() - expected) > 1e-4:
        return f"it returned {out.item():.4f}, expected {expected:.4f}"
    return None


_agrees = agrees_with(reference, rtol=1e-4, atol=1e-5)


def _per_anchor_shape(inputs: dict, out) -> str | None:
    if torch.is_tensor(out) and out.dim() == 1 and len(out) == 2 * len(inputs["z1"]):
        return (
            f"it returned shape {tuple(out.shape)}, one loss per anchor; the exercise asks for a single "
            "number, their mean, shape ()"
        )
    return None


def _judge(inputs: dict, out) -> str | None:
    return _per_anchor_shape(inputs, out) or _agrees(inputs, out)


def _judge_grad(inputs: dict, out) -> str | None:
    problem = _judge(inputs, out)
    if problem:
        return problem
    if not out.requires_grad or out.grad_fn is None:
        return (
            "its value is right, but no gradient flows back to z1 and z2 (look for `.item()`, `.detach()`, "
            "`.numpy()`, `torch.tensor(...)` or `torch.no_grad()`), so it cannot train a network"
        )
    return None


CASES = [
    Case(
        "one-hot projections at temperature 1 (B=2)",
        _one_hot,
        _judge_one_hot,
        "write out the four anchors by hand: each has one positive and two negatives",
    ),
    Case("random projections (B=8, D=16, temperature 0.5)", lambda: _inputs(8, 16, 0.5, seed=1), _judge),
    Case(
        "projections of very different lengths (temperature 0.2)",
        lambda: _inputs(8, 16, 0.2, seed=2, lengths=True),
        _judge,
        "only the directions of z1 and z2 should matter, not their lengths",
    ),
    Case(
        "views of different spread (temperature 0.1)",
        lambda: _inputs(6, 8, 0.1, seed=3, spread=(0.3, 2.0)),
        _judge,
        "every one of the 2B views is an anchor in turn",
    ),
    Case(
        "a single pair (B=1)",
        lambda: _inputs(1, 8, 0.5, seed=4),
        _judge,
        "with one image, each view has its positive and no negative at all",
        trivial=True,
    ),
    Case(
        "a larger batch (B=64, D=32, temperature 0.05)",
        lambda: _inputs(64, 32, 0.05, seed=5, spread=(0.5, 0.5)),
        _judge,
        "compare your loss with a loop over the 2B anchors",
    ),
    Case(
        "the loss trains a network (inputs that require grad)",
        lambda: _inputs(4, 8, 0.5, seed=6, grad=True),
        _judge_grad,
    ),
]


# --------------------------------------------------------------------------- typical mistakes
def _parts(z1, z2, temperature, normalise=True, mask=True, scale=None):
    """Similarity logits (2B, 2B) and the positives' indices, with the switches the mistakes flip."""
    z = torch.cat([z1, z2]).detach().double()
    z = F.normalize(z, dim=1) if normalise else z
    logits = z @ z.T / temperature if scale is None else z @ z.T * scale
    if mask:
        logits.fill_diagonal_(float("-inf"))
    b = len(z1)
    return logits, torch.cat([torch.arange(b, 2 * b), torch.arange(b)])


def _per_anchor(logits, positives):
    return F.cross_entropy(logits, positives, reduction="none")  # (2B,)


def no_normalise(z1, z2, t):
    return _per_anchor(*_parts(z1, z2, t, normalise=False)).mean()


def no_mask(z1, z2, t):
    return _per_anchor(*_parts(z1, z2, t, mask=False)).mean()


def one_direction(z1, z2, t):
    return _per_anchor(*_parts(z1, z2, t))[: len(z1)].mean()


def no_temperature(z1, z2, t):
    return _per_anchor(*_parts(z1, z2, t, scale=1.0)).mean()


def times_temperature(z1, z2, t):
    return _per_anchor(*_parts(z1, z2, t, scale=t)).mean()


def summed(z1, z2, t):
    return _per_anchor(*_parts(z1, z2, t)).sum()


def over_b(z1, z2, t):
    return _per_anchor(*_parts(z1, z2, t)).sum() / len(z1)


def cross_view_only(z1, z2, t):
    """Negatives only from the other view (z1 @ z2.T), both directions: B - 1 negatives instead of 2B - 2."""
    s = F.normalize(z1.detach().double(), dim=1) @ F.normalize(z2.detach().double(), dim=1).T / t
    target = torch.arange(len(z1))
    return (F.cross_entropy(s, target) + F.cross_entropy(s.T, target)) / 2


def _shifted_positive(shift):
    def wrong(z1, z2, t):
        logits, positives = _parts(z1, z2, t)
        n = len(positives)
        return _per_anchor(logits, (positives + shift) % n).mean()

    return wrong


def self_positive(z1, z2, t):
    """Each view's positive is itself (targets 0..2B-1 on an unmasked matrix)."""
    logits, _ = _parts(z1, z2, t, mask=False)
    return _per_anchor(logits, torch.arange(len(logits))).mean()


def _like(wrong, hint: str) -> Mistake:
    """A mistake recognised by the value `wrong` returns; None (cannot tell) where it fails to compute."""

    def matches(inputs, out):
        try:
            expected = wrong(*inputs.values())
        except Exception:
            return None
        if not torch.isfinite(expected).all() or same_output(expected, reference(*inputs.values())):
            return None  # this case cannot tell the mistake from the right answer
        return STRONG if same_output(out, expected) else False

    return Mistake(hint, matches)


MISTAKES = [
    _like(
        no_normalise,
        "its value changes when a projection is made longer: the similarity should depend on "
        "directions only (are z1 and z2 normalised before the dot products?)",
    ),
    _like(
        no_mask,
        "each view is compared with itself: its similarity with itself (always the largest) sits among its negatives",
    ),
    _like(self_positive, "each view is its own positive: the positive of a view is the other view of the same image"),
    _like(
        _shifted_positive(1),
        "the positive it picks for a view is not the other view of the same image (row i of z1 goes with row i of z2)",
    ),
    _like(
        one_direction,
        "only the views of z1 act as anchors: the views of z2 must be anchors too, the mean runs over all 2B of them",
    ),
    _like(
        cross_view_only,
        "the negatives come only from the other view: the other images' views in the same "
        "half are negatives too (2B - 2 of them per anchor)",
    ),
    _like(no_temperature, "the temperature has no effect on its value"),
    _like(times_temperature, "the temperature scales the similarities the wrong way round"),
    _like(summed, "its value grows with the batch size: it sums over the anchors where the exercise asks for the mean"),
    _like(over_b, "its value is twice the expected one: the mean runs over 2B anchors, not B"),
]


def check_nt_xent_loss(fn) -> CheckResult:
    """Check `fn(z1[B, D], z2[B, D], temperature) -> scalar`: NT-Xent, mean over all 2B anchors."""
    return run_check("nt_xent_loss", fn, CASES, MISTAKES)
