"""Batched image augmentations for self-supervised learning, on any device.

Every augmentation transforms a whole batch of float images (B, C, H, W) in [0, 1] at once, with
its own random parameters for every image, drawn from a `torch.Generator` so that a run can be
repeated exactly. The training engine keeps CIFAR-10 on the GPU as uint8 and augments it there,
so the code is written for GPUs: no Python loop over images, no copy back to the host (`.item()`,
boolean-mask indexing), per-image choices made with `torch.where`. Inputs are never modified.

Each random op comes in three parts, so that a notebook (or a test) can look at the parameters:
    sample_<op>_params(batch_size, generator, ...)  -> per-image parameters (on the generator's device)
    <op>(x, params, ...)                            -> the deterministic transform
    random_<op>(x, generator, ...)                  -> the two composed

Defaults follow SimCLR (Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual
Representations", Appendix A), with its CIFAR-10 settings (Appendix B.9: colour strength 0.5, no
blur) and the crop scale (0.2, 1) of popular CIFAR recipes. No mean/std normalisation here: the
models do that themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


# --- helpers ---------------------------------------------------------------------------------


def to_float(x: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    """uint8 images in 0..255 -> floats in [0, 1]. Shape: any -> same."""
    return x.to(dtype) / 255


class DeviceDefault:
    """Draw from `device`'s default generator (the one `torch.manual_seed` seeds) instead of a `torch.Generator`.

    torch.compile cannot trace draws from a Generator object, but it traces these into its graph (as random
    kernels a CUDA graph can replay), so a compiled training step keeps its augmentation inside the graph.
    `Augment(x, None)` uses this for x's device."""

    def __init__(self, device: torch.device | str):
        self.device = torch.device(device)


def _device(generator) -> torch.device:
    # A generator fills tensors on its own device only; None means torch's default CPU generator.
    return generator.device if generator is not None else torch.device("cpu")


def _gen(generator) -> torch.Generator | None:
    """The `generator=` argument for torch's random functions: None for a device's default generator."""
    return None if isinstance(generator, DeviceDefault) else generator


def _uniform(generator, n: int, low: float, high: float) -> Tensor:
    return low + (high - low) * torch.rand(n, generator=_gen(generator), device=_device(generator))


def _bernoulli(generator, n: int, p: float) -> Tensor:
    return torch.rand(n, generator=_gen(generator), device=_device(generator)) < p


def _randint(generator, n: int, high: int) -> Tensor:
    """n integers uniform in 0..high-1."""
    return torch.randint(high, (n,), generator=_gen(generator), device=_device(generator))


def _per_image(values: Tensor, x: Tensor) -> Tensor:
    """Per-image numbers (B,) -> (B, 1, 1, 1) in x's device and dtype, to broadcast against x."""
    return values.to(device=x.device, dtype=x.dtype).view(-1, 1, 1, 1)


def _select(mask: Tensor, if_true: Tensor, otherwise: Tensor) -> Tensor:
    """Per image: if_true where mask (B,) is set, otherwise elsewhere. No host sync, unlike x[mask]."""
    return torch.where(mask.to(if_true.device).view(-1, 1, 1, 1), if_true, otherwise)


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
    area = _uniform(generator, batch_size, *scale) * (height * width)
    aspect = torch.exp(_uniform(generator, batch_size, math.log(ratio[0]), math.log(ratio[1])))
    w = torch.sqrt(area * aspect).round().clamp(1, width)
    h = torch.sqrt(area / aspect).round().clamp(1, height)
    # floor(u * (number of places)); the clamp guards against float rounding u * n up to n
    top = torch.minimum((_uniform(generator, batch_size, 0, 1) * (height - h + 1)).floor(), height - h)
    left = torch.minimum((_uniform(generator, batch_size, 0, 1) * (width - w + 1)).floor(), width - w)
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
    return _bernoulli(generator, batch_size, p)


def hflip(x: Tensor, flips: Tensor) -> Tensor:
    """Mirror left-right the images whose flag is set. Shape: (B, C, H, W), (B,) -> (B, C, H, W)."""
    return _select(flips, x.flip(-1), x)


def random_flip(x: Tensor, generator, p: float = 0.5) -> Tensor:
    """Horizontal flip with probability p. Shape: (B, C, H, W) -> same."""
    return hflip(x, sample_flip_params(x.shape[0], generator, p))


# --- colour ----------------------------------------------------------------------------------
# Each adjustment equals torchvision.transforms.v2.functional's op of the same name, per image.


def _grayscale(x: Tensor) -> Tensor:
    """Luma (B, 1, H, W), with torchvision's weights (0.2989 is its rounding of ITU-R 601's 0.299)."""
    if x.shape[1] == 1:
        return x
    r, g, b = x.unbind(1)
    return (0.2989 * r + 0.587 * g + 0.114 * b).unsqueeze(1)


def _blend(x: Tensor, other: Tensor, factors: Tensor) -> Tensor:
    """factor * x + (1 - factor) * other, clamped to [0, 1] like torchvision after every step."""
    f = _per_image(factors, x)
    return (f * x + (1 - f) * other).clamp(0, 1)


def adjust_brightness(x: Tensor, factors: Tensor) -> Tensor:
    """Scale by factor per image. Shape: (B, C, H, W), (B,) -> (B, C, H, W)."""
    return (x * _per_image(factors, x)).clamp(0, 1)


def adjust_contrast(x: Tensor, factors: Tensor) -> Tensor:
    """Blend with the image's mean grey level. Shape: (B, C, H, W), (B,) -> (B, C, H, W)."""
    return _blend(x, _grayscale(x).mean(dim=(1, 2, 3), keepdim=True), factors)


def adjust_saturation(x: Tensor, factors: Tensor) -> Tensor:
    """Blend with the grey image. Shape: (B, C, H, W), (B,) -> (B, C, H, W)."""
    return _blend(x, _grayscale(x), factors)


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
    columns = [_uniform(generator, batch_size, max(0.0, 1 - s), 1 + s) for s in (brightness, contrast, saturation)]
    columns.append(_uniform(generator, batch_size, -hue, hue))
    return torch.stack(columns, dim=1), _bernoulli(generator, batch_size, p)


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
    return _select(applied, color_jitter(x, factors), x)


def sample_color_drop_params(batch_size: int, generator, p: float = 0.2) -> Tensor:
    """Which images lose their colour, each with probability p (0.2, SimCLR). Shape: -> (batch_size,) bool."""
    return _bernoulli(generator, batch_size, p)


def to_grayscale(x: Tensor) -> Tensor:
    """Grey image replicated to x's channels. Shape: (B, C, H, W) -> (B, C, H, W)."""
    return _grayscale(x).expand_as(x).contiguous()


def color_drop(x: Tensor, drops: Tensor) -> Tensor:
    """Grey the images whose flag is set. Shape: (B, C, H, W), (B,) -> (B, C, H, W)."""
    return _select(drops, to_grayscale(x), x)


def random_color_drop(x: Tensor, generator, p: float = 0.2) -> Tensor:
    """Random grayscale with probability p. Shape: same."""
    return color_drop(x, sample_color_drop_params(x.shape[0], generator, p))


def random_color(x: Tensor, generator, strength: float = 0.5, jitter_p: float = 0.8, drop_p: float = 0.2) -> Tensor:
    """SimCLR's colour distortion: jitter (0.8s, 0.8s, 0.8s, 0.2s) with p 0.8, then grey with p 0.2.
    Strength 0.5 is SimCLR's CIFAR-10 value (1.0 on ImageNet). Shape: same."""
    s = strength
    x = random_color_jitter(x, generator, 0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s, p=jitter_p)
    return random_color_drop(x, generator, drop_p)


# --- rotation, cutout, noise -----------------------------------------------------------------


def sample_rotation_params(batch_size: int, generator) -> Tensor:
    """Quarter turns k in {1, 2, 3} (90, 180, 270 degrees), uniform, as in SimCLR's study of
    augmentations (Figure 4). Shape: -> (batch_size,) int64."""
    return 1 + _randint(generator, batch_size, 3)


def rotate90(x: Tensor, turns: Tensor) -> Tensor:
    """Rotate every image by its number of quarter turns (torch.rot90's direction).
    Shape: (B, C, S, S), (B,) -> (B, C, S, S); non-square images raise ValueError."""
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"rotate needs square images, got shape {tuple(x.shape)}")
    out = x
    for k in (1, 2, 3):  # rotate the whole batch three ways and keep, per image, the one it drew
        out = _select(turns == k, torch.rot90(x, k, dims=(2, 3)), out)
    return out


def random_rotate(x: Tensor, generator) -> Tensor:
    """Random rotation by 90, 180 or 270 degrees. Shape: same (square images)."""
    return rotate90(x, sample_rotation_params(x.shape[0], generator))


def sample_cutout_params(batch_size: int, generator, height: int, width: int) -> Tensor:
    """Square centres (row, column), uniform over the pixels. Shape: -> (batch_size, 2) int64."""
    rows, cols = _randint(generator, batch_size, height), _randint(generator, batch_size, width)
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


def sample_noise_params(batch_size: int, generator, image_shape, max_std: float = 0.1):
    """Per-image noise level, uniform in [0, max_std], and the noise itself (level * N(0, 1)).
    0.1 is this course's choice: visible but mild on the [0, 1] scale (SimCLR's Figure 4 shows
    Gaussian noise without giving its level).
    Shape: -> stds (batch_size,), noise (batch_size, *image_shape)."""
    stds = _uniform(generator, batch_size, 0, max_std)
    normal = torch.randn((batch_size, *image_shape), generator=_gen(generator), device=_device(generator))
    return stds, stds.view(-1, *[1] * len(image_shape)) * normal


def add_noise(x: Tensor, noise: Tensor) -> Tensor:
    """Add noise and clamp to [0, 1]. Shape: (B, C, H, W), (B, C, H, W) -> (B, C, H, W)."""
    return (x + noise.to(device=x.device, dtype=x.dtype)).clamp(0, 1)


def random_noise(x: Tensor, generator, max_std: float = 0.1) -> Tensor:
    """Additive Gaussian noise, per-image std uniform in [0, max_std]. Shape: same."""
    _, noise = sample_noise_params(x.shape[0], generator, x.shape[1:], max_std)
    return add_noise(x, noise)


# --- filters: blur and Sobel -----------------------------------------------------------------


def blur_kernel_size(side: int) -> int:
    """SimCLR's kernel side, 10% of the image side, made odd and at least 3 (3 on CIFAR, 23 on 224)."""
    k = max(3, round(0.1 * side))
    return k if k % 2 else k + 1


def sample_blur_params(batch_size: int, generator, sigma=(0.1, 2.0), p: float = 0.5):
    """Per-image sigma uniform in `sigma`, and which images get blurred (probability p); SimCLR's
    ImageNet values (it used no blur on CIFAR-10).
    Shape: -> sigmas (batch_size,), applied (batch_size,) bool."""
    return _uniform(generator, batch_size, *sigma), _bernoulli(generator, batch_size, p)


def gaussian_blur(x: Tensor, sigmas: Tensor, kernel_size: int) -> Tensor:
    """Gaussian blur with a per-image sigma, reflect padding, as torchvision's gaussian_blur.

    Separable: a horizontal then a vertical pass. Every channel of every image becomes its own
    plane of one big image, so a single grouped convolution applies all the kernels at once.
    Shape: (B, C, H, W), (B,) -> (B, C, H, W).
    """
    B, C, H, W = x.shape
    half = kernel_size // 2
    offsets = torch.arange(-half, half + 1, device=x.device, dtype=torch.float32)
    kernels = torch.exp(-0.5 * (offsets / sigmas.to(x.device, torch.float32).view(-1, 1)) ** 2)
    kernels = (kernels / kernels.sum(1, keepdim=True)).to(x.dtype).repeat_interleave(C, dim=0)  # (B*C, k)
    planes = F.pad(x.reshape(1, B * C, H, W), (half, half, half, half), mode="reflect")
    planes = F.conv2d(planes, kernels.view(B * C, 1, 1, kernel_size), groups=B * C)
    planes = F.conv2d(planes, kernels.view(B * C, 1, kernel_size, 1), groups=B * C)
    return planes.view(B, C, H, W)


def random_blur(x: Tensor, generator, sigma=(0.1, 2.0), p: float = 0.5, kernel_size: int | None = None) -> Tensor:
    """Gaussian blur with probability p; kernel side from blur_kernel_size unless given. Shape: same."""
    sigmas, applied = sample_blur_params(x.shape[0], generator, sigma, p)
    k = kernel_size or blur_kernel_size(min(x.shape[-2:]))
    return _select(applied, gaussian_blur(x, sigmas, k), x)


def sobel(x: Tensor) -> Tensor:
    """Sobel edge magnitude of the grey image, scaled per image so its maximum is 1 (0 for a flat
    image), replicated to x's channels; SimCLR's study of augmentations (Figure 4).
    Shape: (B, C, H, W) -> (B, C, H, W)."""
    gray = F.pad(_grayscale(x), (1, 1, 1, 1), mode="reflect")
    # Sobel = central difference along one axis, smoothed by (1, 2, 1) along the other.
    dx = gray[..., 2:] - gray[..., :-2]
    dy = gray[..., 2:, :] - gray[..., :-2, :]
    gx = dx[..., :-2, :] + 2 * dx[..., 1:-1, :] + dx[..., 2:, :]
    gy = dy[..., :-2] + 2 * dy[..., 1:-1] + dy[..., 2:]
    magnitude = torch.sqrt(gx**2 + gy**2)
    peak = magnitude.amax(dim=(1, 2, 3), keepdim=True)
    return (magnitude / torch.where(peak > 0, peak, 1)).expand_as(x).contiguous()


def random_sobel(x: Tensor, generator=None) -> Tensor:
    """Sobel filtering; deterministic, the generator is accepted for a uniform interface. Shape: same."""
    return sobel(x)


# --- translate: the supervised CIFAR augmentation ----------------------------------------------


def sample_translate_params(batch_size: int, generator, padding: int = 4) -> Tensor:
    """Crop offsets (row, column) into the padded image, uniform in 0..2*padding.
    Shape: -> (batch_size, 2) int64."""
    return torch.stack(
        (_randint(generator, batch_size, 2 * padding + 1), _randint(generator, batch_size, 2 * padding + 1)), dim=1
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


# --- registry and pipelines ------------------------------------------------------------------

AUGMENTATIONS: dict[str, Callable[..., Tensor]] = {
    "crop": random_crop,
    "flip": random_flip,
    "color_jitter": random_color_jitter,
    "color_drop": random_color_drop,
    "color": random_color,
    "rotate": random_rotate,
    "cutout": random_cutout,
    "noise": random_noise,
    "blur": random_blur,
    "sobel": random_sobel,
    "translate": random_translate,
}


class Augment:
    """A chain of named augmentations, called as augment(x, generator); uint8 input becomes float first.

    With a `torch.Generator` the chain runs eagerly even inside torch.compile (draws from a Generator object
    cannot be traced); with `generator=None` it draws from the default generator of x's device and compiles
    into the caller's graph (the whole-step compilation of `sslcourse.train`)."""

    def __init__(self, steps: list[tuple[str, dict]]):
        self.steps = steps  # (name, keyword arguments) pairs, applied in order
        self._eager = None  # the chain behind torch.compiler.disable, made at first use (importing torch._dynamo
        # costs a second: `python -m sslcourse list` should not pay it)

    def __call__(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        if generator is None or isinstance(generator, DeviceDefault):
            return self._apply(x, generator if generator is not None else DeviceDefault(x.device))
        if self._eager is None:
            self._eager = torch.compiler.disable(self._apply)
        return self._eager(x, generator)

    def _apply(self, x: Tensor, generator) -> Tensor:
        if x.dtype == torch.uint8:
            x = to_float(x)
        for name, kwargs in self.steps:
            x = AUGMENTATIONS[name](x, generator, **kwargs)
        return x

    def __repr__(self) -> str:
        def step(name, kwargs):
            return name + (f"({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})" if kwargs else "")

        return f"Augment({' -> '.join(step(*s) for s in self.steps)})"


def compose(names, **overrides) -> Augment:
    """Chain AUGMENTATIONS by name; overrides give an op keyword arguments by its name, e.g.
    compose(["crop", "flip"], crop=dict(scale=(0.08, 1.0)))."""
    names = [names] if isinstance(names, str) else list(names)
    unknown = [n for n in [*names, *overrides] if n not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"unknown augmentation(s) {unknown}; valid names: {', '.join(AUGMENTATIONS)}")
    unused = [n for n in overrides if n not in names]
    if unused:
        raise ValueError(f"overrides given for {unused}, which are not in the pipeline {names}")
    return Augment([(n, dict(overrides.get(n, {}))) for n in names])


def simclr_pipeline(size: int = 32) -> Augment:
    """SimCLR on CIFAR-10: crop (scale 0.2-1) -> flip -> colour (jitter 0.4/0.4/0.4/0.1 p 0.8, grey p 0.2)."""
    return compose(
        ["crop", "flip", "color"],
        crop=dict(size=size, scale=(0.2, 1.0)),
        color=dict(strength=0.5, jitter_p=0.8, drop_p=0.2),
    )


def supervised_pipeline() -> Augment:
    """The standard supervised CIFAR recipe: pad 4 and random crop, then flip."""
    return compose(["translate", "flip"])
