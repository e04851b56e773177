"""Checkers for notebook 04's exercises: `patchify`, `unpatchify`, `random_masking`, `masked_mse_loss`.

patchify and unpatchify are pure rearrangements, so they are compared exactly with the reference on
images whose every value says where it came from, on random batches, non-square images, one channel,
one-pixel patches and a single patch. random_masking is random: its output is judged by the contract
(K kept tokens, a 0/1 mask in the original order, an inverse permutation that restores the order, a
different subset per sample, the same answer for the same seed and a different one for another seed).
masked_mse_loss is compared with the reference (sample or population variance both count as right) on
cases built to separate the typical mistakes: errors only on the visible patches, a flat target patch,
norm_pix on and off.
"""

from __future__ import annotations

import torch

from sslcourse.checks import (
    STRONG,
    Case,
    CheckResult,
    Mistake,
    agrees_with,
    call_with_time_limit,
    clone,
    expect_tensor,
    run_check,
    same_output,
)
from sslcourse.methods import mae as ref


# --------------------------------------------------------------------------- patchify / unpatchify
def _coded(B: int, C: int, H: int, W: int) -> torch.Tensor:
    """Images whose every value says where it sits (sample, channel, row, column); distinct for W <= 32."""
    b, c, r, w = torch.meshgrid(*(torch.arange(n, dtype=torch.float32) for n in (B, C, H, W)), indexing="ij")
    return 10000 * b + 1000 * c + 32 * r + w


def _random(B, C, H, W, seed):
    return torch.rand(B, C, H, W, generator=torch.Generator().manual_seed(seed))


def _patchify_as(order: tuple, reshape_only: bool = False):
    """A patchify that orders the axes (B, h, w, p_row, p_col, C) = (0, 2, 4, 3, 5, 1) differently."""

    def fn(images, patch):
        B, C, H, W = images.shape
        if reshape_only:
            return images.reshape(B, (H // patch) * (W // patch), -1)
        x = images.reshape(B, C, H // patch, patch, W // patch, patch).permute(*order)
        return x.reshape(B, (H // patch) * (W // patch), -1)

    return fn


_CHANNELS_FIRST = "inside each patch its values come channel by channel (a whole colour plane, then the next)"
_PATCHIFY_MISTAKES = [
    Mistake.like(
        _patchify_as((0, 2, 4, 1, 3, 5)),
        _CHANNELS_FIRST + "; the exercise keeps the C values of one pixel together: rows, then columns, then channels",
    ),
    Mistake.like(
        _patchify_as((0, 4, 2, 3, 5, 1)),
        "the patches come out column by column (down the first "
        "column first); the exercise wants row-major order, along the top row first",
    ),
    Mistake.like(
        _patchify_as((0, 2, 4, 5, 3, 1)),
        "inside each patch the pixels come out column by column; the exercise wants rows, then columns, then channels",
    ),
    Mistake.like(
        _patchify_as((0, 4, 2, 5, 3, 1)), "rows and columns are swapped everywhere, as if the image were transposed"
    ),
    Mistake.like(
        _patchify_as((0, 2, 4, 3, 5, 1), reshape_only=True),
        "each 'patch' is a strip of consecutive "
        "values, not a square of the image: a reshape alone cannot cut squares, the axes need reordering",
    ),
    Mistake.like(
        lambda images, patch: _patchify_as(None, True)(images.permute(0, 2, 3, 1).reshape(images.shape), patch),
        "each 'patch' is a strip of pixels, not a square of the image: the axes need reordering",
    ),
]

PATCHIFY_CASES = [
    Case(
        "a 3x4x4 image of coded values, patch 2",
        lambda: {"images": _coded(1, 3, 4, 4), "patch": 2},
        agrees_with(ref.patchify),
        "print patch 0 and patch 1 and compare them with the image",
    ),
    Case(
        "a random batch (4, 3, 32, 32), patch 4",
        lambda: {"images": _random(4, 3, 32, 32, 0), "patch": 4},
        agrees_with(ref.patchify),
    ),
    Case(
        "a non-square batch (2, 3, 8, 12), patch 4",
        lambda: {"images": _coded(2, 3, 8, 12), "patch": 4},
        agrees_with(ref.patchify),
        "the image may be wider than tall: H / patch rows of W / patch patches",
    ),
    Case(
        "one channel (2, 1, 8, 8), patch 4",
        lambda: {"images": _random(2, 1, 8, 8, 1), "patch": 4},
        agrees_with(ref.patchify),
        "C may be 1",
    ),
    Case(
        "one-pixel patches (1, 3, 4, 6), patch 1",
        lambda: {"images": _coded(1, 3, 4, 6), "patch": 1},
        agrees_with(ref.patchify),
    ),
    Case(
        "a single patch (2, 3, 4, 4), patch 4",
        lambda: {"images": _coded(2, 3, 4, 4), "patch": 4},
        agrees_with(ref.patchify),
    ),
]


def check_patchify(fn) -> CheckResult:
    """Check `fn(images[B, C, H, W], patch) -> patches[B, L, patch * patch * C]`: patches in row-major order;
    inside a patch, rows, then columns, then channels."""
    return run_check("patchify", fn, PATCHIFY_CASES, _PATCHIFY_MISTAKES)


def _unpatchify_as(order: tuple):
    """The inverse of `_patchify_as(order)`."""

    def fn(patches, patch, channels=3):
        B, L, _ = patches.shape
        h = int(round(L**0.5))
        sizes = {0: B, 1: channels, 2: h, 3: patch, 4: h, 5: patch}
        x = patches.reshape(B, *(sizes[a] for a in order[1:]))
        return x.permute(*[order.index(a) for a in range(6)]).reshape(B, channels, h * patch, h * patch)

    return fn


def _unpatchify_inputs(B, C, size, patch, seed=None):
    images = _coded(B, C, size, size) if seed is None else _random(B, C, size, size, seed)
    return lambda: {"patches": ref.patchify(images, patch), "patch": patch, "channels": C}


_UNPATCHIFY_MISTAKES = [
    Mistake.like(
        _unpatchify_as((0, 2, 4, 1, 3, 5)),
        "it reads each patch's values channel by channel; patchify wrote them rows, then columns, then channels",
    ),
    Mistake.like(
        _unpatchify_as((0, 4, 2, 3, 5, 1)), "it lays the patches out column by column; they are in row-major order"
    ),
    Mistake.like(_unpatchify_as((0, 2, 4, 5, 3, 1)), "it reads the pixels inside each patch column by column"),
    Mistake.like(_unpatchify_as((0, 4, 2, 5, 3, 1)), "its images come out transposed: rows and columns swapped"),
    Mistake.like(
        lambda patches, patch, channels=3: patches.reshape(len(patches), channels, -1).reshape(
            len(patches), channels, int(round((patches.numel() / len(patches) / channels) ** 0.5)), -1
        ),
        "it only reshapes: the patches' values land in strips, not back in their squares; the axes need reordering",
    ),
]

UNPATCHIFY_CASES = [
    Case(
        "undoing patchify on a 3x4x4 image of coded values, patch 2",
        _unpatchify_inputs(1, 3, 4, 2),
        agrees_with(ref.unpatchify),
        "patchify then unpatchify must give back the very same image",
    ),
    Case(
        "undoing patchify on a random batch (4, 3, 32, 32), patch 4",
        _unpatchify_inputs(4, 3, 32, 4, seed=0),
        agrees_with(ref.unpatchify),
    ),
    Case(
        "random patches (3, 16, 48), patch 4",
        lambda: {
            "patches": torch.randn(3, 16, 48, generator=torch.Generator().manual_seed(2)),
            "patch": 4,
            "channels": 3,
        },
        agrees_with(ref.unpatchify),
    ),
    Case(
        "one channel (2, 16, 4), patch 2",
        _unpatchify_inputs(2, 1, 8, 2, seed=3),
        agrees_with(ref.unpatchify),
        "use the `channels` argument",
    ),
    Case("one-pixel patches, patch 1", _unpatchify_inputs(1, 3, 4, 1), agrees_with(ref.unpatchify)),
    Case("a single patch (2, 1, 48), patch 4", _unpatchify_inputs(2, 3, 4, 4), agrees_with(ref.unpatchify)),
]


def check_unpatchify(fn) -> CheckResult:
    """Check `fn(patches[B, L, patch * patch * C], patch, channels=3) -> images[B, C, H, W]`, patchify's inverse."""
    return run_check("unpatchify", fn, UNPATCHIFY_CASES, _UNPATCHIFY_MISTAKES)


# --------------------------------------------------------------------------- random_masking
def _tokens(B, L, D, ratio, seed):
    """Distinct tokens, and a generator seeded `seed` (a fresh copy for every call)."""

    def make():
        return {
            "tokens": torch.randn(B, L, D, generator=torch.Generator().manual_seed(100 + seed)),
            "mask_ratio": ratio,
            "generator": torch.Generator().manual_seed(seed),
        }

    return make


def _kept(inputs) -> int:
    L = inputs["tokens"].shape[1]
    return int(L * (1 - inputs["mask_ratio"]))


def _parts(inputs, out):
    """(visible, mask as float, ids_restore) when the output is well formed, else None."""
    if not isinstance(out, (tuple, list)) or len(out) != 3 or not all(torch.is_tensor(t) for t in out):
        return None
    visible, mask, ids = out
    B, L, D = inputs["tokens"].shape
    if (
        visible.dim() != 3
        or visible.shape[0] != B
        or visible.shape[2] != D
        or tuple(mask.shape) != (B, L)
        or tuple(ids.shape) != (B, L)
        or ids.is_floating_point()
    ):
        return None
    return visible.double(), mask.double(), ids.long()


def _restores(inputs, visible, ids, mask) -> bool:
    """Does cat(visible, holes).gather(1, ids) give the tokens where mask is 0 and holes where it is 1?"""
    tokens = inputs["tokens"].double()
    B, L, D = tokens.shape
    if visible.shape[1] > L or not all(torch.equal(row.sort().values, torch.arange(L)) for row in ids):
        return False
    hole = torch.full((B, L - visible.shape[1], D), 1e6, dtype=torch.float64)
    back = torch.cat([visible, hole], 1).gather(1, ids[..., None].expand(B, L, D))
    expected = torch.where(mask[..., None] > 0.5, torch.full_like(tokens, 1e6), tokens)
    return torch.allclose(back, expected)


def _judge_masking(inputs, out) -> str | None:
    B, L, D = inputs["tokens"].shape
    K = _kept(inputs)
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        return f"it returned {type(out).__name__}; expected three tensors: (visible, mask, ids_restore)"
    visible, mask, ids = out
    for name, t, shape, kind in (("visible", visible, (B, K, D), "float"), ("ids_restore", ids, (B, L), "integer")):
        problem = expect_tensor(t, shape, kind)
        if problem:
            return f"{name}: {problem}"
    if not torch.is_tensor(mask) or tuple(mask.shape) != (B, L):
        return f"mask: expected a tensor of shape ({B}, {L}), got {getattr(mask, 'shape', type(mask).__name__)}"
    m = mask.double()
    if not ((m == 0) | (m == 1)).all():
        return "mask: its values should be 0 (kept) and 1 (removed) only"
    if not all(torch.equal(row.sort().values, torch.arange(L)) for row in ids.long()):
        return "ids_restore: each row should hold every position 0..L-1 exactly once (a permutation)"
    if not (m.sum(1) == L - K).all():
        return f"mask: each row should have {L - K} ones (the removed tokens) and {K} zeros"
    if not _restores(inputs, visible.double(), ids.long(), m):
        return (
            "cat(visible, mask_tokens) gathered with ids_restore does not put the kept tokens back where the "
            "mask says 0"
        )
    if B > 1 and 0 < K < L and (m == m[0]).all():
        return "every sample of the batch has the same hidden positions; each sample needs its own random subset"
    return None


def _reproducible(fn):
    """A judge that also calls `fn` again: same seed -> same output, another seed -> another mask."""

    def judge(inputs, out):
        problem = _judge_masking(inputs, out)
        if problem:
            return problem
        again = call_with_time_limit(fn, tuple(clone(inputs).values()))
        other = clone(inputs)
        other["generator"] = torch.Generator().manual_seed(12345)
        third = call_with_time_limit(fn, tuple(other.values()))
        if again.error is not None or third.error is not None or again.timed_out or third.timed_out:
            return "a second call with the same arguments failed"
        if not same_output(tuple(out), tuple(again.value)):
            return (
                "two calls with generators seeded alike gave different results: draw every random number "
                "from the `generator` argument, so that a run can be repeated"
            )
        if torch.equal(torch.as_tensor(out[1]).double(), torch.as_tensor(third.value[1]).double()):
            return (
                "generators with different seeds gave the same mask: the randomness must come from the "
                "`generator` argument (not from a seed fixed inside the function)"
            )
        return None

    return judge


def _k_mistake(rule, hint):
    def matches(inputs, out):
        parts = _parts(inputs, out)
        if parts is None:
            return False
        wrong = rule(inputs["tokens"].shape[1], inputs["mask_ratio"])
        if wrong == _kept(inputs):
            return None  # this case cannot tell
        return STRONG if parts[0].shape[1] == wrong else False

    return Mistake(hint, matches)


def _same_subset(inputs, out):
    parts = _parts(inputs, out)
    if parts is None or inputs["tokens"].shape[0] == 1 or not 0 < _kept(inputs) < inputs["tokens"].shape[1]:
        return None if parts is not None else False
    mask = parts[1]
    return STRONG if (mask == mask[0]).all() else False


def _inverted(inputs, out):
    parts = _parts(inputs, out)
    if parts is None:
        return False
    visible, mask, ids = parts
    L = mask.shape[1]
    if 2 * visible.shape[1] == L:
        return None
    return STRONG if (mask.sum(1) == visible.shape[1]).all() and _restores(inputs, visible, ids, 1 - mask) else False


def _shuffle_not_restore(inputs, out):
    parts = _parts(inputs, out)
    if parts is None:
        return False
    visible, mask, ids = parts
    if not all(torch.equal(row.sort().values, torch.arange(len(row))) for row in ids):
        return False
    return (
        STRONG
        if _restores(inputs, visible, ids.argsort(1), mask) and not _restores(inputs, visible, ids, mask)
        else None
    )


_MASKING_MISTAKES = [
    Mistake(
        "every sample of the batch gets the same hidden positions (one random draw shared by the batch); "
        "each sample needs its own independent subset",
        _same_subset,
    ),
    Mistake("the mask is inverted: it says 1 where a token is kept and 0 where it is removed", _inverted),
    Mistake(
        "ids_restore looks like the shuffle itself (the order the tokens were taken in), not its inverse, "
        "the permutation that undoes it",
        _shuffle_not_restore,
    ),
    _k_mistake(
        lambda L, r: round(L * (1 - r)),
        "K is rounded to the nearest whole number; the contract rounds down: K = int(L * (1 - mask_ratio))",
    ),
    _k_mistake(
        lambda L, r: L - int(L * r),
        "it removes int(L * mask_ratio) tokens and keeps the rest, which is "
        "one too many when L * mask_ratio is not whole; the contract keeps K = int(L * (1 - mask_ratio))",
    ),
    _k_mistake(
        lambda L, r: int(L * r), "it keeps as many tokens as it should remove (mask_ratio is the fraction removed)"
    ),
]


def _masking_cases(fn) -> list[Case]:
    return [
        Case(
            "8 samples of 16 tokens, mask_ratio 0.5",
            _tokens(8, 16, 4, 0.5, 0),
            _judge_masking,
            "draw the noise for the whole batch at once, one row per sample",
        ),
        Case("the notebook's setting: 64 tokens, mask_ratio 0.75", _tokens(4, 64, 8, 0.75, 1), _judge_masking),
        Case(
            "64 tokens, mask_ratio 0.66 (L * (1 - mask_ratio) is not whole)",
            _tokens(3, 64, 4, 0.66, 2),
            _judge_masking,
            "K = int(L * (1 - mask_ratio))",
        ),
        Case("10 tokens, mask_ratio 0.22", _tokens(5, 10, 3, 0.22, 3), _judge_masking),
        Case("mask_ratio 0: nothing removed", _tokens(2, 16, 4, 0.0, 4), _judge_masking, trivial=True),
        Case("a single sample, mask_ratio 0.9", _tokens(1, 64, 6, 0.9, 5), _judge_masking, trivial=True),
        Case("the same seed twice, then another seed", _tokens(6, 16, 2, 0.75, 6), _reproducible(fn)),
    ]


def check_random_masking(fn) -> CheckResult:
    """Check `fn(tokens[B, L, D], mask_ratio, generator) -> (visible[B, K, D], mask[B, L], ids_restore[B, L])`."""
    return run_check("random_masking", fn, _masking_cases(fn), _MASKING_MISTAKES)


# --------------------------------------------------------------------------- masked_mse_loss
def _loss(pred, target, mask, norm_pix=True, unbiased=True, norm="target", average="masked", per="mean", eps=1e-6):
    """The reference, and each typical mistake by one switched argument."""
    pred, target, mask = pred.double(), target.double(), mask.double()

    def normalise(t, dims=(-1,)):
        return (t - t.mean(dims, keepdim=True)) / (t.var(dims, unbiased=unbiased, keepdim=True) + eps).sqrt()

    if norm_pix or norm == "always":
        if norm in ("target", "both", "always"):
            target = normalise(target)
        if norm in ("pred", "both"):
            pred = normalise(pred)
        if norm == "image":
            target = normalise(target, (-2, -1))
    err = (pred - target) ** 2
    per_patch = err.mean(-1) if per == "mean" else err.sum(-1)
    if average == "all":
        return per_patch.mean()
    if average == "visible":
        return (per_patch * (1 - mask)).sum() / (1 - mask).sum()
    if average == "sum":
        return (per_patch * mask).sum()
    if average == "all_count":
        return (per_patch * mask).mean()
    return (per_patch * mask).sum() / mask.sum()


def _judge_loss(inputs, out) -> str | None:
    if torch.is_tensor(out) and out.numel() == 1 and out.dim() > 0:
        return f"it returned shape {tuple(out.shape)}; a loss is a scalar, shape ()"
    problem = expect_tensor(out, (), "float")
    if problem:
        return problem
    right = [_loss(*clone(inputs).values(), unbiased=u) for u in (True, False)]
    if any(same_output(out, r) for r in right):
        return None
    return f"it returned {out.item():.5g}, expected {right[0].item():.5g}"


def _like_loss(hint, **wrong):
    def matches(inputs, out):
        if not torch.is_tensor(out):
            return False
        outs = [_loss(*clone(inputs).values(), unbiased=u, **wrong) for u in (True, False)]
        right = [_loss(*clone(inputs).values(), unbiased=u) for u in (True, False)]
        if any(same_output(o, r) for o in outs for r in right):
            return None if any(same_output(out, o) for o in outs) else False  # this case cannot tell
        return STRONG if any(same_output(out, o) for o in outs) else False

    return Mistake(hint, matches)


_LOSS_MISTAKES = [
    _like_loss(
        "it averages the error over every patch; the loss counts the masked (hidden) patches only", average="all"
    ),
    _like_loss("it averages over the visible patches: the mask is 1 where a patch was removed", average="visible"),
    _like_loss("it divides by the number of all patches, not by the number of masked ones", average="all_count"),
    _like_loss("it sums the errors of the masked patches instead of averaging them", average="sum"),
    _like_loss("it sums the squared errors over each patch's values instead of taking their mean", per="sum"),
    _like_loss(
        "it normalises the prediction as well as the target: only the target is normalised (the "
        "prediction learns to match it)",
        norm="both",
    ),
    _like_loss("it normalises the prediction instead of the target", norm="pred"),
    _like_loss(
        "it normalises each image as a whole; norm_pix normalises every patch by its own statistics", norm="image"
    ),
    _like_loss("it never normalises the target, even with norm_pix=True", norm="never"),
    _like_loss("it normalises the target even when norm_pix is False", norm="always"),
    _like_loss(
        "a flat target patch (all values equal) has variance 0: without the eps of 1e-6 it divides by zero", eps=0.0
    ),
]


def _loss_inputs(B, L, P, ratio, seed, norm_pix=True, flat=False, visible_error=False, all_masked=False):
    def make():
        g = torch.Generator().manual_seed(seed)
        pred, target = torch.randn(B, L, P, generator=g), torch.rand(B, L, P, generator=g)
        mask = (torch.rand(B, L, generator=g).argsort(1).argsort(1) >= int(L * (1 - ratio))).float()
        if all_masked:
            mask = torch.ones(B, L)
        if flat:  # one hidden patch of constant colour
            target[0, mask[0].argmax()] = 0.5
        if visible_error:  # perfect on the hidden patches, far off on the visible ones (norm_pix off)
            pred = torch.where(mask[..., None] > 0, target, target + 3)
        return {"pred": pred, "target": target, "mask": mask, "norm_pix": norm_pix}

    return make


LOSS_CASES = [
    Case(
        "a hand-made example: 2 patches of 2 values, the second hidden, norm_pix=False",
        lambda: {
            "pred": torch.zeros(1, 2, 2),
            "target": torch.tensor([[[1.0, 1.0], [2.0, 4.0]]]),
            "mask": torch.tensor([[0.0, 1.0]]),
            "norm_pix": False,
        },
        _judge_loss,
        "the answer is (2^2 + 4^2) / 2 = 10: the mean over the hidden patch's values",
    ),
    Case("a random batch, 75% masked, norm_pix=True", _loss_inputs(4, 16, 12, 0.75, 0), _judge_loss),
    Case("a random batch, 50% masked, norm_pix=False", _loss_inputs(3, 16, 12, 0.5, 1, norm_pix=False), _judge_loss),
    Case(
        "right on the hidden patches, wrong on the visible ones, norm_pix=False",
        _loss_inputs(2, 16, 12, 0.75, 2, norm_pix=False, visible_error=True),
        _judge_loss,
        "the visible patches must not count at all",
        trivial=True,
    ),
    Case(
        "a hidden patch of one flat colour, norm_pix=True",
        _loss_inputs(2, 16, 48, 0.75, 3, flat=True),
        _judge_loss,
        "the flat patch's variance is 0",
    ),
    Case("every patch hidden, norm_pix=True", _loss_inputs(2, 9, 27, 0.0, 4, all_masked=True), _judge_loss),
]


def check_masked_mse_loss(fn) -> CheckResult:
    """Check `fn(pred[B, L, P], target[B, L, P], mask[B, L], norm_pix=True) -> scalar`: per-patch MSE averaged over
    the masked patches, the target normalised per patch (eps 1e-6) when norm_pix."""
    return run_check("masked_mse_loss", fn, LOSS_CASES, _LOSS_MISTAKES)


# --------------------------------------------------------------------------- fill_from_neighbours (the shortcut)
def _fill_inputs(kind: str, ratio: float, seed: int, batch: int = 2):
    """Images of a known kind and a patch mask of `ratio` (the course's random masking, 4x4 patches)."""
    from sslcourse.experiments.mae_shortcut import patch_masks, pixel_mask

    def make():
        g = torch.Generator().manual_seed(seed)
        ramp = torch.linspace(0, 1, 32)
        if kind == "constant":
            images = torch.rand(batch, 3, 1, 1, generator=g).expand(batch, 3, 32, 32).clone()
        elif kind == "ramp":  # a different smooth gradient per image and channel
            slope = torch.rand(batch, 3, 1, 2, generator=g)
            images = 0.1 + 0.8 * (slope[..., :1, None] * ramp.view(1, 1, 32, 1) + slope[..., 1:, None] * ramp) / 2
            images = images.reshape(batch, 3, 32, 32)
        elif kind == "black and white":
            images = torch.stack([torch.zeros(3, 32, 32), torch.ones(3, 32, 32)])
        else:  # noise in the hidden pixels: a fill that reads them shows it
            images = torch.rand(batch, 3, 32, 32, generator=g)
        return {"images": images, "visible": pixel_mask(patch_masks(len(images), ratio, seed=seed))}

    return make


def _hidden_error(inputs: dict, out) -> float:
    hidden = ~inputs["visible"][:, None].expand_as(inputs["images"])
    return (out.double() - inputs["images"].double()).abs()[hidden].mean().item()


def _judge_fill(tolerance: float | None):
    """The output's shape, its visible pixels untouched, and (with a tolerance) the hidden pixels within it."""

    def judge(inputs: dict, out) -> str | None:
        problem = expect_tensor(out, tuple(inputs["images"].shape), "float")
        if problem:
            return problem
        keep = inputs["visible"][:, None].expand_as(inputs["images"])
        if not torch.allclose(out[keep].double(), inputs["images"][keep].double(), atol=1e-5):
            return "it changed visible pixels; they are known, keep them as they are"
        if tolerance is not None and (err := _hidden_error(inputs, out)) > tolerance:
            return f"its hidden pixels are off by {err:.3f} on average, where interpolation gets within {tolerance}"
        return None

    return judge


def _judge_blind(fn):
    """The fill of the hidden pixels must not change when the hidden pixels themselves change."""

    def judge(inputs: dict, out) -> str | None:
        problem = _judge_fill(None)(inputs, out)
        if problem:
            return problem
        other = clone(inputs)
        hidden = ~other["visible"][:, None].expand_as(other["images"])
        other["images"] = torch.where(hidden, 1 - other["images"], other["images"])
        again = call_with_time_limit(fn, tuple(other.values()))
        if again.error is not None or again.timed_out or not torch.is_tensor(again.value):
            return "it failed on a second call with other values in the hidden pixels"
        if not torch.allclose(again.value.double(), out.double(), atol=1e-4):
            return (
                "its fill changes when the hidden pixels change: it reads the pixels it is meant to guess (they are "
                "the answer, hidden from the model)"
            )
        return None

    return judge


def _fill_mean_colour(images, visible):
    v = visible[:, None].to(images.dtype)
    return torch.where(v > 0, images, (images * v).sum((2, 3), keepdim=True) / v.sum((2, 3), keepdim=True))


def _fill_constant(value):
    return lambda images, visible: torch.where(visible[:, None], images, torch.full_like(images, value))


def _like_fill(wrong, hint: str) -> Mistake:
    def matches(inputs, out):
        expected = wrong(*clone(inputs).values())
        if _hidden_error(inputs, expected) < 1e-6:
            return None  # this case cannot tell
        return STRONG if same_output(out, expected, atol=1e-4) else False

    return Mistake(hint, matches)


_FILL_MISTAKES = [
    _like_fill(_fill_constant(0.0), "the hidden pixels are left at 0 (black): fill each from visible pixels near it"),
    _like_fill(_fill_constant(0.5), "the hidden pixels are one grey for every image: fill each from its own image"),
    _like_fill(
        _fill_mean_colour,
        "every hidden pixel gets the image's mean colour: that is the other baseline; a hidden pixel should take "
        "after the visible pixels near it, not the whole image",
    ),
]


def _fill_cases(fn) -> list[Case]:
    return [
        Case(
            "one flat colour per image, 50% hidden",
            _fill_inputs("constant", 0.5, 0),
            _judge_fill(1e-3),
            "a flat image stays flat: the hidden pixels have the colour of their neighbours",
            trivial=True,
        ),
        Case(
            "smooth gradients, 25% hidden",
            _fill_inputs("ramp", 0.25, 1),
            _judge_fill(0.03),
            "near a smooth gradient, a hidden pixel should take after the visible pixels closest to it",
        ),
        Case(
            "smooth gradients, 75% hidden (large holes)",
            _fill_inputs("ramp", 0.75, 2),
            _judge_fill(0.08),
            "with large holes, reach further for visible pixels, but weigh the near ones most",
        ),
        Case(
            "a black image and a white one, 90% hidden",
            _fill_inputs("black and white", 0.9, 3),
            _judge_fill(1e-3),
            "each image is filled from its own pixels, never from another image of the batch",
        ),
        Case(
            "random pixels, 50% hidden: are the hidden ones read?",
            _fill_inputs("noise", 0.5, 4),
            _judge_blind(fn),
            "use only the pixels where visible is True",
        ),
    ]


def check_fill_from_neighbours(fn) -> CheckResult:
    """Check `fn(images[B, 3, H, W], visible[B, H, W] bool) -> images[B, 3, H, W]`: visible pixels kept, every
    hidden pixel filled from the visible pixels near it in the same image and channel, without reading hidden ones."""
    return run_check("fill_from_neighbours", fn, _fill_cases(fn), _FILL_MISTAKES)
