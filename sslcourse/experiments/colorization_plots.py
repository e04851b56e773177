"""Notebook 02's pictures: the bins and the prior, the three losses side by side, the measurements,
the annealing temperature, a black-and-white photograph colorized at full resolution."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sslcourse.methods.colorization import T_PAPER, Colorizer
from sslcourse.methods.colorization_bins import lab_to_rgb, rgb_to_lab
from sslcourse.provenance import label

LABELS = {"l2": "L2 regression", "classification": "classification", "rebalanced": "rebalanced classification"}
SHORT = {"l2": "L2", "classification": "classif.", "rebalanced": "rebalanced"}  # for narrow axes


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


# One colour and marker per prediction, the same in every panel (Okabe-Ito: told apart by colour-blind readers too).
STYLES = {
    "grey (ab = 0)": dict(color="0.45", ls="--", marker=""),
    "ground truth": dict(color="black", ls=":", marker=""),
    "l2": dict(color="#E69F00", ls="-", marker="s"),
    "classification": dict(color="#56B4E9", ls="-", marker="o"),
    "rebalanced": dict(color="#009E73", ls="-", marker="^"),
}


def plot_measurements(record: dict):
    """Four panels: the per-pixel accuracy curves (fraction of pixels within d, zoomed on small d where they
    differ), the plain and the rarity-weighted AuC (each on an axis zoomed to its values, the grey guess as a
    line: the differences are a few points), and the colourfulness of each prediction.
    Error bars: two standard errors, bounded from each quantity's range (per-image spreads were not recorded)."""
    import matplotlib.pyplot as plt

    r = record["results"]
    rows, d, n = r["rows"], r["curve_thresholds"], r["n_test"]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8), gridspec_kw={"width_ratios": [1.2, 0.75, 0.75, 1]})
    zoom = 40  # beyond about 40 units of ab every curve is close to 1: the differences live below
    for name, row in rows.items():
        style = STYLES.get(name, dict(color="C7", ls="-", marker="o"))
        axes[0].plot(d, row["curve"], label=LABELS.get(name, name), markevery=1, ms=4, **style)
    axes[0].set_xlim(0, zoom)
    axes[0].set_xlabel(f"distance d in ab (zoomed on 0 to {zoom};\nevery curve reaches 1 by 150)")
    axes[0].set_ylabel("fraction of pixels within d")
    axes[0].legend(fontsize=7)
    models = [m for m in rows if m not in ("grey (ab = 0)", "ground truth")]
    bound = 2 * (100 / 2) / n**0.5  # two standard errors of a mean in [0, 100], at most
    for ax, (key, name) in zip(axes[1:3], (("auc", "plain AuC"), ("auc_rebalanced", "rarity-weighted AuC"))):
        for i, m in enumerate(models):
            v, style = rows[m][key], STYLES.get(m, dict(color="C7", marker="o"))
            ax.errorbar(i, v, yerr=bound, fmt=style["marker"] or "o", color=style["color"], capsize=3, ms=7)
            ax.annotate(f"{v:.1f}", (i, v), xytext=(7, 0), textcoords="offset points", va="center", fontsize=8)
        if "grey (ab = 0)" in rows:
            grey = rows["grey (ab = 0)"][key]
            ax.axhline(grey, color="0.45", ls="--", lw=1, label=f"grey guess ({grey:.1f})")
            ax.legend(fontsize=7, loc="lower left")
        ax.set_xticks(range(len(models)), [SHORT.get(m, m) for m in models], fontsize=8)
        ax.set_xlim(-0.5, len(models) - 0.2)
        ax.margins(y=0.35)
        ax.set_ylabel(f"{name} (%; axis zoomed)")
        ax.set_title(name, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    names = list(rows)
    chroma_bound = 2 * (130 / 2) / n**0.5  # mean chroma lies in [0, ~130]
    axes[3].barh(
        [LABELS.get(m, m) for m in names],
        [rows[m]["mean_chroma"] for m in names],
        xerr=[0 if m.startswith(("grey", "ground")) else chroma_bound for m in names],
        capsize=3,
        color=[STYLES.get(m, dict(color="C7"))["color"] for m in names],
    )
    axes[3].set_xlabel("mean chroma sqrt(a^2 + b^2): how colourful")
    axes[3].invert_yaxis()
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
