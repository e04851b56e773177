"""check_sample_patch_pair and check_remove_green_magenta: right answers in any style pass; each typical mistake
fails with a hint naming it; nothing a student writes makes a checker raise."""

import math

import pytest
import torch

from sslcourse.checks.context import check_remove_green_magenta, check_sample_patch_pair
from sslcourse.methods.context import OFFSETS, remove_green_magenta, sample_patch_pair


# --------------------------------------------------------------------------- sample_patch_pair: right answers
def all_draws_at_once(image, patch, gap, jitter, generator):
    """Every random number in one call, then `narrow`; offsets from a table by column and row."""
    _, H, W = image.shape
    if min(H, W) < 3 * patch + 2 * gap + 2 * jitter:
        raise ValueError("image too small")
    step = patch + gap
    u = torch.rand(7, generator=generator)
    top = jitter + int(u[0] * (H - 3 * patch - 2 * gap - 2 * jitter + 1))
    left = jitter + int(u[1] * (W - 3 * patch - 2 * gap - 2 * jitter + 1))
    label = int(u[2] * 8)
    j = [int(v * (2 * jitter + 1)) - jitter for v in u[3:]]
    positions = [(r, c) for r in range(3) for c in range(3) if (r, c) != (1, 1)]
    r, c = positions[label]
    center = image.narrow(1, top + step + j[0], patch).narrow(2, left + step + j[1], patch)
    neighbor = image.narrow(1, top + r * step + j[2], patch).narrow(2, left + c * step + j[3], patch)
    return center, neighbor, torch.tensor(label)


@pytest.mark.parametrize("fn", [sample_patch_pair, all_draws_at_once])
def test_right_answers_pass(fn):
    result = check_sample_patch_pair(fn)
    assert result.passed and result.score == result.max_score, result.message


# --------------------------------------------------------------------------- sample_patch_pair: mistakes
def _pair(
    image,
    patch,
    gap,
    jitter,
    generator,
    same_jitter=False,
    high=1,
    spacing=None,
    label_map=None,
    check=True,
    use_generator=True,
    grid_high=1,
):
    _, H, W = image.shape
    if check and min(H, W) < 3 * patch + 2 * gap + 2 * jitter:
        raise ValueError("too small")
    g = generator if use_generator else None
    step = patch + gap if spacing is None else spacing
    span = 3 * patch + 2 * gap

    def draw(lo, hi, h=high):
        if lo == hi and h == 0:  # torch.randint(0, 0) raises: this student special-cased jitter 0
            return lo
        return int(torch.randint(lo, hi + h, (1,), generator=g))

    top, left = draw(jitter, H - span - jitter, grid_high), draw(jitter, W - span - jitter, grid_high)
    label = draw(0, 7, 1)
    dr, dc = OFFSETS[label]
    jy, jx = draw(-jitter, jitter), draw(-jitter, jitter)
    ky, kx = (jy, jx) if same_jitter else (draw(-jitter, jitter), draw(-jitter, jitter))
    cy, cx = top + step + jy, left + step + jx
    ny, nx = top + (1 + dr) * step + ky, left + (1 + dc) * step + kx
    out_label = label if label_map is None else label_map[label]
    return image[:, cy : cy + patch, cx : cx + patch], image[:, ny : ny + patch, nx : nx + patch], out_label


def _variant(**kw):
    return lambda image, patch, gap, jitter, generator: _pair(image, patch, gap, jitter, generator, **kw)


def column_major_labels(image, patch, gap, jitter, generator):
    return _pair(image, patch, gap, jitter, generator, label_map=[0, 3, 5, 1, 6, 2, 4, 7])


def spacing_without_gap(image, patch, gap, jitter, generator):
    return _pair(image, patch, gap, jitter, generator, spacing=patch)


def centre_counted(image, patch, gap, jitter, generator):
    return _pair(image, patch, gap, jitter, generator, label_map=[0, 1, 2, 3, 5, 6, 7, 8])


@pytest.mark.parametrize(
    "fn, hint",
    [
        (column_major_labels, "labels go row by row"),
        (centre_counted, "the centre skipped"),
        (spacing_without_gap, "`patch + gap` apart"),
        (_variant(same_jitter=True), "same jitter"),
        (_variant(high=0), "both ends included"),
        (_variant(check=False), "ValueError"),
        (_variant(use_generator=False), "seeded alike"),
    ],
)
def test_mistakes_are_named(fn, hint):
    result = check_sample_patch_pair(fn)
    assert not result.passed
    assert hint in result.message, result.message


def test_placement_range_one_short_is_caught():
    result = check_sample_patch_pair(_variant(grid_high=0))  # torch.randint(low, high) never gives high
    assert not result.passed and result.score < result.max_score


def test_changing_the_image_in_place_and_hanging_and_raising_are_verdicts():
    def in_place(image, patch, gap, jitter, generator):
        out = sample_patch_pair(image, patch, gap, jitter, generator)
        image.zero_()
        return out

    assert "in place" in check_sample_patch_pair(in_place).message
    assert not check_sample_patch_pair(lambda *a: (_ for _ in ()).throw(IndexError("oops"))).passed
    assert "not implemented" in check_sample_patch_pair(lambda *a: (_ for _ in ()).throw(NotImplementedError)).message
    assert not check_sample_patch_pair(lambda *a: None).passed
    assert not check_sample_patch_pair(lambda *a: (torch.full((3, 4, 4), math.nan),) * 2 + (0,)).passed


# --------------------------------------------------------------------------- remove_green_magenta
def permute_and_matmul(image):
    a = torch.tensor([[-1.0, 2.0, -1.0]], dtype=image.dtype)
    B = torch.eye(3, dtype=image.dtype) - a.T @ a / (a @ a.T)
    return (image.permute(1, 2, 0) @ B).permute(2, 0, 1)


def subtract_the_component(image):
    a = torch.tensor([-1.0, 2.0, -1.0], dtype=image.dtype)[:, None, None]
    return image - (image * a).sum(0, keepdim=True) / 6 * a


@pytest.mark.parametrize("fn", [remove_green_magenta, permute_and_matmul, subtract_the_component])
def test_projection_right_answers_pass(fn):
    result = check_remove_green_magenta(fn)
    assert result.passed, result.message


def _with(a=(-1.0, 2.0, -1.0), norm=6.0, keep=False):
    def fn(image):
        v = torch.tensor([a], dtype=image.dtype)
        P = v.T @ v / norm
        B = P if keep else torch.eye(3, dtype=image.dtype) - P
        return torch.einsum("ij,jhw->ihw", B, image)

    return fn


def reshape_without_permute(image):
    C, H, W = image.shape
    return (image.reshape(H * W, C) @ _with()(torch.eye(3)[:, :, None])[:, :, 0].to(image.dtype)).reshape(C, H, W)


def per_image(image):
    a = torch.tensor([-1.0, 2.0, -1.0], dtype=image.dtype)
    return image - ((a @ image.mean(dim=(1, 2))) / 6 * a)[:, None, None]


@pytest.mark.parametrize(
    "fn, hint",
    [
        (_with(norm=1.0), "not divided"),
        (_with(norm=math.sqrt(6)), "squared length"),
        (_with(keep=True), "component itself"),
        (_with(a=(1.0, 1.0, 1.0), norm=3.0), "another colour axis"),
        (_with(a=(2.0, -1.0, -1.0)), "another colour axis"),
        (reshape_without_permute, "permute"),
        (per_image, "every pixel"),
    ],
)
def test_projection_mistakes_are_named(fn, hint):
    result = check_remove_green_magenta(fn)
    assert not result.passed
    assert hint in result.message, result.message


def test_projection_in_place_is_caught():
    def in_place(image):
        image.copy_(remove_green_magenta(image))
        return image

    assert "in place" in check_remove_green_magenta(in_place).message


@pytest.mark.parametrize("fn", [lambda image: image.clone(), lambda image: torch.zeros_like(image)])
def test_remove_green_magenta_unchanged_or_zeros_earns_nothing(fn):
    """Grey stays as it is and a pure green-magenta pixel becomes 0: cases that the input unchanged, or zeros, pass."""
    result = check_remove_green_magenta(fn)
    assert not result.passed and result.score == 0, result


@pytest.mark.parametrize(
    "fn",
    [
        lambda image, patch, gap, jitter, generator: (
            image[:, :patch, :patch].clone(),
            image[:, :patch, :patch].clone(),
            0,
        ),
        lambda image, patch, gap, jitter, generator: (_ for _ in ()).throw(ValueError("the image is too small")),
    ],
)
def test_sample_patch_pair_constant_or_always_raising_earns_nothing(fn):
    result = check_sample_patch_pair(fn)
    assert not result.passed and result.score == 0, result
