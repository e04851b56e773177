"""Notebook 02's pictures: the bins and the prior, the three losses side by side, the measurements,
the annealing temperature, a black-and-white photograph colorized at full resolution."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sslcourse.methods.colorization import T_PAPER, Colorizer
from sslcourse.methods.colorization_bins import lab_to_rgb, rgb_to_lab
from sslcourse.provenance import label

LABELS = {"l2": "L2 regression", "classification": "classification", "rebalanced": "rebalanced classification"}


def _show(ax, rgb: torch.Tensor, title: str | None = None):
    """One image (3, H, W) in [0, 1] on an axis, without ticks."""
    ax.imshow(rgb.permute(1, 2, 0).clamp(0, 1).numpy(), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def grey(images: torch.Tensor) -> torch.Tensor:
    """The lightness alone, as RGB (ab = 0). Shape: uint8 (N, 3, H, W) -> float (N, 3, H, W)."""
    lab = rgb_to_lab(images.float() / 255)
    return lab_to_rgb(torch.cat([lab[:, :1], torch.zeros_like(lab[:, 1:])], dim=1))


def with_ab(images: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """The images' own lightness with another colour. Shape: uint8 (N, 3, H, W), (N, 2, H, W) -> (N, 3, H, W)."""
    L = rgb_to_lab(images.float() / 255)[:, :1]
    return lab_to_rgb(torch.cat([L, ab.float()], dim=1))


def plot_bins(centers: torch.Tensor, prior: torch.Tensor, counts: torch.Tensor, grid: int = 10):
    """Left: the in-gamut bins, each painted in its own colour at L = 60. Right: CIFAR-10's prior over them
    (log scale), empty bins marked."""
    import matplotlib.pyplot as plt
    import numpy as np

    lo, hi = int(centers.min()) - grid, int(centers.max()) + grid
    n = (hi - lo) // grid + 1
    paint = np.ones((n, n, 3))
    logp = np.full((n, n), np.nan)
    for (a, b), p in zip(centers.tolist(), prior.tolist()):
        i, j = int((b - lo) // grid), int((a - lo) // grid)  # rows: b, columns: a
        paint[i, j] = lab_to_rgb(torch.tensor([60.0, a, b])).numpy()
        logp[i, j] = np.log10(p)
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 4.2))
    extent = (lo - grid / 2, hi + grid / 2, lo - grid / 2, hi + grid / 2)
    axes[0].imshow(paint, origin="lower", extent=extent)
    axes[0].set_title(f"the {len(centers)} in-gamut ab bins (shown at L = 60)", fontsize=9)
    im = axes[1].imshow(logp, origin="lower", extent=extent, cmap="viridis")
    empty = centers[counts == 0]
    axes[1].plot(empty[:, 0], empty[:, 1], "x", color="red", ms=4, label="no CIFAR-10 pixel")
    axes[1].legend(loc="lower left", fontsize=7)
    axes[1].set_title("CIFAR-10's ab prior, log10 p (smoothed, sigma 5)", fontsize=9)
    fig.colorbar(im, ax=axes[1], fraction=0.046)
    for ax in axes:
        ax.set_xlabel("a (green - red)")
        ax.set_ylabel("b (blue - yellow)")
    fig.tight_layout()
    return fig


def show_losses(images: torch.Tensor, samples: dict, title: str = ""):
    """Rows: images; columns: the grey input, each loss's colorization, the truth.
    `samples[name]`: ab (N, 2, H, W) as nested lists or a tensor."""
    import matplotlib.pyplot as plt

    names = [n for n in ("l2", "classification", "rebalanced") if n in samples]
    cols = [("input (L only)", grey(images))]
    cols += [(LABELS[n], with_ab(images, torch.as_tensor(samples[n]).float())) for n in names]
    cols.append(("ground truth", images.float() / 255))
    fig, axes = plt.subplots(len(images), len(cols), figsize=(1.45 * len(cols), 1.45 * len(images)), squeeze=False)
    for i in range(len(images)):
        for j, (name, pics) in enumerate(cols):
            _show(axes[i, j], pics[i], name if i == 0 else None)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_measurements(record: dict):
    """Three panels: the per-pixel accuracy curves (fraction of pixels within d, zoomed on small d where they
    differ), the two AuCs side by side (plain and rarity-weighted), and the colourfulness of each prediction.
    Error bars: two standard errors, bounded from each quantity's range (per-image spreads were not recorded)."""
    import matplotlib.pyplot as plt
    import numpy as np

    r = record["results"]
    rows, d, n = r["rows"], r["curve_thresholds"], r["n_test"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.6), gridspec_kw={"width_ratios": [1.1, 1, 1]})
    zoom = 40  # beyond about 40 units of ab every curve is close to 1: the differences live below
    for name, row in rows.items():
        style = "--" if name in ("grey (ab = 0)", "ground truth") else "-"
        axes[0].plot(d, row["curve"], style, label=LABELS.get(name, name))
    axes[0].set_xlim(0, zoom)
    axes[0].set_xlabel(f"distance d in ab (zoomed on 0 to {zoom}; every curve reaches 1 by 150)")
    axes[0].set_ylabel("fraction of pixels within d")
    axes[0].legend(fontsize=7)
    models = [m for m in rows if m not in ("ground truth",)]
    x = np.arange(len(models))
    bound = 2 * (100 / 2) / n**0.5  # two standard errors of a mean in [0, 100], at most
    for k, (key, name) in enumerate((("auc", "plain AuC"), ("auc_rebalanced", "rarity-weighted AuC"))):
        values = [rows[m][key] for m in models]
        bars = axes[1].bar(x + (k - 0.5) * 0.38, values, 0.38, yerr=bound, capsize=2, label=name)
        for bar, v in zip(bars, values):
            axes[1].annotate(f"{v:.1f}", (bar.get_x() + bar.get_width() / 2, v), ha="center", va="bottom", fontsize=7)
    axes[1].set_xticks(x, [LABELS.get(m, m) for m in models], rotation=15, ha="right", fontsize=8)
    axes[1].set_ylim(0, 100)
    axes[1].set_ylabel("area under the curve (%)")
    axes[1].legend(fontsize=7, loc="lower left")
    names = list(rows)
    chroma_bound = 2 * (130 / 2) / n**0.5  # mean chroma lies in [0, ~130]
    axes[2].barh(
        [LABELS.get(m, m) for m in names],
        [rows[m]["mean_chroma"] for m in names],
        xerr=[0 if m.startswith(("grey", "ground")) else chroma_bound for m in names],
        capsize=3,
        color=["0.6" if m.startswith(("grey", "ground")) else "C0" for m in names],
    )
    axes[2].set_xlabel("mean chroma sqrt(a^2 + b^2): how colourful")
    axes[2].invert_yaxis()
    fig.suptitle(f"{n} CIFAR-10 test images, {label(record)}; error bars: 2 standard errors (upper bounds)", fontsize=9)
    fig.tight_layout()
    return fig


def temperature_strip(model: Colorizer, images: torch.Tensor, temperatures=(1.0, 0.6, T_PAPER, 0.2, 0.05, 0.01)):
    """Rows: images; columns: the annealed mean from T = 1 (the mean) down to nearly the mode."""
    import matplotlib.pyplot as plt

    L = rgb_to_lab(images.float() / 255)[:, :1]
    cols = [(f"T = {t:g}" + (" (paper)" if t == T_PAPER else ""), model.colorize(L, t)) for t in temperatures]
    cols.append(("ground truth", images.float() / 255))
    fig, axes = plt.subplots(len(images), len(cols), figsize=(1.4 * len(cols), 1.4 * len(images)), squeeze=False)
    for i in range(len(images)):
        for j, (name, pics) in enumerate(cols):
            _show(axes[i, j], pics[i], name if i == 0 else None)
    fig.tight_layout()
    return fig


def colorize_photo(model: Colorizer, photo: torch.Tensor, work_size: int = 96, T: float = T_PAPER) -> torch.Tensor:
    """Colorize a grey photograph at its full resolution: the network sees it shrunk to `work_size` pixels
    (its objects then have about the size of CIFAR's), its ab is enlarged back, and the photo's own
    full-resolution lightness is kept (colour needs far less detail than lightness).
    Shape: (H, W) or (1, H, W) or (3, H, W) in [0, 1] -> (3, H, W)."""
    if photo.dim() == 2:
        photo = photo[None]
    if photo.shape[0] == 3:
        L = rgb_to_lab(photo[None].float())[:, :1]
    else:
        L = rgb_to_lab(photo[None].float().expand(1, 3, -1, -1))[:, :1]  # a grey image's lightness
    H, W = L.shape[-2:]
    scale = work_size / max(H, W)
    small = F.interpolate(L, size=(max(8, round(H * scale)), max(8, round(W * scale))), mode="area")
    model.eval()
    ab = F.interpolate(
        model.predict_ab(small.to(model.centers.device), T).cpu(), size=(H, W), mode="bilinear", align_corners=False
    )
    return lab_to_rgb(torch.cat([L, ab], dim=1))[0]
