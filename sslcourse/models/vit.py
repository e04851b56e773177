"""A small Vision Transformer for 32x32 images: 4x4 patches, so 8 x 8 = 64 tokens.

Pre-norm blocks (x + attn(norm(x)), x + mlp(norm(x))) as in ViT (Dosovitskiy et al. 2021), with a
fixed 2D sin-cos positional embedding and the initialisation of MAE (He et al. 2022). The pieces MAE
needs are separate: `embed` turns images into tokens, and `forward_tokens` runs the transformer on
any subset of them (MAE's encoder sees only the visible 25%).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sslcourse.models.resnet import Normalize


def sincos_pos_embed_2d(dim: int, grid_size: int) -> torch.Tensor:
    """Fixed 2D sin-cos positional embedding, as in MAE (He et al. 2022).

    Half the channels encode the row, half the column; each half is sin and cos of the position
    times frequencies 1 / 10000^(i / (dim/4)), the 1D scheme of Vaswani et al. 2017.
    Token order is row-major, matching `patch_embed(x).flatten(2)`.

    Shape: -> (grid_size**2, dim).
    """
    if dim % 4:
        raise ValueError(f"the sin-cos embedding needs dim divisible by 4, got {dim}")
    omega = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float64) / (dim / 4))  # (D/4,)
    coords = torch.arange(grid_size, dtype=torch.float64)
    rows, cols = torch.meshgrid(coords, coords, indexing="ij")  # (g, g) each

    def encode(pos: torch.Tensor) -> torch.Tensor:  # (g, g) -> (L, D/2)
        angles = pos.reshape(-1, 1) * omega  # (L, D/4)
        return torch.cat([angles.sin(), angles.cos()], dim=1)

    return torch.cat([encode(rows), encode(cols)], dim=1).float()  # (L, D)


class Attention(nn.Module):
    """Multi-head self-attention. Shape: (B, L, D) -> (B, L, D)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim must be divisible by heads, got dim={dim}, heads={heads}")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, L, D = x.shape
        qkv = self.qkv(x).reshape(B, L, 3, self.heads, D // self.heads)  # (B, L, 3, H, D/H)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, H, L, D/H)
        x = F.scaled_dot_product_attention(q, k, v)  # softmax(q k^T / sqrt(D/H)) v, (B, H, L, D/H)
        x = x.transpose(1, 2).reshape(B, L, D)  # (B, L, D)
        return self.proj(x)


class Block(nn.Module):
    """A pre-norm transformer block. Shape: (B, L, D) -> (B, L, D)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)  # eps as in timm / MAE
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    """Vision Transformer with a class token.

    Input: float images (B, 3, img_size, img_size) in [0, 1].
    Shape (L = (img_size / patch_size)**2 = 64 for the defaults):
        embed(x)              -> (B, L, D)       patch tokens plus positional embedding, no cls
        forward_tokens(t)     -> (B, 1 + L', D)  for any L' tokens t (B, L', D), cls first
        forward_features(x)   -> (B, D)          the cls token's output after the final norm
        forward_head(h)       -> (B, num_classes) or (B, D) when num_classes = 0
    """

    def __init__(
        self,
        img_size: int = 32,
        patch_size: int = 4,
        dim: int = 192,
        depth: int = 6,
        heads: int = 3,
        mlp_ratio: float = 4.0,
        num_classes: int = 0,
    ):
        super().__init__()
        if img_size % patch_size:
            raise ValueError(f"img_size must be divisible by patch_size, got {img_size} and {patch_size}")
        self.img_size, self.patch_size = img_size, patch_size
        self.grid_size = img_size // patch_size
        self.num_patches = self.grid_size**2
        self.feature_dim = dim
        self.num_classes = num_classes
        self.normalize = Normalize()
        # A conv with kernel = stride = patch is a linear map applied to each non-overlapping patch.
        self.patch_embed = nn.Conv2d(3, dim, patch_size, stride=patch_size)
        # Fixed, not learned (MAE); a buffer so it moves with the model but is not trained.
        # Non-persistent: it is recomputed from the config, so checkpoints need not hold it.
        self.register_buffer("pos_embed", sincos_pos_embed_2d(dim, self.grid_size)[None], persistent=False)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))  # its positional embedding is zero
        self.blocks = nn.ModuleList([Block(dim, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes) if num_classes > 0 else nn.Identity()
        self._init_weights()

    def _init_weights(self) -> None:
        # As MAE: xavier-uniform for every Linear, zero biases, and the patch embedding treated as a
        # Linear (its weight viewed as (D, 3 * p * p)); cls token ~ N(0, 0.02^2), truncated.
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        w = self.patch_embed.weight
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(self.patch_embed.bias)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Patch tokens with positional embeddings added. Shape: (B, 3, 32, 32) -> (B, L, D)."""
        if x.dim() == 4 and tuple(x.shape[2:]) != (self.img_size, self.img_size):
            H, W = x.shape[2:]
            if H % self.patch_size or W % self.patch_size:
                raise ValueError(
                    f"image size {H}x{W} is not divisible by the patch size {self.patch_size}: "
                    f"got images {tuple(x.shape)}"
                )
            raise ValueError(
                f"expected images (B, 3, {self.img_size}, {self.img_size}) (the size this ViT "
                f"was built for), got {tuple(x.shape)}"
            )
        x = self.normalize(x)  # also checks dtype, dims and channels
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2)  # (B, D, g, g) -> (B, D, L) -> (B, L, D)
        return tokens + self.pos_embed

    def forward_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """Prepend the cls token and run the blocks and final norm on any set of tokens.

        Shape: (B, L', D) -> (B, 1 + L', D), for any L' (MAE passes only the visible tokens).
        """
        if tokens.dim() != 3 or tokens.shape[2] != self.feature_dim:
            raise ValueError(f"expected tokens (B, L, {self.feature_dim}), got {tuple(tokens.shape)}")
        cls = self.cls_token.expand(tokens.shape[0], -1, -1).to(tokens.dtype)  # (B, 1, D)
        x = torch.cat([cls, tokens], dim=1)  # (B, 1 + L', D)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The representation h: the cls token's output (as ViT, and MAE's linear probe).

        Shape: (B, 3, 32, 32) -> (B, D).
        """
        return self.forward_tokens(self.embed(x))[:, 0]

    def forward_head(self, h: torch.Tensor) -> torch.Tensor:
        """Shape: (B, D) -> (B, num_classes), or unchanged when num_classes = 0."""
        return self.head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def vit_tiny(
    dim: int = 192,
    depth: int = 6,
    heads: int = 3,
    mlp_ratio: float = 4.0,
    num_classes: int = 0,
    img_size: int = 32,
    patch_size: int = 4,
) -> ViT:
    """ViT-Tiny's width (192, 3 heads; Touvron et al. 2021) at half its depth (6 blocks, not 12).

    About 2.7M parameters, so the fp16 weights take about 5.4 MB.
    """
    return ViT(img_size, patch_size, dim, depth, heads, mlp_ratio, num_classes)
