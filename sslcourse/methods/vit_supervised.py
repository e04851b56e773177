"""A ViT trained with the labels: from scratch (the baseline MAE is measured against), or from an MAE encoder.

The same `Supervised` method as the ResNet baseline, with a ViT's usual optimiser (AdamW, weight decay
0.05, as the MAE paper fine-tunes) and random resized crops, since ViTs, lacking a convolution's
built-in locality, need stronger augmentation than pad-and-crop on small data.
"""

from __future__ import annotations

from sslcourse import augment
from sslcourse.methods import register
from sslcourse.methods.supervised import Supervised
from sslcourse.models import build_model
from sslcourse.train import TrainConfig

RECIPE = TrainConfig(
    epochs=100,
    batch_size=512,
    optimizer="adamw",
    lr=1e-3,  # 5e-4 per 256 images: the MAE paper's fine-tuning base rate (its Table 9)
    betas=(0.9, 0.999),  # the paper's Table 9 (fine-tuning)
    weight_decay=0.05,
    warmup=0.05,
)


@register("vit_supervised", RECIPE, "ViT-Tiny trained with the labels (from scratch, or fine-tuning MAE)")
def build(arch: str = "vit_tiny", num_classes: int = 10, label_smoothing: float = 0.1, **arch_kwargs) -> Supervised:
    if arch != "vit_tiny":
        raise ValueError(f"vit_supervised trains a ViT: pass --arch vit_tiny (got {arch!r})")
    method = Supervised(build_model(arch, num_classes=num_classes, **arch_kwargs), label_smoothing)
    method.augment = augment.compose(["crop", "flip"], crop=dict(size=32, scale=(0.35, 1.0)))
    return method
