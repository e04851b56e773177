"""The chromatic-aberration shortcut of context prediction (Doersch, Gupta, Efros, ICCV 2015, Section 3.1),
simulated and measured.

A lens bends each wavelength a little differently, so one colour channel (in many cameras the green one) is
slightly shrunk toward the image centre relative to the others. The misalignment is zero at the centre and
grows toward the edges, so colour fringes tell a network where a patch sat in the whole photograph, and the
relative position of two patches follows without any understanding of objects. The paper showed it by
training a network to regress a patch's absolute position: error .255 on raw patches, .321 after projecting
out the green-magenta axis, .371 for always guessing the centre.

    chromatic_aberration(images, strength)  each channel magnified about the centre by its own factor
    colour_drop(patches, generator)         keep one channel, replace the other two with faint noise
    PositionRegressor                       a backbone + Linear(D, 2) that predicts where a patch came from
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sslcourse.methods.context import crop_patches, remove_green_magenta, upsample
from sslcourse.train import device_layout

COLOURS = ("rgb", "project", "drop")  # what the regressor sees: raw colour, projected, or one channel + noise
CHANNEL_WEIGHTS = (0.0, -1.0, 0.0)  # green shrunk toward the centre, red and blue left alone


def chromatic_aberration(images: torch.Tensor, strength: float, weights=CHANNEL_WEIGHTS) -> torch.Tensor:
    """Magnify channel c about the image centre by 1 + strength * weights[c] (bilinear resampling, border
    pixels repeated), so a point at distance d from the centre moves by strength * weights[c] * d.

    Shape: float (B, C, H, W) or (C, H, W) in [0, 1] -> the same shape.
    """
    single = images.dim() == 3
    x = images[None] if single else images
    B, C, H, W = x.shape
    if len(weights) != C:
        raise ValueError(f"weights needs one number per channel: {len(weights)} given for {C} channels")
    out = []
    for c, w in enumerate(weights):
        factor = 1.0 + strength * w
        if factor <= 0:
            raise ValueError(f"strength {strength} shrinks channel {c} to nothing (factor {factor:.3g})")
        # grid_sample reads the input at theta @ (output position): 1 / factor magnifies by factor.
        theta = torch.tensor([[1 / factor, 0, 0], [0, 1 / factor, 0]], dtype=x.dtype, device=x.device)
        grid = F.affine_grid(theta.expand(B, 2, 3), (B, 1, H, W), align_corners=False)
        out.append(F.grid_sample(x[:, c : c + 1], grid, mode="bilinear", padding_mode="border", align_corners=False))
    x = torch.cat(out, dim=1)
    return x[0] if single else x


def colour_drop(patches: torch.Tensor, generator: torch.Generator | None = None, noise: float = 0.01) -> torch.Tensor:
    """The paper's colour dropping: keep one random channel of each patch, replace the two others with
    Gaussian noise of `noise` times that channel's standard deviation (the paper's 1/100), so no channel can be
    compared with another. Shape: (B, 3, P, P) -> (B, 3, P, P)."""
    B, C, _, _ = patches.shape
    device = patches.device
    keep = torch.randint(0, C, (B,), generator=generator, device=device)  # (B,)
    kept = patches[torch.arange(B, device=device), keep][:, None]  # (B, 1, P, P)
    std = kept.flatten(1).std(dim=1).view(B, 1, 1, 1)
    fill = noise * std * torch.randn(patches.shape, generator=generator, device=device)  # (B, C, P, P)
    is_kept = (torch.arange(C, device=device)[None] == keep[:, None]).view(B, C, 1, 1)
    return torch.where(is_kept, patches, fill)


def apply_colour(patches: torch.Tensor, colour: str, generator=None) -> torch.Tensor:
    """'rgb' (unchanged), 'project' (green-magenta projected out) or 'drop' (`colour_drop`)."""
    if colour == "rgb":
        return patches
    if colour == "project":
        return remove_green_magenta(patches)
    if colour == "drop":
        return colour_drop(patches, generator)
    raise ValueError(f"colour must be one of {COLOURS}, got {colour!r}")


def random_patches(images: torch.Tensor, patch: int, generator=None):
    """One patch per image at a uniformly random place, and that place normalised to [0, 1]^2 (0 at the top
    or left edge, 1 at the bottom or right: the centre is (0.5, 0.5)).
    Shape: (B, C, H, W) -> patches (B, C, P, P), positions (B, 2) as (row, column)."""
    B, _, H, W = images.shape
    tops = torch.randint(0, H - patch + 1, (B,), generator=generator, device=images.device)
    lefts = torch.randint(0, W - patch + 1, (B,), generator=generator, device=images.device)
    where = torch.stack([tops / (H - patch), lefts / (W - patch)], dim=1).float()
    return crop_patches(images, tops, lefts, patch), where


def border_match(center: torch.Tensor, neighbor: torch.Tensor) -> torch.Tensor:
    """The trivial shortcut, with no learning at all: guess the neighbour's position as the one where the pixels
    along the touching borders differ least (rows for above and below, columns for left and right, corner pixels
    for the diagonals). Without a gap, images are continuous there; with one, the borders are far apart.
    Shape: (B, C, P, P), (B, C, P, P) -> labels (B,)."""
    c, n = center.float(), neighbor.float()

    def diff(a, b):  # mean absolute difference per pair
        return (a - b).abs().flatten(1).mean(1)

    scores = [
        diff(n[..., -1:, -1:], c[..., :1, :1]),
        diff(n[..., -1:, :], c[..., :1, :]),  # top-left, top
        diff(n[..., -1:, :1], c[..., :1, -1:]),
        diff(n[..., :, -1:], c[..., :, :1]),  # top-right, left
        diff(n[..., :, :1], c[..., :, -1:]),
        diff(n[..., :1, -1:], c[..., -1:, :1]),  # right, bottom-left
        diff(n[..., :1, :], c[..., -1:, :]),
        diff(n[..., :1, :1], c[..., -1:, -1:]),
    ]  # bottom, bottom-right
    return torch.stack(scores, dim=1).argmin(dim=1)


class PositionRegressor(nn.Module):
    """Where in the whole image did this patch come from? A backbone and a linear layer to (row, column),
    trained with squared error on patches of upsampled CIFAR images, aberrated with `strength` (0: none),
    seen through `colour` ('rgb', 'project' or 'drop').

    Shape: forward (B, 3, P, P) -> (B, 2); training_loss(x uint8 (B, 3, 32, 32), y, generator) -> scalar.
    """

    def __init__(
        self, backbone: nn.Module, strength: float = 0.05, colour: str = "rgb", patch: int = 16, scale: float = 2.0
    ):
        super().__init__()
        if colour not in COLOURS:
            raise ValueError(f"colour must be one of {COLOURS}, got {colour!r}")
        self.backbone, self.strength, self.colour, self.patch, self.scale = backbone, strength, colour, patch, scale
        self.head = nn.Linear(backbone.feature_dim, 2)
        nn.init.zeros_(self.head.weight)  # start at the centre guess: anything learned is a real improvement
        nn.init.constant_(self.head.bias, 0.5)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone.forward_features(device_layout(patches)))

    def patches(self, x: torch.Tensor, generator=None, colour_generator=None):
        """Aberrated, colour-treated patches and their positions from uint8 images (B, 3, 32, 32).
        `colour_generator` (default: `generator`) draws colour dropping's random numbers."""
        x = upsample(x.float() / 255, self.scale)
        if self.strength:
            x = chromatic_aberration(x, self.strength)
        patches, where = random_patches(x, self.patch, generator)
        return apply_colour(patches, self.colour, colour_generator or generator), where

    def training_loss(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        patches, where = self.patches(x, generator)
        return F.mse_loss(self(patches).float(), where)

    @torch.no_grad()
    def evaluate(self, images: torch.Tensor, repeats: int = 4, seed: int = 0, batch_size: int = 500) -> dict:
        """Mean position error on `repeats` random patches of each held-out image, against always guessing the
        centre on the very same patches."""
        device = next(self.parameters()).device
        g = torch.Generator(device).manual_seed(seed)  # the patches' places: the same for every condition
        g_colour = torch.Generator(device).manual_seed(seed + 1)
        was_training = self.training
        self.eval()
        errors, centre = [], []
        for _ in range(repeats):
            for batch in images.split(batch_size):
                patches, where = self.patches(batch.to(device), g, g_colour)
                errors.append((self(patches).float() - where).norm(dim=1).cpu())
                centre.append((where - 0.5).norm(dim=1).cpu())
        self.train(was_training)
        return {
            "error": torch.cat(errors).mean().item(),
            "centre_error": torch.cat(centre).mean().item(),
            "n_patches": len(torch.cat(errors)),
        }
