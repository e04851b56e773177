"""SimCLR (Chen, Kornblith, Norouzi, Hinton, ICML 2020): two augmented views of an image should agree.

Pipeline per batch: two random views of every image -> backbone -> h (the representation used for
evaluation) -> projection head -> z -> NT-Xent loss. The head's input, not its output, is what transfers
(the paper's Section 4.2), so probes read `backbone.forward_features`, never `projector`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sslcourse import augment
from sslcourse.methods import register
from sslcourse.models import build_model
from sslcourse.train import TrainConfig, device_layout

RECIPE = TrainConfig(
    epochs=200,
    batch_size=512,  # 512 pairs = 1024 views a step
    optimizer="sgd",
    lr=0.3,  # plain SGD with Nesterov momentum; the paper's LARS matters for batches of thousands
    momentum=0.9,
    weight_decay=5e-4,  # CIFAR-10 in the paper's Appendix B.9 uses 1e-6 with LARS; 5e-4 suits SGD
    warmup=0.05,
)


def nt_xent_loss(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """Normalised-temperature cross-entropy over the 2B views, mean over all 2B anchors.

    Shape: z1, z2 (B, D) -> scalar. View i's positive is the other view of the same image; the
    2B - 2 views of other images are its negatives.
    """
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)  # (2B, D); fp32 so 1/temperature cannot overflow bf16
    sim = z @ z.T / temperature  # (2B, 2B) cosine similarities over the temperature
    sim.fill_diagonal_(float("-inf"))  # a view is not its own positive nor negative
    b = len(z1)
    positives = torch.cat([torch.arange(b, 2 * b), torch.arange(0, b)]).to(z.device)
    return F.cross_entropy(sim, positives)


class SimCLR(nn.Module):
    def __init__(self, backbone: nn.Module, proj_dim: int = 128, temperature: float = 0.2,
                 loss_fn=nt_xent_loss, augmentation=None, hidden_dim: int = 2048):
        super().__init__()
        self.backbone = backbone
        d = backbone.feature_dim
        # Non-linear head (the paper's Section 4.2), BN as in the paper's code; a wide hidden layer is
        # nearly free at this size and helps short runs (solo-learn's CIFAR recipe uses 2048).
        self.projector = nn.Sequential(nn.Linear(d, hidden_dim, bias=False), nn.BatchNorm1d(hidden_dim),
                                       nn.ReLU(inplace=True), nn.Linear(hidden_dim, proj_dim))
        self.temperature = temperature
        self.loss_fn = loss_fn
        self.augment = augmentation or augment.simclr_pipeline()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.backbone.forward_features(x))

    def training_loss(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        views = torch.cat([self.augment(x, generator), self.augment(x, generator)])  # (2B, C, H, W)
        z = self(device_layout(views))
        z1, z2 = z.chunk(2)
        return self.loss_fn(z1, z2, self.temperature)


@register("simclr", RECIPE, "SimCLR: contrastive learning between two augmented views (NT-Xent)")
def build(arch: str = "resnet18", proj_dim: int = 128, temperature: float = 0.2, **arch_kwargs) -> SimCLR:
    return SimCLR(build_model(arch, **arch_kwargs), proj_dim, temperature)
