"""Checkers for notebook 01's exercises: `sample_patch_pair` and `remove_green_magenta`.

`sample_patch_pair` is random, so it is judged by geometry, never by comparing draws with the reference: every
pixel of the test images holds its own coordinates (row * 1000 + column, plus a quarter per channel), so each
returned patch says where it was cut. A case then checks that both patches are real crops, that the neighbour
sits where its label says, `patch + gap` away up to the two jitters, and, over a few hundred calls, that every
label occurs, that each patch has its own jitter covering [-jitter, jitter] and that the grid can sit anywhere
in the image. `remove_green_magenta` is deterministic and is compared with the reference.
"""

from __future__ import annotations

import torch

from sslcourse.checks import (
    Case,
    CheckResult,
    Mistake,
    agrees_with,
    call_with_time_limit,
    clone,
    describe_error,
    expect_tensor,
    run_check,
)
from sslcourse.methods.context import GREEN_MAGENTA, OFFSETS, grid_side
from sslcourse.methods.context import remove_green_magenta as reference

NAMES = ("top-left", "top", "top-right", "left", "right", "bottom-left", "bottom", "bottom-right")
_DRAWS = 300  # calls per statistical case: a right answer misses a possible jitter value with p < 1e-5


# --------------------------------------------------------------------------- sample_patch_pair
def _coded(channels: int, height: int, width: int) -> torch.Tensor:
    """An image whose every value says where it is: row * 1000 + column + channel / 4."""
    rows = torch.arange(height, dtype=torch.float32)[:, None] * 1000
    cols = torch.arange(width, dtype=torch.float32)[None, :]
    return torch.stack([rows + cols + c / 4 for c in range(channels)])  # (C, H, W)


def _pair_inputs(channels, height, width, patch, gap, jitter, seed):
    return lambda: {
        "image": _coded(channels, height, width),
        "patch": patch,
        "gap": gap,
        "jitter": jitter,
        "generator": torch.Generator().manual_seed(seed),
    }


def _label(value) -> int | None:
    try:
        if torch.is_tensor(value):
            if value.numel() != 1 or value.is_floating_point():
                return None
            value = value.item()
        if isinstance(value, bool) or int(value) != value:
            return None
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _where(image: torch.Tensor, patch_out, size: int, what: str):
    """(row, column) of a returned patch cut from the coded `image`, or a statement of what is wrong."""
    problem = expect_tensor(patch_out, (image.shape[0], size, size), "float")
    if problem:
        return f"{what}: {problem}"
    v = int(round(float(patch_out[0, 0, 0])))
    r, c = v // 1000, v % 1000
    H, W = image.shape[1:]
    if not (0 <= r <= H - size and 0 <= c <= W - size) or not torch.equal(
        patch_out.float(), image[:, r : r + size, c : c + size]
    ):
        return f"{what} is not a {size}x{size} crop of the image (every channel, at one place)"
    return r, c


def _geometry(inputs, out):
    """(label, centre position, neighbour position) of one output, or a statement of what is wrong."""
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        return f"it returned {type(out).__name__}; expected three things: (center, neighbor, label)"
    image, P = inputs["image"], inputs["patch"]
    label = _label(out[2])
    if label is None or not 0 <= label <= 7:
        return f"the label should be one whole number from 0 to 7, got {out[2]!r}"
    centre = _where(image, out[0], P, "center")
    if isinstance(centre, str):
        return centre
    neighbour = _where(image, out[1], P, "neighbor")
    if isinstance(neighbour, str):
        return neighbour
    return label, centre, neighbour


def _explain_offset(inputs, label, centre, neighbour) -> str | None:
    """None when the neighbour sits where `label` says (up to the jitters), else what is wrong."""
    P, gap, j = inputs["patch"], inputs["gap"], inputs["jitter"]
    d = (neighbour[0] - centre[0], neighbour[1] - centre[1])

    def near(step, lab):
        return all(abs(d[i] - OFFSETS[lab][i] * step) <= 2 * j for i in range(2))

    if near(P + gap, label):
        return None
    seen = f"the neighbour sits {d[0]:+d} rows and {d[1]:+d} columns from the centre"
    if near(P, label) and gap > 0:
        return f"{seen}: the grid is spaced `patch` apart, but neighbouring patches are `patch + gap` apart"
    actual = [lab for lab in range(8) if near(P + gap, lab)]
    if actual:
        hint = " (labels that run down the columns first?)" if actual[0] == [0, 3, 5, 1, 6, 2, 4, 7][label] else ""
        return (
            f"{seen}, which is label {actual[0]} ({NAMES[actual[0]]}), but the label says {label} "
            f"({NAMES[label]}): labels go row by row, 0 top-left to 7 bottom-right, the centre skipped{hint}"
        )
    return (
        f"{seen}; for label {label} ({NAMES[label]}) expected {OFFSETS[label][0] * (P + gap):+d} and "
        f"{OFFSETS[label][1] * (P + gap):+d}, each up to {2 * j} off through the two jitters"
    )


def _inside(inputs, label, centre) -> str | None:
    """The centre patch must lie where a grid inside the image (jitter margins kept) can put it."""
    P, gap, j = inputs["patch"], inputs["gap"], inputs["jitter"]
    H, W = inputs["image"].shape[1:]
    span = 3 * P + 2 * gap
    for axis, size, name in ((0, H, "row"), (1, W, "column")):
        if not 0 <= centre[axis] - (P + gap) <= size - span:
            return (
                f"the centre patch starts at {name} {centre[axis]}, where no grid inside the image can put it "
                f"(its grid would start {centre[axis] - (P + gap) - j} to {centre[axis] - (P + gap) + j}; allowed "
                f"{j} to {size - span - j}, keeping a jitter margin)"
            )
    return None


def _judge_pair(inputs, out) -> str | None:
    geometry = _geometry(inputs, out)
    if isinstance(geometry, str):
        return geometry
    return _explain_offset(inputs, *geometry) or _inside(inputs, geometry[0], geometry[1])


def _draws(fn, inputs, n: int = _DRAWS):
    """n calls with one generator: a list of (label, centre, neighbour), or a statement of what went wrong."""
    args = clone(inputs)

    def many():
        return [fn(*args.values()) for _ in range(n)]

    outcome = call_with_time_limit(many, ())
    if outcome.timed_out:
        return f"{n} calls took more than 10 s; one call should take well under a millisecond here"
    if outcome.error is not None:
        return describe_error(outcome.error, fn)
    rows = []
    for out in outcome.value:
        geometry = _geometry(inputs, out)
        if isinstance(geometry, str):
            return geometry
        problem = _explain_offset(inputs, *geometry) or _inside(inputs, geometry[0], geometry[1])
        if problem:
            return problem
        rows.append(geometry)
    return rows


def _statistics(fn):
    """A judge for many draws on an image exactly the grid's size: the grid cannot move there, so the centre
    patch's place is its own jitter and the neighbour's offset adds the other, independent one."""

    def judge(inputs, out):
        problem = _judge_pair(inputs, out)
        if problem:
            return problem
        rows = _draws(fn, inputs)
        if isinstance(rows, str):
            return rows
        P, gap, j = inputs["patch"], inputs["gap"], inputs["jitter"]
        labels = torch.tensor([r[0] for r in rows])
        missing = [lab for lab in range(8) if not (labels == lab).any()]
        if missing:
            return f"in {len(rows)} calls the label never was {missing}: each of the 8 neighbours should be drawn"
        if torch.bincount(labels, minlength=8).min() < len(rows) / 8 / 3:
            return f"the labels are far from uniform over {len(rows)} calls: {torch.bincount(labels).tolist()}"
        own = torch.tensor([[r[1][i] - (P + gap) - j for i in range(2)] for r in rows])  # the centre's jitter
        rel = torch.tensor([[r[2][i] - r[1][i] - OFFSETS[r[0]][i] * (P + gap) for i in range(2)] for r in rows])
        if (rel == 0).all():
            if (own == 0).all():
                return "neither patch ever moves: each patch should be jittered"
            return (
                "the neighbour always sits exactly `patch + gap` from the centre: both patches got the same "
                "jitter, but each needs its own"
            )
        if (own == 0).all():
            return "the centre patch never moves: each of the two patches should be jittered, not only the neighbour"
        if own.max() < j or own.min() > -j or rel.max() < 2 * j or rel.min() > -2 * j:
            return (
                f"over {len(rows)} calls a patch's jitter never reached {'+' if own.max() < j else '-'}{j}: the "
                f"jitter should be any whole number from -{j} to +{j}, both ends included (mind the upper bound "
                "of torch.randint)"
            )
        return None

    return judge


def _placement(fn):
    """A judge for many draws without jitter on a larger, non-square image: the grid should reach every edge."""

    def judge(inputs, out):
        problem = _judge_pair(inputs, out)
        if problem:
            return problem
        rows = _draws(fn, inputs)
        if isinstance(rows, str):
            return rows
        P, gap = inputs["patch"], inputs["gap"]
        H, W = inputs["image"].shape[1:]
        span = 3 * P + 2 * gap
        for axis, size, name in ((0, H, "top"), (1, W, "left")):
            starts = [r[1][axis] - (P + gap) for r in rows]
            if min(starts) > 0 or max(starts) < size - span:
                return (
                    f"over {len(rows)} calls the grid's {name} edge stayed within {min(starts)}..{max(starts)}, "
                    f"but it may be anywhere from 0 to {size - span} (image size minus the grid's "
                    "3 * patch + 2 * gap); mind the upper bound of torch.randint, and use the height for rows "
                    "and the width for columns"
                )
        return None

    return judge


def _too_small(fn):
    """A judge that also calls fn on images one pixel too short, then one pixel too narrow: a ValueError each."""

    def judge(inputs, out):
        problem = _judge_pair(inputs, out)
        if problem:
            return problem
        need = grid_side(inputs["patch"], inputs["gap"], inputs["jitter"])
        for shape, what in (
            ((3, need - 1, need + 5), "one pixel too short"),
            ((3, need + 5, need - 1), "one pixel too narrow"),
        ):
            args = {**clone(inputs), "image": _coded(*shape)}
            outcome = call_with_time_limit(fn, tuple(args.values()))
            if outcome.timed_out:
                return f"on an image {what} it ran for more than 10 s"
            if not isinstance(outcome.error, ValueError):
                got = "returned normally" if outcome.error is None else f"raised {type(outcome.error).__name__}"
                return (
                    f"on an image {what} for the grid ({shape[1]}x{shape[2]}, the grid needs 3 * patch + "
                    f"2 * gap + 2 * jitter = {need}) it {got}; it should raise a ValueError that says so"
                )
        return None

    return judge


def _reproducible(fn):
    """Same seed -> same pairs; another seed -> other pairs."""

    def judge(inputs, out):
        problem = _judge_pair(inputs, out)
        if problem:
            return problem
        first, again = _draws(fn, inputs, 20), _draws(fn, inputs, 20)
        other = _draws(fn, {**clone(inputs), "generator": torch.Generator().manual_seed(12345)}, 20)
        if any(isinstance(r, str) for r in (first, again, other)):
            return next(r for r in (first, again, other) if isinstance(r, str))
        if first != again:
            return (
                "two runs with generators seeded alike gave different pairs: draw every random number from the "
                "`generator` argument, so that a run can be repeated"
            )
        if first == other:
            return (
                "generators with different seeds gave the same pairs: the randomness must come from the "
                "`generator` argument"
            )
        return None

    return judge


def _pair_cases(fn) -> list[Case]:
    return [
        Case("one pair, patch 4, gap 2, no jitter, a 3x24x24 image", _pair_inputs(3, 24, 24, 4, 2, 0, 0), _judge_pair),
        Case("one pair, patch 5, gap 3, jitter 2, a 3x30x30 image", _pair_inputs(3, 30, 30, 5, 3, 2, 1), _judge_pair),
        Case(
            "one pair from a one-channel, non-square 1x26x40 image, patch 4, gap 2, jitter 1",
            _pair_inputs(1, 26, 40, 4, 2, 1, 2),
            _judge_pair,
            "work for any number of channels and H != W",
        ),
        Case(
            "300 pairs from a 3x20x20 image, exactly the size the grid needs (patch 4, gap 2, jitter 2)",
            _pair_inputs(3, 20, 20, 4, 2, 2, 3),
            _statistics(fn),
        ),
        Case(
            "300 pairs from a non-square 3x30x25 image, patch 4, gap 2, no jitter",
            _pair_inputs(3, 30, 25, 4, 2, 0, 4),
            _placement(fn),
        ),
        Case(
            "images one pixel too small for the grid (patch 4, gap 2, jitter 1)",
            _pair_inputs(3, 18, 18, 4, 2, 1, 5),
            _too_small(fn),
        ),
        Case("the same seed twice, then another seed", _pair_inputs(3, 28, 28, 4, 2, 1, 6), _reproducible(fn)),
    ]


def check_sample_patch_pair(fn) -> CheckResult:
    """Check `fn(image[C, H, W], patch, gap, jitter, generator) -> (center, neighbor, label)`."""
    return run_check("sample_patch_pair", fn, _pair_cases(fn))


# --------------------------------------------------------------------------- remove_green_magenta
def _projector(a, normalise="squared", keep=False):
    def fn(image):
        v = torch.tensor(a, dtype=torch.float64)[None]  # (1, 3)
        outer = v.T @ v
        norm = {"squared": (v @ v.T).item(), "length": (v @ v.T).sqrt().item(), "none": 1.0}[normalise]
        proj = outer / norm if keep else torch.eye(3, dtype=torch.float64) - outer / norm
        return torch.einsum("ij,jhw->ihw", proj, image.double())

    return fn


def _per_image(image):
    """The projection of the image's mean colour removed from every pixel."""
    a = torch.tensor(GREEN_MAGENTA, dtype=torch.float64)
    mean = image.double().mean(dim=(1, 2))  # (3,)
    return image.double() - ((a @ mean) / (a @ a) * a)[:, None, None]


def _pixels_mixed(image):
    """(3, H, W) reshaped to (H*W, 3) without moving the channel axis last."""
    C, H, W = image.shape
    return (image.double().reshape(H * W, C) @ _projector(GREEN_MAGENTA)(torch.eye(3)[:, :, None])[:, :, 0]).reshape(
        C, H, W
    )


def _image(seed, height=5, width=7, dtype=torch.float32):
    return lambda: {"image": torch.rand(3, height, width, generator=torch.Generator().manual_seed(seed)).to(dtype)}


_PROJECTION_CASES = [
    Case(
        "one pixel on the green-magenta axis, [-1, 2, -1]",
        lambda: {"image": torch.tensor([-1.0, 2.0, -1.0])[:, None, None]},
        agrees_with(reference),
        "a colour along a should vanish entirely",
        trivial=True,
    ),
    Case(
        "one grey pixel, [1, 1, 1]",
        lambda: {"image": torch.ones(3, 1, 1)},
        agrees_with(reference),
        "a grey pixel is orthogonal to a and should stay as it is",
        trivial=True,
    ),
    Case("a random 3x5x7 image", _image(0), agrees_with(reference)),
    Case("a random 3x3x3 image (as many rows as channels)", _image(1, 3, 3), agrees_with(reference)),
    Case("a random 3x32x32 image in float64", _image(2, 32, 32, torch.float64), agrees_with(reference)),
]

_PROJECTION_MISTAKES = [
    Mistake.like(
        _projector(GREEN_MAGENTA, keep=True),
        "it returns the green-magenta component itself; the "
        "projection removes it and keeps everything else (I minus that)",
    ),
    Mistake.like(
        _projector(GREEN_MAGENTA, "none"), "a^T a is not divided by a a^T: the projection needs a unit direction"
    ),
    Mistake.like(
        _projector(GREEN_MAGENTA, "length"),
        "a^T a is divided by the length of a; it must be divided by a a^T, the squared length",
    ),
    *[
        Mistake.like(
            _projector(a), "it projects out another colour axis; green-magenta is a = [-1, 2, -1] in RGB order"
        )
        for a in ((1.0, 1.0, 1.0), (0.0, 1.0, 0.0), (2.0, -1.0, -1.0), (-1.0, -1.0, 2.0))
    ],
    Mistake.like(
        _per_image, "it removes the green-magenta part of the image's mean colour; every pixel needs its own projection"
    ),
    Mistake.like(
        _pixels_mixed,
        "it reshapes (3, H, W) straight to (H*W, 3), which mixes values of different pixels; "
        "move the channel axis last first (permute), or multiply along the channel axis",
    ),
]


def check_remove_green_magenta(fn) -> CheckResult:
    """Check `fn(image[3, H, W]) -> image[3, H, W]`: each pixel's RGB times B = I - a^T a / (a a^T), a = [-1, 2, -1]."""
    return run_check("remove_green_magenta", fn, _PROJECTION_CASES, _PROJECTION_MISTAKES)
