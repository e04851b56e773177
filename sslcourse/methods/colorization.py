"""Colorization (Zhang, Isola, Efros, ECCV 2016): predict the colour (ab of CIE Lab) from the lightness L.

Colour is ambiguous (a shirt may be red or blue), so the choice of loss decides what comes out:
    "l2":             regress ab directly with a squared error: the mean of the possible colours, greyish;
    "classification": a distribution over the Q in-gamut ab bins, soft-encoded targets, cross-entropy;
    "rebalanced":     the same, each pixel weighted by the rarity of its colour (lambda = 1/2, Section 2.2).
A distribution is turned back into one colour per pixel by the annealed mean (T = 0.38, Section 2.3).

The network: the course's ResNet-18 sees L only (as a grey image), and a light head reads a hypercolumn of
its last three stages at half resolution (16x16 for CIFAR; the paper predicted at a quarter); the ab map is
upsampled to the input's size. The pure functions below (soft_encode, rebalance_weights, annealed_mean,
rebalanced_cross_entropy) are notebook 02's exercises; a student's versions plug in through
`Colorizer(loss_fn=..., weights_fn=...)`. The colour space helpers live in `colorization_bins`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sslcourse import augment
from sslcourse.methods import register
from sslcourse.methods.colorization_bins import ab_histogram, in_gamut_bins, lab_to_rgb, lightness, rgb_to_lab
from sslcourse.models import ResNet, build_model
from sslcourse.train import TrainConfig, device_layout

__all__ = [
    "LOSSES",
    "Colorizer",
    "LightnessEncoder",
    "ab_histogram",
    "annealed_mean",
    "in_gamut_bins",
    "rebalance_weights",
    "rebalanced_cross_entropy",
    "soft_encode",
]

RECIPE = TrainConfig(
    epochs=30,
    batch_size=256,
    optimizer="adamw",  # the paper used Adam (beta 0.9, 0.99); one optimizer for all three losses
    lr=2e-3,
    weight_decay=1e-4,
    warmup=0.05,
)

LOSSES = ("l2", "classification", "rebalanced")
T_PAPER = 0.38  # the paper's annealing temperature (Section 2.3)


# --------------------------------------------------------------------------- the exercises' references
def soft_encode(ab: torch.Tensor, centers: torch.Tensor, k: int = 5, sigma: float = 5.0) -> torch.Tensor:
    """A colour as a distribution over bins: its k nearest bins, weighted by a Gaussian of their distance
    (exp(-d^2 / (2 sigma^2))), normalised to sum 1; every other bin gets 0 (the paper's Section 2.1).

    Shape: (N, 2), (Q, 2) -> (N, Q).
    """
    # Exact differences rather than cdist's |a|^2 + |b|^2 - 2ab (which cancels where d^2 reaches 10^5), in
    # float32: Apple's MPS has no float64.
    d2 = torch.cdist(ab.float(), centers.float().to(ab.device), compute_mode="donot_use_mm_for_euclid_dist") ** 2
    near_d2, near = d2.topk(k, dim=1, largest=False)  # (N, k)
    # Subtract the nearest distance first: far outside the gamut exp(-d^2 / 2 sigma^2) underflows to 0 / 0.
    w = torch.exp(-(near_d2 - near_d2[:, :1]) / (2 * sigma**2))
    return torch.zeros_like(d2).scatter_(1, near, w / w.sum(dim=1, keepdim=True)).to(ab.dtype)


def rebalance_weights(prior: torch.Tensor, lam: float = 0.5) -> torch.Tensor:
    """Class weights proportional to ((1 - lam) p + lam / Q)^-1, scaled so that their expectation under the
    prior, sum_q p_q w_q, is 1 (the paper's Eq. 4). lam = 0: inverse frequency; lam = 1: all equal.

    Shape: (Q,) -> (Q,).
    """
    p = prior.float()  # float32 is ample here (lam / Q >= 1.6e-3 bounds the denominator), and MPS has no float64
    w = 1.0 / ((1 - lam) * p + lam / len(p))
    return (w / (p * w).sum()).to(prior.dtype)


def annealed_mean(probs: torch.Tensor, centers: torch.Tensor, T: float = T_PAPER) -> torch.Tensor:
    """Decode a distribution over bins into one colour: sharpen it to probs^(1/T) (renormalised), then
    take its mean. T = 1: the plain mean (greyish); T -> 0: the mode (vivid, patchy). Computed as
    softmax(log p / T), which cannot overflow for small T.

    Shape: (N, Q), (Q, 2) -> (N, 2).
    """
    sharp = torch.softmax(probs.float().clamp_min(1e-30).log() / T, dim=1)  # (N, Q)
    return sharp @ centers.float().to(probs.device)


def rebalanced_cross_entropy(logits: torch.Tensor, target: torch.Tensor, class_weights: torch.Tensor) -> torch.Tensor:
    """Cross-entropy with soft targets, each pixel weighted by the class weight of its target's most likely
    bin, mean over pixels (the paper's Eq. 2). With all weights 1 it is the plain classification loss.

    Shape: (N, Q), (N, Q), (Q,) -> ().
    """
    per_pixel = -(target * torch.log_softmax(logits.float(), dim=1)).sum(dim=1)  # (N,)
    return (class_weights[target.argmax(dim=1)] * per_pixel).mean()


def l2_loss(pred_ab: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """Half the squared ab distance, mean over pixels (the paper's Eq. 1), in units of 100 ab.
    Shape: (N, 2), (N, 2) -> ()."""
    return 0.5 * ((pred_ab.float() - ab.float()) / 100).pow(2).sum(dim=1).mean()


# --------------------------------------------------------------------------- the network
class LightnessEncoder(nn.Module):
    """A ResNet that sees only the lightness of an image, shown as a grey picture (L / 100 in all three channels).

    `forward_features(rgb)` converts RGB to L itself, so the course's probes (kNN, linear) evaluate it on
    ordinary colour images. Shape:
        forward_stages_from_lightness(L) (B, 1, H, W) in [0, 100] -> the ResNet's four stage maps
        forward_features(x)              (B, 3, H, W) RGB in [0, 1] -> (B, D)
    """

    def __init__(self, trunk: ResNet):
        super().__init__()
        self.trunk = trunk
        self.feature_dim = trunk.feature_dim

    def forward_stages_from_lightness(self, L: torch.Tensor) -> list[torch.Tensor]:
        if L.dim() != 4 or L.shape[1] != 1:
            raise ValueError(f"expected lightness (B, 1, H, W) in [0, 100], got {tuple(L.shape)}")
        return self.trunk.forward_stages(device_layout((L / 100).expand(-1, 3, -1, -1)))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_stages_from_lightness(lightness(x))[-1].mean(dim=(2, 3))


class Colorizer(nn.Module):
    """L -> per-pixel ab (loss "l2") or a distribution over the Q bins (the two classification losses).

    The head reads a hypercolumn: the last three stage maps, upsampled to the second stage's resolution
    (H/2) and concatenated, then two 1x1 convolutions. Buffers `centers` (Q, 2) and `prior` (Q,) travel with
    the weights. Shape:
        forward(L)             (B, 1, H, W) -> (B, Q or 2, H/2, W/2): logits, or ab / 100 for "l2"
        predict_ab(L, T)       (B, 1, H, W) -> (B, 2, H, W) ab, decoded with `decode` and upsampled
        colorize(L, T)         (B, 1, H, W) -> (B, 3, H, W) RGB in [0, 1]
    """

    def __init__(
        self,
        encoder: LightnessEncoder,
        loss: str = "rebalanced",
        lam: float = 0.5,
        centers: torch.Tensor | None = None,
        prior: torch.Tensor | None = None,
        hidden: int = 128,
        loss_fn=rebalanced_cross_entropy,
        weights_fn=rebalance_weights,
        encode_fn=soft_encode,
    ):
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        centers = in_gamut_bins() if centers is None else centers.float()
        prior = torch.full((len(centers),), 1 / len(centers)) if prior is None else prior.float()
        if prior.shape != (len(centers),):
            raise ValueError(f"prior has shape {tuple(prior.shape)}, expected ({len(centers)},): one per bin")
        self.backbone, self.loss, self.lam = encoder, loss, lam
        self.loss_fn, self.weights_fn, self.encode_fn = loss_fn, weights_fn, encode_fn
        self.register_buffer("centers", centers)
        self.register_buffer("prior", prior)
        channels = sum(m[-1].bn2.num_features for m in encoder.trunk.stages[1:])
        out = 2 if loss == "l2" else len(centers)
        self.head = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, out, 1),
        )

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        maps = self.backbone.forward_stages_from_lightness(L)[1:]  # H/2, H/4, H/8
        size = maps[0].shape[-2:]
        hyper = torch.cat(
            [maps[0]] + [F.interpolate(m, size=size, mode="bilinear", align_corners=False) for m in maps[1:]], dim=1
        )  # (B, C2 + C3 + C4, H/2, W/2)
        return self.head(hyper)

    def training_loss(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        x = x.float() / 255
        # None: the default generator of x's device (the compiled step draws inside its graph)
        x = augment.random_flip(x, augment.DeviceDefault(x.device) if generator is None else generator)
        lab = rgb_to_lab(x)
        out = self(lab[:, :1])  # (B, Q or 2, H/2, W/2)
        ab = F.avg_pool2d(lab[:, 1:], 2)  # (B, 2, H/2, W/2): the target at the prediction's resolution
        ab = ab.permute(0, 2, 3, 1).reshape(-1, 2)  # (N, 2) pixels
        out = out.permute(0, 2, 3, 1).reshape(len(ab), -1)  # (N, Q or 2)
        if self.loss == "l2":
            return l2_loss(100 * out, ab)
        target = self.encode_fn(ab, self.centers)  # (N, Q)
        weights = self.weights_fn(self.prior, self.lam) if self.loss == "rebalanced" else torch.ones_like(self.prior)
        return self.loss_fn(out, target, weights)

    @torch.no_grad()
    def predict_ab(self, L: torch.Tensor, T: float = T_PAPER, decode=annealed_mean) -> torch.Tensor:
        out = self(L).float()  # (B, Q or 2, h, w)
        if self.loss == "l2":
            ab = 100 * out
        else:
            B, Q, h, w = out.shape
            probs = torch.softmax(out, dim=1).permute(0, 2, 3, 1).reshape(-1, Q)  # (B*h*w, Q)
            ab = decode(probs, self.centers, T).reshape(B, h, w, 2).permute(0, 3, 1, 2)
        return F.interpolate(ab, size=L.shape[-2:], mode="bilinear", align_corners=False)

    @torch.no_grad()
    def colorize(self, L: torch.Tensor, T: float = T_PAPER, decode=annealed_mean) -> torch.Tensor:
        return lab_to_rgb(torch.cat([L.float(), self.predict_ab(L, T, decode)], dim=1))


@register("colorization", RECIPE, "Colorization: predict the colour (ab) of a grey image from its lightness (L)")
def build(
    arch: str = "resnet18", loss: str = "rebalanced", lam: float = 0.5, prior: torch.Tensor | None = None, **arch_kwargs
) -> Colorizer:
    """A colorizer on a registered ResNet. `prior`: the ab prior over `in_gamut_bins()` (shipped weights
    carry theirs; `experiments.colorization.cifar_prior()` computes CIFAR-10's)."""
    trunk = build_model(arch, **arch_kwargs)
    if not isinstance(trunk, ResNet):
        raise ValueError(f"colorization needs a ResNet trunk (it reads its stage maps), got {arch!r}")
    return Colorizer(LightnessEncoder(trunk), loss=loss, lam=lam, prior=prior)
