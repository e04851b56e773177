"""Geometric augmentations: where the pixels go. Random resized crop, flip, quarter-turn rotation, cutout,
and the pad-and-crop translation of supervised CIFAR training.

Each comes as sample_<op>_params / <op> / random_<op> (see `sslcourse.augment`). Shape: (B, C, H, W) floats.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from sslcourse.augment.batch import bernoulli, randint, select, uniform

Tensor = torch.Tensor


# --- random resized crop ---------------------------------------------------------------------


def sample_crop_params(
    batch_size: int, generator, height: int, width: int, scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3)
) -> Tensor:
    """Random boxes (top, left, height, width) in whole pixels, as torchvision's RandomResizedCrop.

    Area fraction uniform in `scale`, log aspect ratio (width / height) uniform in log(`ratio`),
    position uniform over the places where the box fits. Where torchvision redraws a box that does
    not fit (10 tries, then a centre crop), we clamp its sides to the image: no loop, and it only
    happens for wide or tall boxes of large area.
    Defaults: scale (0.2, 1) as CIFAR recipes (SimCLR's ImageNet value is (0.08, 1)); ratio as SimCLR.
    Shape: -> (batch_size, 4) int64.
    """
    area = uniform(generator, batch_size, *scale) * (height * width)
    aspect = torch.exp(uniform(generator, batch_size, math.log(ratio[0]), math.log(ratio[1])))
    w = torch.sqrt(area * aspect).round().clamp(1, width)
    h = torch.sqrt(area / aspect).round().clamp(1, height)
    # floor(u * (number of places)); the clamp guards against float rounding u * n up to n
    top = torch.minimum((uniform(generator, batch_size, 0, 1) * (height - h + 1)).floor(), height - h)
    left = torch.minimum((uniform(generator, batch_size, 0, 1) * (width - w + 1)).floor(), width - w)
    return torch.stack((top, left, h, w), dim=1).long()


def resized_crop(x: Tensor, boxes: Tensor, size: int | tuple[int, int]) -> Tensor:
    """Crop every image to its box and resize it (bilinear) to `size`.

    Output pixel i samples input coordinate left + (i + 0.5) * w / size - 0.5: pixel centres onto
    pixel centres. That map is affine, so one affine_grid + grid_sample does the whole batch. The
    coordinates are clamped to the box's outer pixel centres, as resizing the cut-out crop does;
    without it, upsampled boxes would blend in a sliver of the pixels just outside them. Equals
    torchvision.transforms.v2.functional.resized_crop(img, *box, size, antialias=False) per image.
    Shape: x (B, C, H, W), boxes (B, 4) -> (B, C, size, size).
    """
    B, C, H, W = x.shape
    out_h, out_w = (size, size) if isinstance(size, int) else size
    top, left, h, w = boxes.to(device=x.device, dtype=torch.float32).unbind(1)
    theta = torch.zeros(B, 2, 3, device=x.device)
    theta[:, 0, 0], theta[:, 0, 2] = w / W, (2 * left + w) / W - 1  # x: normalised coordinates
    theta[:, 1, 1], theta[:, 1, 2] = h / H, (2 * top + h) / H - 1  # y
    grid = F.affine_grid(theta, [B, C, out_h, out_w], align_corners=False)
    first = torch.stack(((2 * left + 1) / W - 1, (2 * top + 1) / H - 1), 1).view(B, 1, 1, 2)
    last = torch.stack(((2 * (left + w) - 1) / W - 1, (2 * (top + h) - 1) / H - 1), 1).view(B, 1, 1, 2)
    grid = torch.clamp(grid, first, last)
    # Sample in float32: half-precision coordinates would misplace pixels by up to ~0.5% of a side.
    out = F.grid_sample(x.float(), grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.to(x.dtype)


def random_crop(
    x: Tensor, generator, size: int | tuple[int, int] | None = None, scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3)
) -> Tensor:
    """Random resized crop (SimCLR's main augmentation); `size` defaults to the input's.
    Shape: (B, C, H, W) -> (B, C, size, size)."""
    B, _, H, W = x.shape
    boxes = sample_crop_params(B, generator, H, W, scale, ratio)
    return resized_crop(x, boxes, (H, W) if size is None else size)


# --- flip ------------------------------------------------------------------------------------


def sample_flip_params(batch_size: int, generator, p: float = 0.5) -> Tensor:
    """Which images to flip, each with probability p (0.5, SimCLR). Shape: -> (batch_size,) bool."""
    return bernoulli(generator, batch_size, p)


def hflip(x: Tensor, flips: Tensor) -> Tensor:
    """Mirror left-right the images whose flag is set. Shape: (B, C, H, W), (B,) -> (B, C, H, W)."""
    return select(flips, x.flip(-1), x)


def random_flip(x: Tensor, generator, p: float = 0.5) -> Tensor:
    """Horizontal flip with probability p. Shape: (B, C, H, W) -> same."""
    return hflip(x, sample_flip_params(x.shape[0], generator, p))


# --- rotation and cutout ---------------------------------------------------------------------


def sample_rotation_params(batch_size: int, generator) -> Tensor:
    """Quarter turns k in {1, 2, 3} (90, 180, 270 degrees), uniform, as in SimCLR's study of
    augmentations (Figure 4). Shape: -> (batch_size,) int64."""
    return 1 + randint(generator, batch_size, 3)


def rotate90(x: Tensor, turns: Tensor) -> Tensor:
    """Rotate every image by its number of quarter turns (torch.rot90's direction).
    Shape: (B, C, S, S), (B,) -> (B, C, S, S); non-square images raise ValueError."""
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"rotate needs square images, got shape {tuple(x.shape)}")
    out = x
    for k in (1, 2, 3):  # rotate the whole batch three ways and keep, per image, the one it drew
        out = select(turns == k, torch.rot90(x, k, dims=(2, 3)), out)
    return out


def random_rotate(x: Tensor, generator) -> Tensor:
    """Random rotation by 90, 180 or 270 degrees. Shape: same (square images)."""
    return rotate90(x, sample_rotation_params(x.shape[0], generator))


def sample_cutout_params(batch_size: int, generator, height: int, width: int) -> Tensor:
    """Square centres (row, column), uniform over the pixels. Shape: -> (batch_size, 2) int64."""
    rows, cols = randint(generator, batch_size, height), randint(generator, batch_size, width)
    return torch.stack((rows, cols), dim=1)


def cutout(x: Tensor, centres: Tensor, side: int, fill: float = 0.0) -> Tensor:
    """Fill a side x side square around each centre (clipped at the borders) with `fill`.
    Shape: (B, C, H, W), (B, 2) -> (B, C, H, W)."""
    B, _, H, W = x.shape
    corners = centres.to(x.device) - side // 2  # (B, 2) top-left corners, may lie outside
    rows = torch.arange(H, device=x.device) - corners[:, :1]  # (B, H) position within the square
    cols = torch.arange(W, device=x.device) - corners[:, 1:]
    inside = ((rows >= 0) & (rows < side)).view(B, 1, H, 1) & ((cols >= 0) & (cols < side)).view(B, 1, 1, W)
    return torch.where(inside, fill, x)


def random_cutout(x: Tensor, generator, size_frac: float = 0.5, fill: float = 0.0) -> Tensor:
    """Cutout (DeVries & Taylor 2017): one square of side size_frac * image side (0.5: their 16 px
    on CIFAR-10), centre uniform over the image. Shape: same."""
    B, _, H, W = x.shape
    side = max(1, round(size_frac * min(H, W)))
    return cutout(x, sample_cutout_params(B, generator, H, W), side, fill)


# --- translate: the supervised CIFAR augmentation --------------------------------------------


def sample_translate_params(batch_size: int, generator, padding: int = 4) -> Tensor:
    """Crop offsets (row, column) into the padded image, uniform in 0..2*padding.
    Shape: -> (batch_size, 2) int64."""
    return torch.stack(
        (randint(generator, batch_size, 2 * padding + 1), randint(generator, batch_size, 2 * padding + 1)), dim=1
    )


def translate(x: Tensor, offsets: Tensor, padding: int = 4, mode: str = "reflect") -> Tensor:
    """Pad by `padding` and cut an H x W window at each image's offsets (two gathers: rows, then columns).
    Shape: (B, C, H, W), (B, 2) -> (B, C, H, W)."""
    B, C, H, W = x.shape
    padded = F.pad(x, (padding, padding, padding, padding), mode=mode)
    offsets = offsets.to(x.device)
    rows = offsets[:, :1] + torch.arange(H, device=x.device)  # (B, H) rows of the padded image to keep
    cols = offsets[:, 1:] + torch.arange(W, device=x.device)
    padded = padded.gather(2, rows.view(B, 1, H, 1).expand(B, C, H, W + 2 * padding))
    return padded.gather(3, cols.view(B, 1, 1, W).expand(B, C, H, W))


def random_translate(x: Tensor, generator, padding: int = 4, mode: str = "reflect") -> Tensor:
    """Pad-and-random-crop, the standard supervised CIFAR augmentation (He et al. 2016, with
    reflect padding). Shape: same."""
    return translate(x, sample_translate_params(x.shape[0], generator, padding), padding, mode)
