"""Which device to compute on, and seeding everything that draws random numbers."""

from __future__ import annotations

import contextlib
import os
import random
from dataclasses import dataclass

import numpy as np
import torch


def pick_device(prefer: str | None = None, verbose: bool = True) -> torch.device:
    """CUDA if present, then Apple's MPS, then the CPU; or `prefer` ('cuda', 'mps', 'cpu', 'cuda:1').

    Asking for a device this machine lacks raises a ValueError that says what it has.
    """
    available = ["cpu"]
    if torch.backends.mps.is_available():
        available.insert(0, "mps")
    if torch.cuda.is_available():
        available.insert(0, "cuda")
    if prefer is None or prefer == "auto":
        device = torch.device(available[0])
    else:
        device = torch.device(prefer)
        if device.type not in available:
            raise ValueError(
                f"device {prefer!r} is not available on this machine; available: {', '.join(available)}. "
                "Pass device='auto' (or leave it out) to take the best one."
            )
    if verbose:
        print(f"sslcourse: computing on {describe(device)}")
    return device


def describe(device: torch.device) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices); returns a CPU generator seeded the same way."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


# --------------------------------------------------------------------------- mixed precision
@dataclass(frozen=True)
class Precision:
    """How a step computes on a device: `dtype` for autocast (None: plain float32), and whether the
    gradients need a scaler (float16's narrow range lets small gradients underflow to 0; bfloat16's
    does not). One rule for training and evaluation: `precision_for`."""

    dtype: torch.dtype | None = None
    scale_gradients: bool = False

    @property
    def name(self) -> str:
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]

    def autocast(self, device: torch.device):
        """The autocast context for `device` (a no-op for float32)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(torch.device(device).type, dtype=self.dtype)

    def grad_scaler(self, device: torch.device) -> torch.amp.GradScaler:
        """A gradient scaler, enabled only where it is needed (float16); disabled, it passes calls through."""
        return torch.amp.GradScaler(torch.device(device).type, enabled=self.scale_gradients)


FP32 = Precision()
BF16 = Precision(torch.bfloat16)
FP16 = Precision(torch.float16, scale_gradients=True)


def precision_for(device: torch.device | str, capability: tuple[int, int] | None = None) -> Precision:
    """The course's rule: bf16 autocast on CUDA GPUs with bf16 units (compute capability 8.0 and later:
    Ampere, Hopper), fp16 with a gradient scaler on older ones (Colab's free T4 is 7.5), plain float32
    on the CPU and on Apple's MPS (whose mixed precision gains little for these small models).
    `capability` overrides what the GPU reports (tests)."""
    device = torch.device(device)
    if device.type != "cuda":
        return FP32
    major, _ = capability if capability is not None else torch.cuda.get_device_capability(device)
    return BF16 if major >= 8 else FP16


def grading_mode() -> bool:
    """True while the course's grader runs this notebook for its status (it sets SSLCOURSE_GRADING=1): the
    cells that train live or run long studies then use their shipped results or a token run, so that a
    submission is graded in seconds. Nothing a student sees in their own session changes."""
    return os.environ.get("SSLCOURSE_GRADING") == "1"
