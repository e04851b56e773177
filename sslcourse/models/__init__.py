"""The course's backbones, built by name.

Every model takes float images (B, 3, 32, 32) in [0, 1] (it normalises them itself) and has
`forward_features(x) -> (B, feature_dim)` and `forward_head(h)`, as timm's models do.
"""

from __future__ import annotations

from torch import nn

from sslcourse.models.resnet import ResNet, resnet18
from sslcourse.models.vit import ViT, vit_tiny

MODELS = {"resnet18": resnet18, "vit_tiny": vit_tiny}

__all__ = ["MODELS", "ResNet", "ViT", "build_model", "count_parameters", "resnet18", "vit_tiny"]


def build_model(arch: str, **kw) -> nn.Module:
    """Build a registered model by name, e.g. `build_model("resnet18", width=0.25)`."""
    if arch not in MODELS:
        raise ValueError(f"unknown arch {arch!r}; valid ones: {', '.join(sorted(MODELS))}")
    return MODELS[arch](**kw)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """The number of parameters (buffers such as BN statistics are not counted)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
