"""SimCLR (Chen, Kornblith, Norouzi, Hinton, ICML 2020): two augmented views of an image should agree.

Pipeline per batch: two random views of every image -> backbone -> h (the representation used for
evaluation) -> projection head -> z -> NT-Xent loss. The head's input, not its output, is what transfers
(the paper's Section 4.2), so probes read `backbone.forward_features`, never `projector`; `HeadOutput`
exists only to measure that claim.
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

HEADS = ("mlp", "linear", "none")  # the three heads of the paper's Figure 8


def nt_xent_loss(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """Normalised-temperature cross-entropy over the 2B views, mean over all 2B anchors.

    Shape: z1, z2 (B, D) -> scalar. View i's positive is the other view of the same image; the
    2B - 2 views of other images are its negatives.
    """
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)  # (2B, D)
    sim = z @ z.T / temperature  # (2B, 2B) cosine similarities over the temperature
    sim.fill_diagonal_(float("-inf"))  # a view is not its own positive nor negative
    b = len(z1)
    positives = torch.cat([torch.arange(b, 2 * b), torch.arange(0, b)]).to(z.device)
    return F.cross_entropy(sim, positives)


def projection_head(in_dim: int, kind: str = "mlp", hidden_dim: int = 2048, out_dim: int = 128) -> nn.Module:
    """The head g(h) = z. 'mlp': Linear-BN-ReLU-Linear (the paper's Section 4.2, BN as in its code);
    'linear': one Linear layer; 'none': z = h.
    Shape: (B, in_dim) -> (B, out_dim), or (B, in_dim) for 'none'."""
    if kind == "mlp":
        return nn.Sequential(
            nn.Linear(in_dim, hidden_dim, bias=False),
            nn.BatchNorm1d(hidden_dim),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, out_dim),
        )
    if kind == "linear":
        return nn.Linear(in_dim, out_dim)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"head must be one of {HEADS}, got {kind!r}")


class SimCLR(nn.Module):
    """Backbone + projection head, trained with `loss_fn(z1, z2, temperature)` on two views per image.

    `augmentation(x, generator)` makes one view of a batch (default: `augment.simclr_pipeline()`);
    `second_view` makes the other one (default: the same augmentation; `augment.compose([])` leaves that branch
    the identity, the protocol of the paper's Figure 5). `loss_fn` is swappable, so a student's NT-Xent trains
    the model as it is.
    """

    def __init__(
        self,
        backbone: nn.Module,
        proj_dim: int = 128,
        temperature: float = 0.2,
        loss_fn=nt_xent_loss,
        augmentation=None,
        hidden_dim: int = 2048,
        head: str = "mlp",
        second_view=None,
    ):
        super().__init__()
        self.backbone = backbone
        # A wide hidden layer is nearly free at this size and helps short runs (solo-learn's CIFAR recipe
        # uses 2048).
        self.projector = projection_head(backbone.feature_dim, head, hidden_dim, proj_dim)
        self.temperature = temperature
        self.loss_fn = loss_fn
        self.augment = augmentation or augment.simclr_pipeline()
        self.second_view = second_view or self.augment

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Shape: (B, 3, H, W) float in [0, 1] -> z (B, proj_dim)."""
        return self.projector(self.backbone.forward_features(x))

    def training_loss(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        views = torch.cat([self.augment(x, generator), self.second_view(x, generator)])  # (2B, C, H, W)
        z = self(device_layout(views))
        z1, z2 = z.float().chunk(2)
        # The loss in full precision, whoever wrote it: under bf16 autocast `z @ z.T` would run in bf16 even on
        # fp32 inputs, and its 8-bit mantissa rounds each cosine by up to 0.004, i.e. 0.02 in logits at T = 0.2:
        # as large as the gaps between hard negatives that the loss is there to learn from.
        with torch.autocast(z.device.type, enabled=False):
            return self.loss_fn(z1, z2, self.temperature)


class HeadOutput(nn.Module):
    """A trained SimCLR seen through its projection head: `forward_features(x)` is z, not h, so the
    probes of `sslcourse.evaluate` can measure what the head throws away (the paper's Section 4.2).
    Shape: forward_features (B, 3, H, W) -> (B, feature_dim)."""

    def __init__(self, simclr: SimCLR):
        super().__init__()
        self.simclr = simclr
        last = [m for m in simclr.projector.modules() if isinstance(m, nn.Linear)]
        self.feature_dim = last[-1].out_features if last else simclr.backbone.feature_dim

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.simclr(x)


def pair_augmentation(first: str, second: str | None = None, **overrides) -> augment.Augment:
    """One view = `first` then `second` (one op when they are equal or `second` is None), the cells of the
    paper's Figure 5; e.g. pair_augmentation("crop", "color"). `overrides` as in `augment.compose`."""
    names = [first] if second in (None, first) else [first, second]
    return augment.compose(names, **{k: v for k, v in overrides.items() if k in names})


@register("simclr", RECIPE, "SimCLR: contrastive learning between two augmented views (NT-Xent)")
def build(
    arch: str = "resnet18",
    proj_dim: int = 128,
    temperature: float = 0.2,
    head: str = "mlp",
    augmentations: list[str] | None = None,
    **arch_kwargs,
) -> SimCLR:
    """SimCLR on a registered backbone. `augmentations`: names for `augment.compose`, applied in order to
    make each view (default: the CIFAR-10 pipeline crop -> flip -> colour)."""
    augmentation = augment.compose(augmentations) if augmentations else None
    return SimCLR(build_model(arch, **arch_kwargs), proj_dim, temperature, augmentation=augmentation, head=head)
