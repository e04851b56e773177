"""Which device to compute on, and seeding everything that draws random numbers."""

from __future__ import annotations

import os
import random

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


def grading_mode() -> bool:
    """True while the course's grader runs this notebook for its status (it sets SSLCOURSE_GRADING=1): the
    cells that train live or run long studies then use their shipped results or a token run, so that a
    submission is graded in seconds. Nothing a student sees in their own session changes."""
    return os.environ.get("SSLCOURSE_GRADING") == "1"
