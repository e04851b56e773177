"""MAE's shortcut, measured: how well the hidden patches can be filled without learning anything.

    python -m sslcourse.experiments.mae_shortcut ratios --device cpu --out sslcourse/results/mae/shortcut_ratios.json

The paper explains its high masking ratio by the ease of a low one: with few patches hidden, each has visible
neighbours to interpolate from. Here that is a number. For each masking ratio, on every test image, the same
random patch masks (the course's `random_masking`, seeded) are filled three ways:

    neighbours  each hidden pixel from the visible pixels around it (normalised convolution: a Gaussian-weighted
                mean of the visible pixels, the Gaussian widened until it reaches some; scipy.ndimage);
    mean colour the image's mean colour over its visible pixels, in every hidden pixel;
    MAE         the shipped MAE's reconstruction (`sslcourse.pretrained`, "mae_vit": a CPU-trained stand-in).

Each is scored on the hidden patches only, two ways: the course's loss (`masked_mse_loss` with per-patch
normalised targets; a prediction is put in the same units by normalising each of its patches by its own mean
and spread, so the score is 2 (1 - r) for a per-patch correlation r: 0 is perfect, 1 is knowing nothing, a flat
guess), and the mean squared error in raw pixels (the loss the shipped MAE was trained with: it has no
`norm_pix`). Standard errors are over the images (each image's mean over its hidden patches).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from sslcourse import data, pretrained
from sslcourse.experiments.runner import Experiment, Option, Run, Topic
from sslcourse.methods.mae import patchify, random_masking

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results" / "mae"
RATIOS = (0.1, 0.25, 0.5, 0.75, 0.9)  # the masking-ratio sweep's (sslcourse/results/mae/sweep.json)
PATCH = 4  # the course's ViT: 4x4 patches on 32x32 images, 64 of them
SIGMAS = (1.0, 2.0, 4.0, 8.0, 16.0)  # pixels; each hidden pixel takes the smallest that reaches visible pixels
REACH = 1e-3  # the Gaussian's weight on visible pixels below which a pixel waits for a wider one
EPS = 1e-6  # as masked_mse_loss: a flat patch has variance 0
BASELINES = ("neighbours", "mean colour")


# --------------------------------------------------------------------------- masks and the two baselines
def patch_masks(n: int, ratio: float, grid: int = 32 // PATCH, seed: int = 0) -> torch.Tensor:
    """The course's random masking of n images: 1 where a patch is hidden. Shape: -> (n, grid * grid)."""
    g = torch.Generator().manual_seed(seed)
    _, mask, _ = random_masking(torch.zeros(n, grid * grid, 1), ratio, g)
    return mask


def pixel_mask(mask: torch.Tensor, patch: int = PATCH) -> torch.Tensor:
    """Patch mask -> pixel mask, True where visible. Shape: (B, L) -> (B, H, W) bool."""
    B, L = mask.shape
    side = math.isqrt(L)
    hidden = mask.view(B, side, 1, side, 1).expand(B, side, patch, side, patch).reshape(B, side * patch, -1)
    return hidden == 0


def fill_from_neighbours(images: torch.Tensor, visible: torch.Tensor, sigmas=SIGMAS) -> torch.Tensor:
    """Every hidden pixel as a Gaussian-weighted mean of the visible pixels (normalised convolution, Knutsson and
    Westin 1993): blur(image * visible) / blur(visible). A pixel far from any visible one gets a wider Gaussian.
    Visible pixels are kept as they are. Hand-built on scipy.ndimage.gaussian_filter because it fills a whole
    batch in a few calls; scipy.interpolate.griddata does one image at a time and took about a second each here.
    Shape: (B, C, H, W) floats, (B, H, W) bool -> (B, C, H, W)."""
    x = images.float().numpy()
    v = visible.float().numpy()[:, None]  # (B, 1, H, W)
    xv = x * v  # hidden pixels zeroed: never read
    out = np.where(v > 0, x, np.nan).astype(np.float32)
    for s in sigmas:
        todo = np.flatnonzero(np.isnan(out).any(axis=(1, 2, 3)))  # images with a pixel still unfilled
        if not len(todo):
            break
        sigma = (0, 0, s, s)  # never across images or channels
        weight = ndimage.gaussian_filter(v[todo], sigma, mode="nearest")
        value = ndimage.gaussian_filter(xv[todo], sigma, mode="nearest") / np.maximum(weight, 1e-30)
        out[todo] = np.where(np.isnan(out[todo]) & (weight > REACH), value, out[todo])
    out = np.where(np.isnan(out), xv.sum((2, 3), keepdims=True) / v.sum((2, 3), keepdims=True), out)
    return torch.from_numpy(out).to(images.dtype)


def fill_with_mean_colour(images: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """Every hidden pixel in the mean colour of the image's visible pixels. Shape: as fill_from_neighbours."""
    v = visible[:, None].to(images.dtype)  # (B, 1, H, W)
    mean = (images * v).sum((2, 3), keepdim=True) / v.sum((2, 3), keepdim=True)  # (B, C, 1, 1)
    return torch.where(v > 0, images, mean)


# --------------------------------------------------------------------------- the scores
def _normalised(patches: torch.Tensor) -> torch.Tensor:
    """Each patch minus its mean, over its spread, as masked_mse_loss normalises targets. Shape: same."""
    mean, var = patches.mean(-1, keepdim=True), patches.var(-1, keepdim=True)
    return (patches - mean) / (var + EPS).sqrt()


def hidden_errors(prediction: torch.Tensor, images: torch.Tensor, mask: torch.Tensor) -> dict:
    """Per image, the mean over its hidden patches of the squared error per value: "normalised" (target and
    prediction each normalised per patch, the course's norm_pix units) and "pixels" (raw [0, 1] values).
    Shape: (B, 3, H, W), (B, 3, H, W), (B, L) -> {name: (B,)}."""
    pred, target = patchify(prediction.float(), PATCH), patchify(images.float(), PATCH)  # (B, L, P)
    per_patch = {
        "normalised": ((_normalised(pred) - _normalised(target)) ** 2).mean(-1),  # (B, L)
        "pixels": ((pred - target) ** 2).mean(-1),
    }
    m = mask.float()
    return {k: (v * m).sum(1) / m.sum(1) for k, v in per_patch.items()}


def _fixed_masking(mask: torch.Tensor):
    """random_masking's contract for a mask given in advance (B, L), every row hiding as many patches: the
    visible tokens in their original order, then `ids_restore` as random_masking returns it."""

    def masking(tokens, mask_ratio=None, generator=None):
        B, L, D = tokens.shape
        ids_shuffle = mask.argsort(dim=1, stable=True)  # (B, L): visible (0) first, in their order
        keep = int((mask[0] == 0).sum())
        visible = tokens.gather(1, ids_shuffle[:, :keep, None].expand(B, keep, D))  # (B, K, D)
        return visible, mask.to(tokens.dtype), ids_shuffle.argsort(dim=1)

    return masking


def mae_prediction(model, images: torch.Tensor, mask: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """The MAE's picture of every patch with the patches of `mask` hidden (the same masks as the baselines').
    The decoder's output, in pixels for a model that predicts raw pixels (the shipped one); a norm_pix model's
    output is in normalised units, which the normalised score puts every prediction in anyway.
    Shape: (B, 3, H, W) floats in [0, 1], (B, L) -> (B, 3, H, W)."""
    from sslcourse.methods.mae import unpatchify

    device = next(model.parameters()).device
    own = model.masking_fn
    out = []
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch):
                x, m = images[start : start + batch].to(device), mask[start : start + batch].to(device)
                model.masking_fn = _fixed_masking(m)
                latent, _, ids_restore = model.forward_encoder(x, 0.0)
                out.append(unpatchify(model.forward_decoder(latent, ids_restore).float().cpu(), model.patch))
    finally:
        model.masking_fn = own
    return torch.cat(out)


def _mean_se(values: torch.Tensor) -> dict:
    v = values.double()
    return {"mean": round(v.mean().item(), 6), "se": round(v.std().item() / math.sqrt(len(v)), 6)}  # pixel MSE ~0.01


def ratio_sweep(images: torch.Tensor, ratios=RATIOS, model=None, seed: int = 0, log=print) -> dict:
    """Both baselines (and `model`, an MAE, when given) at every ratio, on the same masks: per method and
    ratio, the mean and standard error over the images of the normalised and the raw-pixel error on the hidden
    patches. Shape: images (M, 3, 32, 32) uint8."""
    x = images.float() / 255
    methods = {"neighbours": fill_from_neighbours, "mean colour": fill_with_mean_colour}
    rows = {}
    for i, ratio in enumerate(ratios):
        mask = patch_masks(len(x), ratio, seed=seed + i)
        visible = pixel_mask(mask)
        predictions = {name: fill(x, visible) for name, fill in methods.items()}
        if model is not None:
            predictions["MAE"] = mae_prediction(model, x, mask)
        errors = {name: hidden_errors(p, x, mask) for name, p in predictions.items()}
        row = {name: {k: _mean_se(v) for k, v in e.items()} for name, e in errors.items()}
        if model is not None:  # paired: the same images and masks, so the difference has a small error
            row["MAE minus neighbours"] = {
                k: _mean_se(errors["MAE"][k] - errors["neighbours"][k]) for k in ("normalised", "pixels")
            }
        row["hidden_patches"] = int(mask[0].sum())
        rows[f"{ratio:g}"] = row
        log(
            f"ratio {ratio:g}: "
            + "   ".join(f"{n} {row[n]['normalised']['mean']:.3f} ± {row[n]['normalised']['se']:.3f}" for n in errors)
        )
    return {"ratios": rows, "n_test": len(x), "patch": PATCH}


# --------------------------------------------------------------------------- results
def load_result(name: str = "shortcut_ratios") -> dict:
    """The shipped sweep."""
    return json.loads((RESULTS_DIR / f"{name}.json").read_text())


def series(result: dict, method: str, metric: str = "normalised") -> tuple[list[float], list[float], list[float]]:
    """(ratios, means, standard errors) of one method from a result."""
    rows = result["results"]["ratios"]
    keys = sorted((k for k in rows if method in rows[k]), key=float)
    return (
        [float(k) for k in keys],
        [rows[k][method][metric]["mean"] for k in keys],
        [rows[k][method][metric]["se"] for k in keys],
    )


# --------------------------------------------------------------------------- command line
def _ratios(run: Run) -> dict:
    a = run.args
    images, labels = data.load_cifar10("test")
    if a.test_subset:
        images = images[data.balanced_subset(labels, a.test_subset)]
    model = None
    if a.model != "none":
        model = pretrained.load(a.model, device=run.device, full=True)
        card = pretrained.card(a.model)
        run.settings["model_card"] = {
            k: card.get(k) for k in ("name", "sha256", "trained_on", "command", "code_version")
        }
    ratios = [float(r) for r in a.ratios.split(",")]
    return ratio_sweep(images, ratios, model, seed=a.seed)


CLI = Topic(
    "mae_shortcut",
    __doc__,
    {"ratios": Experiment(_ratios, "both baselines and the shipped MAE at each masking ratio, on the test images")},
    options=(
        Option("--ratios", default=",".join(f"{r:g}" for r in RATIOS), help="the masking ratios"),
        Option("--model", default="mae_vit", help="MAE weights to score beside the baselines (none: baselines only)"),
        Option("--seed", type=int, default=0, help="the masks (ratio i draws with seed + i)"),
        Option("--test-subset", type=int, help="a balanced subset of N test images (tests; default: all 10,000)"),
    ),
    training=False,
)
_parser, main = CLI.parser, CLI.main


if __name__ == "__main__":
    sys.exit(main())
