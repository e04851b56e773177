"""Context prediction (Doersch, Gupta, Efros, ICCV 2015): where does patch B sit relative to patch A?

Pipeline per batch, the paper's Figure 3 at CIFAR scale:
    upsample: 32x32 images -> 64x64 (a 3x3 grid of 16-px patches with 4-px gaps and 2-px jitter needs
              60 px; at 32 px such patches would be 8 px, two pixels of gap, too small to hold an object part)
    sample_patch_pairs: per image, a random grid, its centre patch and one of its 8 neighbours (the label)
    colour: project out the green-magenta axis (or pass RGB through)
    pair network: one shared backbone on both patches, features concatenated, an MLP to 8 logits
The cures against shortcuts are arguments: the gap and the jitter stop a network from continuing lines and
textures across the patch border; the projection (or colour dropping, `context_shortcuts.colour_drop`) stops
it from reading a patch's place in the whole image from chromatic aberration. `sample_patch_pair` and
`remove_green_magenta` are the notebook's exercises.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sslcourse import augment
from sslcourse.methods import register
from sslcourse.models import build_model
from sslcourse.train import TrainConfig, device_layout

RECIPE = TrainConfig(  # as `sslcourse.experiments.context` trains it
    epochs=100,
    batch_size=256,  # 256 pairs = 512 patches a step
    optimizer="adamw",  # robust over the very different lengths of a CPU run (minutes) and a GPU run (hours)
    lr=2e-3,
    betas=(0.9, 0.999),
    weight_decay=0.05,
    warmup=0.05,
)

# The 8 neighbours as (row, column) steps from the centre, in label order: row-major, the centre skipped.
OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))
# The green-magenta axis (the paper's Section 3.1): green against the mean of red and blue.
GREEN_MAGENTA = (-1.0, 2.0, -1.0)


def grid_side(patch: int, gap: int, jitter: int) -> int:
    """Pixels a 3x3 grid needs, jitter margins included: 3 * patch + 2 * gap + 2 * jitter."""
    return 3 * patch + 2 * gap + 2 * jitter


def _check_fits(height: int, width: int, patch: int, gap: int, jitter: int) -> None:
    need = grid_side(patch, gap, jitter)
    if min(height, width) < need or patch < 1 or gap < 0 or jitter < 0:
        raise ValueError(
            f"a 3x3 grid of {patch}-px patches with gap {gap} and jitter {jitter} needs "
            f"3*{patch} + 2*{gap} + 2*{jitter} = {need} px, but the image is {height}x{width}: "
            "upsample the image, or use smaller patches, gap or jitter"
        )


# --------------------------------------------------------------------------- the exercises' references
def sample_patch_pair(image: torch.Tensor, patch: int, gap: int, jitter: int, generator: torch.Generator | None = None):
    """One training example: the centre patch of a randomly placed 3x3 grid, one of its 8 neighbours, and
    the neighbour's label (0 top-left, 1 top, 2 top-right, 3 left, 4 right, 5 bottom-left, 6 bottom,
    7 bottom-right). Patches are `patch + gap` apart; each moves by its own jitter in [-jitter, jitter].

    Shape: (C, H, W) -> center (C, patch, patch), neighbor (C, patch, patch), label int.
    """
    _, H, W = image.shape
    _check_fits(H, W, patch, gap, jitter)
    step, span = patch + gap, 3 * patch + 2 * gap

    def draw(low: int, high: int) -> int:  # an integer in [low, high], both included
        return int(torch.randint(low, high + 1, (1,), generator=generator))

    top, left = draw(jitter, H - span - jitter), draw(jitter, W - span - jitter)  # the grid's corner
    label = draw(0, 7)
    dr, dc = OFFSETS[label]
    cy, cx = top + step + draw(-jitter, jitter), left + step + draw(-jitter, jitter)
    ny, nx = top + (1 + dr) * step + draw(-jitter, jitter), left + (1 + dc) * step + draw(-jitter, jitter)
    return image[:, cy : cy + patch, cx : cx + patch], image[:, ny : ny + patch, nx : nx + patch], label


def remove_green_magenta(image: torch.Tensor) -> torch.Tensor:
    """Project every pixel's RGB onto the plane orthogonal to a = [-1, 2, -1]: rgb @ (I - a^T a / (a a^T)).

    B is symmetric, so multiplying on either side is the same. Shape: (3, H, W) or (B, 3, H, W), unchanged.
    """
    if image.shape[-3] != 3:
        raise ValueError(f"expected RGB images (..., 3, H, W), got {tuple(image.shape)}")
    a = torch.tensor(GREEN_MAGENTA, dtype=image.dtype, device=image.device)[None]  # (1, 3)
    proj = torch.eye(3, dtype=image.dtype, device=image.device) - a.T @ a / (a @ a.T)  # (3, 3)
    return torch.einsum("ij,...jhw->...ihw", proj, image)


# --------------------------------------------------------------------------- batched sampling, on the device
def crop_patches(images: torch.Tensor, tops: torch.Tensor, lefts: torch.Tensor, patch: int) -> torch.Tensor:
    """One patch per image at (tops[b], lefts[b]). Shape: (B, C, H, W), (B,), (B,) -> (B, C, patch, patch)."""
    B = len(images)
    ar = torch.arange(patch, device=images.device)
    rows = (tops[:, None] + ar)[:, :, None]  # (B, P, 1)
    cols = (lefts[:, None] + ar)[:, None, :]  # (B, 1, P)
    batch = torch.arange(B, device=images.device)[:, None, None]
    return images.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)  # (B, P, P, C) -> (B, C, P, P)


def sample_patch_pairs(
    images: torch.Tensor,
    patch: int,
    gap: int,
    jitter: int,
    generator: torch.Generator | None = None,
    labels: torch.Tensor | None = None,
):
    """`sample_patch_pair` for a whole batch at once, every random number drawn on the images' device.
    `labels` fixes the neighbours (e.g. for pictures); by default each image gets a random one.

    Shape: (B, C, H, W) -> center (B, C, P, P), neighbor (B, C, P, P), labels (B,) int64.
    """
    B, _, H, W = images.shape
    _check_fits(H, W, patch, gap, jitter)
    device = images.device
    step, span = patch + gap, 3 * patch + 2 * gap

    def draw(low: int, high: int, n: int = B) -> torch.Tensor:  # integers in [low, high], both included
        return torch.randint(low, high + 1, (n,), generator=generator, device=device)

    top, left = draw(jitter, H - span - jitter), draw(jitter, W - span - jitter)
    if labels is None:
        labels = draw(0, 7)
    labels = labels.to(device).long()
    offsets = torch.tensor(OFFSETS, device=device)[labels]  # (B, 2)
    center = crop_patches(images, top + step + draw(-jitter, jitter), left + step + draw(-jitter, jitter), patch)
    neighbor = crop_patches(
        images,
        top + (1 + offsets[:, 0]) * step + draw(-jitter, jitter),
        left + (1 + offsets[:, 1]) * step + draw(-jitter, jitter),
        patch,
    )
    return center, neighbor, labels


def per_image_sampler(sample_pair):
    """A batch sampler (as `sample_patch_pairs`) made of a one-image `sample_patch_pair`, e.g. a student's: it
    loops over the batch, so it is slower, but trains the same network."""

    def sampler(images: torch.Tensor, patch: int, gap: int, jitter: int, generator=None):
        if generator is not None and generator.device.type != "cpu":  # a one-image sampler draws on the host
            seed = int(torch.randint(2**62, (1,), generator=generator, device=generator.device))
            generator = torch.Generator().manual_seed(seed)
        pairs = [sample_pair(image, patch, gap, jitter, generator) for image in images]
        center, neighbor = (torch.stack([p[i] for p in pairs]) for i in (0, 1))
        return center, neighbor, torch.tensor([int(p[2]) for p in pairs], device=images.device)

    return sampler


def upsample(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Bilinear upsampling of float images. Shape: (B, C, H, W) -> (B, C, H * factor, W * factor)."""
    if factor == 1:
        return x
    return F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)


# --------------------------------------------------------------------------- the model
class PatchEncoder(nn.Module):
    """The backbone as the probes see it: a whole image is upsampled like the training images (so that
    textures keep the scale the network learned them at) and filtered like the training patches.

    Shape: forward_features (B, 3, H, W) -> (B, D); encode_patches (B, 3, P, P) -> (B, D).
    """

    def __init__(self, net: nn.Module, scale: float = 2.0, colour: str = "project"):
        super().__init__()
        if colour not in ("rgb", "project"):
            raise ValueError(f"colour must be 'rgb' or 'project', got {colour!r}")
        self.net, self.scale, self.colour = net, scale, colour
        self.feature_dim = net.feature_dim

    def encode_patches(self, patches: torch.Tensor) -> torch.Tensor:
        if self.colour == "project":
            patches = remove_green_magenta(patches)
        return self.net.forward_features(device_layout(patches))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode_patches(upsample(x, self.scale))


class ContextPrediction(nn.Module):
    """The pair network: one shared backbone on both patches, the two features concatenated, an MLP to the
    8 relative positions; trained with cross-entropy (`loss_fn(logits, labels)`).

    Input: float images (B, 3, 32, 32) in [0, 1]. Shape:
        forward(center, neighbor) -> logits (B, 8)
        training_loss(x, y, generator) -> scalar (y, the class labels, is never used)
    `sampler(images, patch, gap, jitter, generator)` makes the pairs (default `sample_patch_pairs`).
    """

    def __init__(
        self,
        backbone: PatchEncoder,
        patch: int = 16,
        gap: int = 4,
        jitter: int = 2,
        hidden: int = 512,
        sampler=sample_patch_pairs,
        loss_fn=F.cross_entropy,
    ):
        super().__init__()
        _check_fits(round(32 * backbone.scale), round(32 * backbone.scale), patch, gap, jitter)
        self.backbone = backbone
        self.patch, self.gap, self.jitter = patch, gap, jitter
        self.sampler, self.loss_fn = sampler, loss_fn
        # The paper's fc6-fc8 after concatenation, shrunk: the pair's features are compared here, not earlier.
        self.classifier = nn.Sequential(
            nn.Linear(2 * backbone.feature_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, len(OFFSETS))
        )

    def forward(self, center: torch.Tensor, neighbor: torch.Tensor) -> torch.Tensor:
        h = self.backbone.encode_patches(torch.cat([center, neighbor]))  # (2B, D): one pass, shared weights
        h_center, h_neighbor = h.chunk(2)
        return self.classifier(torch.cat([h_center, h_neighbor], dim=1))  # (B, 2D) -> (B, 8)

    def pairs(self, x: torch.Tensor, generator=None, labels=None):
        """Patch pairs from uint8 or float images (B, 3, 32, 32): (center, neighbor, labels)."""
        x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
        x = upsample(x, self.backbone.scale)
        if labels is None:
            return self.sampler(x, self.patch, self.gap, self.jitter, generator)
        return sample_patch_pairs(x, self.patch, self.gap, self.jitter, generator, labels)

    def training_loss(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        x = augment.random_flip(x, generator)
        center, neighbor, labels = self.pairs(x, generator)  # a flip swaps left and right: pairs come after it
        return self.loss_fn(self(center, neighbor).float(), labels)

    @torch.no_grad()
    def pretext_accuracy(
        self,
        images: torch.Tensor,
        seed: int = 0,
        batch_size: int = 500,
        gap: int | None = None,
        jitter: int | None = None,
    ) -> float:
        """Top-1 accuracy (%) of the 8-way prediction on one fixed set of pairs from `images` (held out);
        `gap` and `jitter` default to the model's own, so a model can also be tested on another setting."""
        gap = self.gap if gap is None else gap
        jitter = self.jitter if jitter is None else jitter
        device = next(self.parameters()).device
        g = torch.Generator(device).manual_seed(seed)
        was_training, correct = self.training, 0
        self.eval()
        for batch in images.split(batch_size):
            x = upsample(batch.to(device).float() / 255, self.backbone.scale)
            center, neighbor, labels = sample_patch_pairs(x, self.patch, gap, jitter, g)
            correct += (self(center, neighbor).argmax(1) == labels).sum().item()
        self.train(was_training)
        return 100.0 * correct / len(images)


@register("context", RECIPE, "Context prediction: which of 8 positions a patch takes around another (Doersch 2015)")
def build(
    arch: str = "resnet18",
    patch: int = 16,
    gap: int = 4,
    jitter: int = 2,
    scale: float = 2.0,
    colour: str = "project",
    hidden: int = 512,
    **arch_kwargs,
) -> ContextPrediction:
    """Context prediction on a registered backbone. Defaults: CIFAR upsampled 2x to 64 px, 16-px patches,
    4-px gap, jitter up to 2 px (the paper's 96/48/7 at ImageNet scale), green-magenta projection."""
    return ContextPrediction(PatchEncoder(build_model(arch, **arch_kwargs), scale, colour), patch, gap, jitter, hidden)
