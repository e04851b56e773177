"""Colour augmentations: what the pixels show. Brightness, contrast, saturation and hue jitter, dropping to
grey, and SimCLR's colour distortion that chains the two.

Each adjustment equals torchvision.transforms.v2.functional's op of the same name, per image (tests/test_augment.py
checks it). Shape: (B, C, H, W) floats in [0, 1].
"""

from __future__ import annotations

import torch

from sslcourse.augment.batch import bernoulli, per_image, select, uniform

Tensor = torch.Tensor


def luma(x: Tensor) -> Tensor:
    """Grey level (B, 1, H, W), with torchvision's weights (0.2989 is its rounding of ITU-R 601's 0.299)."""
    if x.shape[1] == 1:
        return x
    r, g, b = x.unbind(1)
    return (0.2989 * r + 0.587 * g + 0.114 * b).unsqueeze(1)


def _blend(x: Tensor, other: Tensor, factors: Tensor) -> Tensor:
    """factor * x + (1 - factor) * other, clamped to [0, 1] like torchvision after every step."""
    f = per_image(factors, x)
    return (f * x + (1 - f) * other).clamp(0, 1)


def adjust_brightness(x: Tensor, factors: Tensor) -> Tensor:
    """Scale by factor per image. Shape: (B, C, H, W), (B,) -> (B, C, H, W)."""
    return (x * per_image(factors, x)).clamp(0, 1)


def adjust_contrast(x: Tensor, factors: Tensor) -> Tensor:
    """Blend with the image's mean grey level. Shape: (B, C, H, W), (B,) -> (B, C, H, W)."""
    return _blend(x, luma(x).mean(dim=(1, 2, 3), keepdim=True), factors)


def adjust_saturation(x: Tensor, factors: Tensor) -> Tensor:
    """Blend with the grey image. Shape: (B, C, H, W), (B,) -> (B, C, H, W)."""
    return _blend(x, luma(x), factors)


def _rgb_to_hsv(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    r, g, b = x.unbind(1)
    value = x.amax(1)
    chroma = value - x.amin(1)
    has_hue = chroma > 0  # grey pixels have hue 0 and saturation 0; avoid dividing by zero there
    safe_chroma = torch.where(has_hue, chroma, 1)
    saturation = chroma / torch.where(has_hue, value, 1)
    hue = torch.where(
        value == r, (g - b) / safe_chroma, torch.where(value == g, (b - r) / safe_chroma + 2, (r - g) / safe_chroma + 4)
    )
    return (hue / 6) % 1, saturation, value


def _hsv_to_rgb(hue: Tensor, saturation: Tensor, value: Tensor) -> Tensor:
    # Channel n of (R, G, B) = (5, 3, 1): v * (1 - s * clamp(min(k, 4 - k), 0, 1)), k = (n + 6h) mod 6.
    n = torch.arange(5, 0, -2, device=hue.device, dtype=hue.dtype).view(1, 3, 1, 1)
    k = (n + 6 * hue.unsqueeze(1)) % 6
    return value.unsqueeze(1) * (1 - saturation.unsqueeze(1) * torch.minimum(k, 4 - k).clamp(0, 1))


def adjust_hue(x: Tensor, shifts: Tensor) -> Tensor:
    """Rotate the hue by shift (in turns, [-0.5, 0.5]) per image; grey (C = 1) images pass through.
    Computed in float32, as torchvision does. Shape: (B, C, H, W), (B,) -> (B, C, H, W)."""
    if x.shape[1] == 1:
        return x
    hue, saturation, value = _rgb_to_hsv(x.float())
    hue = (hue + shifts.to(x.device, torch.float32).view(-1, 1, 1)) % 1
    return _hsv_to_rgb(hue, saturation, value).to(x.dtype)


def sample_color_jitter_params(
    batch_size: int,
    generator,
    brightness: float = 0.4,
    contrast: float = 0.4,
    saturation: float = 0.4,
    hue: float = 0.1,
    p: float = 0.8,
):
    """Per-image jitter factors, and which images get jittered (probability p).

    Brightness, contrast, saturation factors uniform in [max(0, 1 - s), 1 + s], hue shift uniform in
    [-h, h], as torchvision's ColorJitter. Defaults: SimCLR's colour strength 0.5 for CIFAR-10
    (0.8 * 0.5 for the first three, 0.2 * 0.5 for hue), applied with p = 0.8.
    Shape: -> factors (batch_size, 4) float32, columns brightness, contrast, saturation, hue;
              applied (batch_size,) bool.
    """
    columns = [uniform(generator, batch_size, max(0.0, 1 - s), 1 + s) for s in (brightness, contrast, saturation)]
    columns.append(uniform(generator, batch_size, -hue, hue))
    return torch.stack(columns, dim=1), bernoulli(generator, batch_size, p)


def color_jitter(x: Tensor, factors: Tensor) -> Tensor:
    """Brightness, contrast, saturation, hue, in that fixed order (torchvision shuffles the order
    per call; a fixed order keeps the batch vectorised). Shape: (B, C, H, W), (B, 4) -> (B, C, H, W)."""
    brightness, contrast, saturation, hue = factors.unbind(1)
    x = adjust_brightness(x, brightness)
    x = adjust_contrast(x, contrast)
    x = adjust_saturation(x, saturation)
    return adjust_hue(x, hue)


def random_color_jitter(
    x: Tensor,
    generator,
    brightness: float = 0.4,
    contrast: float = 0.4,
    saturation: float = 0.4,
    hue: float = 0.1,
    p: float = 0.8,
) -> Tensor:
    """Colour jitter on a random fraction p of the images; the others are untouched. Shape: same."""
    factors, applied = sample_color_jitter_params(x.shape[0], generator, brightness, contrast, saturation, hue, p)
    return select(applied, color_jitter(x, factors), x)


def sample_color_drop_params(batch_size: int, generator, p: float = 0.2) -> Tensor:
    """Which images lose their colour, each with probability p (0.2, SimCLR). Shape: -> (batch_size,) bool."""
    return bernoulli(generator, batch_size, p)


def to_grayscale(x: Tensor) -> Tensor:
    """Grey image replicated to x's channels. Shape: (B, C, H, W) -> (B, C, H, W)."""
    return luma(x).expand_as(x).contiguous()


def color_drop(x: Tensor, drops: Tensor) -> Tensor:
    """Grey the images whose flag is set. Shape: (B, C, H, W), (B,) -> (B, C, H, W)."""
    return select(drops, to_grayscale(x), x)


def random_color_drop(x: Tensor, generator, p: float = 0.2) -> Tensor:
    """Random grayscale with probability p. Shape: same."""
    return color_drop(x, sample_color_drop_params(x.shape[0], generator, p))


def random_color(x: Tensor, generator, strength: float = 0.5, jitter_p: float = 0.8, drop_p: float = 0.2) -> Tensor:
    """SimCLR's colour distortion: jitter (0.8s, 0.8s, 0.8s, 0.2s) with p 0.8, then grey with p 0.2.
    Strength 0.5 is SimCLR's CIFAR-10 value (1.0 on ImageNet). Shape: same."""
    s = strength
    x = random_color_jitter(x, generator, 0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s, p=jitter_p)
    return random_color_drop(x, generator, drop_p)
