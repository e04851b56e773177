"""Per-image randomness for a whole batch: the draws every augmentation makes, and per-image selection.

Draws come from a `torch.Generator` (so a run repeats exactly) or, through `DeviceDefault`, from a device's
default generator (so torch.compile can trace them). Selection uses `torch.where`, never boolean-mask
indexing: no copy back to the host, no Python loop over images.
"""

from __future__ import annotations

import torch

Tensor = torch.Tensor


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


def uniform(generator, n: int, low: float, high: float) -> Tensor:
    """n floats uniform in [low, high). Shape: -> (n,)."""
    return low + (high - low) * torch.rand(n, generator=_gen(generator), device=_device(generator))


def bernoulli(generator, n: int, p: float) -> Tensor:
    """n coin flips, each True with probability p. Shape: -> (n,) bool."""
    return torch.rand(n, generator=_gen(generator), device=_device(generator)) < p


def randint(generator, n: int, high: int) -> Tensor:
    """n integers uniform in 0..high-1. Shape: -> (n,) int64."""
    return torch.randint(high, (n,), generator=_gen(generator), device=_device(generator))


def normal(generator, shape: tuple[int, ...]) -> Tensor:
    """Standard normal samples. Shape: -> shape."""
    return torch.randn(shape, generator=_gen(generator), device=_device(generator))


def per_image(values: Tensor, x: Tensor) -> Tensor:
    """Per-image numbers (B,) -> (B, 1, 1, 1) in x's device and dtype, to broadcast against x."""
    return values.to(device=x.device, dtype=x.dtype).view(-1, 1, 1, 1)


def select(mask: Tensor, if_true: Tensor, otherwise: Tensor) -> Tensor:
    """Per image: if_true where mask (B,) is set, otherwise elsewhere. No host sync, unlike x[mask]."""
    return torch.where(mask.to(if_true.device).view(-1, 1, 1, 1), if_true, otherwise)
