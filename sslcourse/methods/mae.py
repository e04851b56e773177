"""Masked autoencoders (He, Chen, Xie, Li, Dollár, Girshick, CVPR 2022): hide most patches, reconstruct them.

Pipeline per batch, the paper's Figure 1 in named stages:
    forward_encoder: image -> patch tokens -> keep a random 25% -> ViT encoder on those only
    forward_decoder: latent -> light decoder, with a shared mask token at every hidden position
    forward_loss:    mean squared error on the hidden patches only, each target patch normalised
Only the encoder (`backbone`) is kept for probing and fine-tuning; the decoder is thrown away.
The pure functions below (patchify, unpatchify, random_masking, masked_mse_loss) are the notebook's
exercises; a student's versions plug in through `MAE(masking_fn=..., loss_fn=...)`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from sslcourse import augment
from sslcourse.methods import register
from sslcourse.models import build_model
from sslcourse.models.vit import Block, ViT, sincos_pos_embed_2d
from sslcourse.train import TrainConfig

RECIPE = TrainConfig(
    epochs=400,
    batch_size=512,
    optimizer="adamw",
    lr=1e-3,  # the paper's 1.5e-4 per 256 images suits 800-epoch ImageNet runs; short CIFAR runs want more
    betas=(0.9, 0.95),  # the paper's Table 8 (pre-training)
    weight_decay=0.05,  # the paper's Table 8
    warmup=0.05,  # 40 of 800 epochs in the paper
)


# --------------------------------------------------------------------------- the exercises' references
def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """Cut images into non-overlapping patches, row-major; inside a patch: rows, then columns, then channels.

    Shape: (B, C, H, W) -> (B, L, patch * patch * C) with L = (H / patch) * (W / patch).
    """
    B, C, H, W = images.shape
    if H % patch or W % patch:
        raise ValueError(f"image size {H}x{W} is not divisible by the patch size {patch}")
    h, w = H // patch, W // patch
    x = images.reshape(B, C, h, patch, w, patch)  # (B, C, h, p, w, p)
    x = x.permute(0, 2, 4, 3, 5, 1)  # (B, h, w, p, p, C): patch row, patch column, pixel row, column, channel
    return x.reshape(B, h * w, patch * patch * C)


def unpatchify(patches: torch.Tensor, patch: int, channels: int = 3) -> torch.Tensor:
    """The inverse of `patchify` for square images. Shape: (B, L, patch * patch * C) -> (B, C, H, W)."""
    B, L, P = patches.shape
    h = math.isqrt(L)
    if h * h != L or P != patch * patch * channels:
        raise ValueError(f"expected (B, L, {patch}*{patch}*{channels}) with L a square, got {tuple(patches.shape)}")
    x = patches.reshape(B, h, h, patch, patch, channels)  # (B, h, w, p, p, C)
    x = x.permute(0, 5, 1, 3, 2, 4)  # (B, C, h, p, w, p)
    return x.reshape(B, channels, h * patch, h * patch)


def random_masking(tokens: torch.Tensor, mask_ratio: float, generator: torch.Generator | None = None):
    """Keep a random subset of K = int(L * (1 - mask_ratio)) tokens per sample, as MAE's code does:
    sort uniform noise, keep the K smallest.

    Shape: (B, L, D) -> visible (B, K, D), mask (B, L) with 1 where removed (original order),
    ids_restore (B, L): `cat(visible, mask_tokens).gather(1, ids_restore)` is back in the original order.
    """
    B, L, D = tokens.shape
    keep = int(L * (1 - mask_ratio))
    device = generator.device if generator is not None else tokens.device  # a generator draws on its own device
    noise = torch.rand(B, L, generator=generator, device=device).to(tokens.device)  # (B, L)
    ids_shuffle = noise.argsort(dim=1)  # (B, L) each sample's own random order
    ids_restore = ids_shuffle.argsort(dim=1)  # the inverse permutation
    visible = tokens.gather(1, ids_shuffle[:, :keep, None].expand(B, keep, D))  # (B, K, D)
    mask = torch.ones(B, L, device=tokens.device)
    mask[:, :keep] = 0
    return visible, mask.gather(1, ids_restore), ids_restore  # the mask, unshuffled to the original order


def masked_mse_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, norm_pix: bool = True):
    """Per-patch mean squared error, averaged over the masked patches only.

    With `norm_pix`, each target patch is first normalised by its own mean and variance (the paper's
    Section 4.1 and Table 1c: normalised pixels make a better representation).
    Shape: (B, L, P), (B, L, P), (B, L) -> ().
    """
    if norm_pix:
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)
        target = (target - mean) / (var + 1e-6).sqrt()  # eps: a flat patch has variance 0
    per_patch = ((pred - target) ** 2).mean(dim=-1)  # (B, L)
    mask = mask.to(per_patch.dtype)
    return (per_patch * mask).sum() / mask.sum()


# --------------------------------------------------------------------------- the model
class MAE(nn.Module):
    """A ViT encoder that sees the visible patches only, and a light decoder (its own width, depth and
    fixed sin-cos positional embedding) that predicts the pixels of every patch.

    Input: float images (B, 3, H, W) in [0, 1]. Shape (L patches of P = patch * patch * 3 values):
        forward_encoder(x)           -> latent (B, 1 + K, D), mask (B, L), ids_restore (B, L)
        forward_decoder(latent, ids) -> pred (B, L, P), in normalised-patch units when norm_pix
        forward_loss(x, pred, mask)  -> scalar
    """

    def __init__(
        self,
        encoder: ViT,
        mask_ratio: float = 0.75,
        decoder_dim: int = 128,
        decoder_depth: int = 2,
        decoder_heads: int = 4,
        norm_pix: bool = True,
        masking_fn=random_masking,
        loss_fn=masked_mse_loss,
        augmentation=None,
    ):
        super().__init__()
        if not isinstance(encoder, ViT):
            raise ValueError(f"MAE needs a ViT encoder (it drops tokens), got {type(encoder).__name__}")
        if not 0 <= mask_ratio < 1:
            raise ValueError(f"mask_ratio must be in [0, 1), got {mask_ratio}")
        self.backbone = encoder
        self.mask_ratio, self.norm_pix = mask_ratio, norm_pix
        self.patch = encoder.patch_size
        self.masking_fn, self.loss_fn = masking_fn, loss_fn
        # Light decoder (the paper's Section 3: under 10% of the encoder's computation per token).
        self.decoder_embed = nn.Linear(encoder.feature_dim, decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_dim))  # one learned vector for every hole
        self.register_buffer(
            "decoder_pos_embed", sincos_pos_embed_2d(decoder_dim, encoder.grid_size)[None], persistent=False
        )  # the decoder must know where each hole is
        self.decoder_blocks = nn.ModuleList([Block(decoder_dim, decoder_heads) for _ in range(decoder_depth)])
        self.decoder_norm = nn.LayerNorm(decoder_dim, eps=1e-6)
        self.decoder_pred = nn.Linear(decoder_dim, self.patch**2 * 3)
        for m in [self.decoder_embed, self.decoder_pred, *self.decoder_blocks.modules()]:
            if isinstance(m, nn.Linear):  # as the encoder (and MAE): xavier-uniform, zero biases
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.mask_token, std=0.02)
        # Random crops and flips only (the paper's Table 8): the masking itself makes the task hard.
        self.augment = augmentation or augment.compose(
            ["crop", "flip"], crop=dict(size=encoder.img_size, scale=(0.35, 1.0))
        )

    def forward_encoder(self, x: torch.Tensor, mask_ratio: float, generator=None):
        tokens = self.backbone.embed(x)  # (B, L, D), positions added before masking
        visible, mask, ids_restore = self.masking_fn(tokens, mask_ratio, generator)  # (B, K, D)
        return self.backbone.forward_tokens(visible), mask, ids_restore  # (B, 1 + K, D)

    def forward_decoder(self, latent: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
        x = self.decoder_embed(latent)  # (B, 1 + K, Dd)
        B, L = ids_restore.shape
        holes = self.mask_token.to(x.dtype).expand(B, L - (x.shape[1] - 1), -1)  # (B, L - K, Dd)
        patches = torch.cat([x[:, 1:], holes], dim=1)  # (B, L, Dd), visible first
        patches = patches.gather(1, ids_restore[..., None].expand(-1, -1, x.shape[2]))  # original order
        x = torch.cat([x[:, :1], patches + self.decoder_pos_embed], dim=1)  # (B, 1 + L, Dd)
        for block in self.decoder_blocks:
            x = block(x)
        return self.decoder_pred(self.decoder_norm(x))[:, 1:]  # (B, L, P), the cls token dropped

    def forward_loss(self, x: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        target = patchify(x, self.patch)  # (B, L, P), pixels in [0, 1]
        return self.loss_fn(pred.float(), target.float(), mask, self.norm_pix)

    def forward(self, x: torch.Tensor, mask_ratio: float | None = None, generator=None):
        """Returns (loss, pred (B, L, P), mask (B, L))."""
        ratio = self.mask_ratio if mask_ratio is None else mask_ratio
        latent, mask, ids_restore = self.forward_encoder(x, ratio, generator)
        pred = self.forward_decoder(latent, ids_restore)
        return self.forward_loss(x, pred, mask), pred, mask

    def training_loss(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return self(self.augment(x, generator), generator=generator)[0]  # y is never used: no labels

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, mask_ratio: float | None = None, generator=None) -> dict:
        """Images (B, 3, H, W), uint8 or float in [0, 1] -> {"masked", "reconstruction", "pasted"} images in
        [0, 1] and the "mask" (B, L). "reconstruction" is the decoder's prediction of the hidden patches, with
        the visible ones grey: the loss never asks about those, so the decoder's output there is arbitrary
        (often noise) and says nothing. "pasted" puts the visible patches back over the prediction.

        With `norm_pix` the decoder predicts each patch up to its brightness and contrast; to show it, each
        predicted patch gets the true patch's mean and std (colour and contrast from the truth, pattern
        from the model). Without `norm_pix` the prediction is shown as it is.
        """
        x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
        _, pred, mask = self(x, mask_ratio, generator)  # pred (B, L, P), mask (B, L)
        target = patchify(x, self.patch)
        if self.norm_pix:
            pred = pred * (target.var(-1, keepdim=True) + 1e-6).sqrt() + target.mean(-1, keepdim=True)
        hidden = mask[..., None].bool()  # (B, L, 1)
        grey = torch.full_like(target, 0.5)
        return {
            "masked": unpatchify(torch.where(hidden, grey, target), self.patch),
            "reconstruction": unpatchify(torch.where(hidden, pred, grey), self.patch).clamp(0, 1),
            "pasted": unpatchify(torch.where(hidden, pred, target), self.patch).clamp(0, 1),
            "mask": mask,
        }


@register("mae", RECIPE, "MAE: mask 75% of the patches, encode the rest, reconstruct the hidden pixels")
def build(
    arch: str = "vit_tiny",
    mask_ratio: float = 0.75,
    decoder_dim: int = 128,
    decoder_depth: int = 2,
    decoder_heads: int = 4,
    norm_pix: bool = True,
    **arch_kwargs,
) -> MAE:
    if arch != "vit_tiny":
        raise ValueError(f"MAE needs a ViT: pass --arch vit_tiny (got {arch!r})")
    return MAE(build_model(arch, **arch_kwargs), mask_ratio, decoder_dim, decoder_depth, decoder_heads, norm_pix)
