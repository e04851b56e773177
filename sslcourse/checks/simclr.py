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


# --------------------------------------------------------------------------- histogram_match (the shortcut)
# Views made of the eight corner colours (each channel 0.1 or 0.9), so that any binning with at least two bins a
# channel separates them; each image mixes them in its own proportions, and its partner is the same pixels in
# another order (the colours kept, the layout gone).
_CORNERS = torch.tensor([[r, g, b] for r in (0.1, 0.9) for g in (0.1, 0.9) for b in (0.1, 0.9)])  # (8, 3)


def _palette_images(n: int, side: int, seed: int, permute_channels: bool = False) -> torch.Tensor:
    """n images of side x side pixels, each a random mixture of the corner colours (clear majority colours, so
    proportions differ between images); with `permute_channels`, images come in threes whose colours are one
    palette with its channels rotated (the same grey levels, different colours). Shape: -> (n, 3, side, side)."""
    g = torch.Generator().manual_seed(seed)
    weights = torch.rand(n, 8, generator=g) ** 3  # (n, 8) a few dominant colours per image
    pixels = torch.multinomial(weights, side * side, replacement=True, generator=g)  # (n, side*side)
    if permute_channels:
        pixels = pixels[torch.arange(n) // 3 * 3]  # the very same pixels: identical grey levels in each three
    x = _CORNERS[pixels].permute(0, 2, 1).reshape(n, 3, side, side)
    if permute_channels:
        shifts = torch.arange(n) % 3
        x = torch.stack([xi.roll(int(s), dims=0) for xi, s in zip(x, shifts)])  # RGB -> GBR -> BRG
    return x


def _scrambled(x: torch.Tensor, seed: int, side: int | None = None) -> torch.Tensor:
    """The same pixels of every image in a random order (colours kept, layout gone), optionally enlarged to
    `side` by repeating each pixel (more pixels, the same colour distribution)."""
    g = torch.Generator().manual_seed(seed)
    n, c, h, w = x.shape
    order = torch.stack([torch.randperm(h * w, generator=g) for _ in range(n)])  # (n, h*w)
    out = x.flatten(2).gather(2, order[:, None].expand(n, c, h * w)).view_as(x)
    if side is not None:
        out = out.repeat_interleave(side // h, 2).repeat_interleave(side // w, 3)
    return out


def _match_inputs(n: int, side_a: int, side_b: int, seed: int, permute_channels: bool = False) -> dict:
    views_a = _palette_images(n, side_a, seed, permute_channels)
    return {"views_a": views_a, "views_b": _scrambled(views_a, seed + 1, side_b)}


def _judge_partners(inputs: dict, out) -> str | None:
    n = len(inputs["views_a"])
    if torch.is_tensor(out) and out.shape == (n,):
        return f"it returned {n} matches, one per view of views_a, where {2 * n} were expected"
    problem = expect_tensor(out, (2 * n,), "integer")
    if problem:
        return problem
    if out.min() < 0 or out.max() >= 2 * n:
        return f"its indices run from {out.min().item()} to {out.max().item()}, outside 0..{2 * n - 1}"
    from sslcourse.experiments.simclr_shortcut import partners

    right = (out.cpu() == partners(n)).sum().item()
    if right < 2 * n:
        return f"it found the partner of {right} of the {2 * n} views, where their colours alone identify all of them"
    return None


def _self_match(views_a, views_b):
    return torch.arange(2 * len(views_a))


def _other_half(views_a, views_b):
    return torch.cat([torch.arange(len(views_a)), torch.arange(len(views_a))])


MATCH_CASES = [
    Case(
        "8 images and their scrambled copies (16x16 both)",
        lambda: _match_inputs(8, 16, 16, seed=1),
        _judge_partners,
        "a scrambled copy has the same colours in other places: match on how much of each colour a view holds, "
        "not on where it sits",
    ),
    Case(
        "views of different sizes (8x8 against 32x32)",
        lambda: _match_inputs(8, 8, 32, seed=2),
        _judge_partners,
        "the two views of an image may have different numbers of pixels (a crop that is not resized): compare "
        "the share of pixels in each bin, not the counts",
    ),
    Case(
        "the same grey levels in different colours (9 images)",
        lambda: _match_inputs(9, 16, 16, seed=3, permute_channels=True),
        _judge_partners,
        "these images differ only in which channel holds which level: a grey-level histogram cannot tell them "
        "apart, a colour histogram can",
    ),
    Case(
        "a batch of 64 images",
        lambda: _match_inputs(64, 16, 16, seed=4),
        _judge_partners,
        "compare every view with all 2N - 1 others",
    ),
]

MATCH_MISTAKES = [
    Mistake(
        "every one of the 2N views is a query in turn (views_a's, then views_b's), as every view is an anchor "
        "in NT-Xent",
        lambda inputs, out: STRONG if torch.is_tensor(out) and out.shape == (len(inputs["views_a"]),) else False,
    ),
    Mistake(
        "each view is matched to itself: its similarity with itself is always the highest, so leave it out of "
        "the candidates",
        lambda inputs, out: STRONG if same_output(out, _self_match(**inputs)) else False,
    ),
    Mistake(
        "the indices it returns count within the other batch (0..N-1); the exercise numbers all 2N views: "
        "views_a are 0..N-1, views_b are N..2N-1",
        lambda inputs, out: STRONG if same_output(out, _other_half(**inputs)) else False,
    ),
]


def check_histogram_match(fn) -> CheckResult:
    """Check `fn(views_a[N, 3, Ha, Wa], views_b[N, 3, Hb, Wb]) -> (2N,)`: for every view (views_a's first,
    then views_b's), the index of the view with the most similar colour histogram among the 2N - 1 others."""
    return run_check("histogram_match", fn, MATCH_CASES, MATCH_MISTAKES)
