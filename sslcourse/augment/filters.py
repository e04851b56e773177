"""Pixel filters: additive Gaussian noise, Gaussian blur, and the Sobel edge map.

Each comes as sample_<op>_params / <op> / random_<op> (see `sslcourse.augment`). Shape: (B, C, H, W) floats.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sslcourse.augment.batch import bernoulli, normal, select, uniform
from sslcourse.augment.color import luma

Tensor = torch.Tensor


# --- noise -----------------------------------------------------------------------------------


def sample_noise_params(batch_size: int, generator, image_shape, max_std: float = 0.1):
    """Per-image noise level, uniform in [0, max_std], and the noise itself (level * N(0, 1)).
    0.1 is this course's choice: visible but mild on the [0, 1] scale (SimCLR's Figure 4 shows
    Gaussian noise without giving its level).
    Shape: -> stds (batch_size,), noise (batch_size, *image_shape)."""
    stds = uniform(generator, batch_size, 0, max_std)
    return stds, stds.view(-1, *[1] * len(image_shape)) * normal(generator, (batch_size, *image_shape))


def add_noise(x: Tensor, noise: Tensor) -> Tensor:
    """Add noise and clamp to [0, 1]. Shape: (B, C, H, W), (B, C, H, W) -> (B, C, H, W)."""
    return (x + noise.to(device=x.device, dtype=x.dtype)).clamp(0, 1)


def random_noise(x: Tensor, generator, max_std: float = 0.1) -> Tensor:
    """Additive Gaussian noise, per-image std uniform in [0, max_std]. Shape: same."""
    _, noise = sample_noise_params(x.shape[0], generator, x.shape[1:], max_std)
    return add_noise(x, noise)


# --- blur and Sobel --------------------------------------------------------------------------


def blur_kernel_size(side: int) -> int:
    """SimCLR's kernel side, 10% of the image side, made odd and at least 3 (3 on CIFAR, 23 on 224)."""
    k = max(3, round(0.1 * side))
    return k if k % 2 else k + 1


def sample_blur_params(batch_size: int, generator, sigma=(0.1, 2.0), p: float = 0.5):
    """Per-image sigma uniform in `sigma`, and which images get blurred (probability p); SimCLR's
    ImageNet values (it used no blur on CIFAR-10).
    Shape: -> sigmas (batch_size,), applied (batch_size,) bool."""
    return uniform(generator, batch_size, *sigma), bernoulli(generator, batch_size, p)


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
    return select(applied, gaussian_blur(x, sigmas, k), x)


def sobel(x: Tensor) -> Tensor:
    """Sobel edge magnitude of the grey image, scaled per image so its maximum is 1 (0 for a flat
    image), replicated to x's channels; SimCLR's study of augmentations (Figure 4).
    Shape: (B, C, H, W) -> (B, C, H, W)."""
    gray = F.pad(luma(x), (1, 1, 1, 1), mode="reflect")
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
