"""Notebook 04's figures: reconstructions (CIFAR images and a real photograph cut into 32x32 tiles), the
masking-ratio slider, and plots of the shipped experiment results (`sslcourse.experiments.mae`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sslcourse.experiments import origin
from sslcourse.verdicts import binomial_se

PANELS = {"masked": "input", "reconstruction": "output", "pasted": "+ visible"}  # what the encoder sees, what the
# decoder paints in the hidden patches (the visible ones grey), and that with the visible patches pasted back


def _show(ax, image: torch.Tensor, title: str | None = None):
    """One image (3, H, W) in [0, 1] or uint8 on an axes, without ticks."""
    x = image.float() / 255 if image.dtype == torch.uint8 else image.float().clamp(0, 1)
    ax.imshow(x.permute(1, 2, 0).cpu().numpy(), interpolation="nearest")
    ax.set_xticks([]), ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def reconstruct(model, images: torch.Tensor, ratio: float, seed: int = 0) -> dict:
    """model.reconstruct on the model's device with a seeded generator, results on the CPU."""
    device = next(model.parameters()).device
    out = model.eval().reconstruct(images.to(device), ratio, torch.Generator(device).manual_seed(seed))
    return {k: v.cpu() for k, v in out.items()}


# --------------------------------------------------------------------------- reconstructions
def show_reconstructions(model, images: torch.Tensor, ratios=(0.5, 0.75, 0.9), seed: int = 0, title: str = ""):
    """One row per image; for each ratio: masked input, reconstruction, reconstruction with the visible patches
    pasted back; the original last. Shape: images (N, 3, 32, 32) uint8."""
    import matplotlib.pyplot as plt

    outs = {r: reconstruct(model, images, r, seed) for r in ratios}
    cols = 3 * len(ratios) + 1
    fig, axes = plt.subplots(len(images), cols, figsize=(0.9 * cols, 0.9 * len(images) + 0.7), squeeze=False)
    for i in range(len(images)):
        for j, r in enumerate(ratios):
            for k, (key, name) in enumerate(PANELS.items()):
                _show(axes[i, 3 * j + k], outs[r][key][i], f"{name}\n{r:.0%} hidden" if i == 0 else None)
        _show(axes[i, -1], images[i], "original" if i == 0 else None)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def photo_tiles(photo: torch.Tensor, tiles: int = 4, size: int = 32) -> torch.Tensor:
    """A photograph cut into tiles x tiles crops of size x size (centre square, resized with antialiasing).
    Shape: (C, H, W) uint8 -> (tiles * tiles, 3, size, size) uint8, in row-major order."""
    if photo.shape[0] == 1:
        photo = photo.expand(3, -1, -1)
    side = min(photo.shape[1:])
    top, left = (photo.shape[1] - side) // 2, (photo.shape[2] - side) // 2
    square = photo[:, top : top + side, left : left + side].float()[None]
    x = F.interpolate(square, size=(tiles * size,) * 2, mode="bilinear", antialias=True, align_corners=False)[0]
    x = x.reshape(3, tiles, size, tiles, size).permute(1, 3, 0, 2, 4).reshape(tiles * tiles, 3, size, size)
    return x.round().clamp(0, 255).to(torch.uint8)


def untile(tiles: torch.Tensor) -> torch.Tensor:
    """photo_tiles' inverse. Shape: (n * n, C, s, s) -> (C, n * s, n * s)."""
    n = round(len(tiles) ** 0.5)
    _, C, s, _ = tiles.shape
    return tiles.reshape(n, n, C, s, s).permute(2, 0, 3, 1, 4).reshape(C, n * s, n * s)


def show_photo(model, photo: torch.Tensor, ratios=(0.5, 0.75, 0.9), tiles: int = 4, seed: int = 0, title: str = ""):
    """A real photograph, cut into 32x32 tiles that are masked and reconstructed one by one, then put back
    together: one row per ratio (masked, reconstruction, + visible patches), the original on the right."""
    import matplotlib.pyplot as plt

    crops = photo_tiles(photo, tiles)
    fig, axes = plt.subplots(len(ratios), 4, figsize=(9, 2.3 * len(ratios) + 0.4), squeeze=False)
    for i, r in enumerate(ratios):
        out = reconstruct(model, crops, r, seed)
        for k, (key, name) in enumerate(PANELS.items()):
            _show(axes[i, k], untile(out[key]), f"{name}, {r:.0%} hidden")
        _show(axes[i, 3], untile(crops), "original (tiled 32x32)" if i == 0 else None)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def masking_slider(model, images: torch.Tensor, seed: int = 0):
    """A slider for the masking ratio: masks and reconstructs `images` (N, 3, 32, 32) live. Returns the widget."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    from sslcourse.viz import image_grid

    ratio = widgets.IntSlider(value=75, min=0, max=95, step=5, description="masked %")
    out = widgets.Output()

    def render(_=None):
        r = reconstruct(model, images, ratio.value / 100, seed)
        rows = torch.cat([r["masked"], r["reconstruction"], r["pasted"], images.float() / 255])
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(1.0 * len(images), 4.6))
            image_grid(
                rows,
                nrow=len(images),
                ax=ax,
                title=f"{ratio.value}% masked. Rows: masked input, output, + visible patches, original",
            )
            display(fig)
            plt.close(fig)

    ratio.observe(render, names="value")
    render()
    return widgets.VBox([ratio, out])


# --------------------------------------------------------------------------- shipped results
def plot_sweep(record: dict):
    """The paper's Figure 5 at our scale: accuracy against the masking ratio, fine-tuning and linear probing."""
    import matplotlib.pyplot as plt

    rows = record["results"]["ratios"]
    ratios = sorted(rows, key=float)
    x = [100 * float(r) for r in ratios]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.3))
    for ax, (key, name) in zip(axes, [("finetune_top1", "fine-tuning"), ("linear_top1", "linear probing")]):
        y = [rows[r][key] for r in ratios]
        err = [2 * binomial_se(v, record["results"]["n_test"]) for v in y]  # two standard errors
        ax.errorbar(x, y, yerr=err, fmt="o-", capsize=3, color="C0" if key == "finetune_top1" else "C1")
        for xi, yi in zip(x, y):
            ax.annotate(f"{yi:.1f}", (xi, yi), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
        ax.set_xticks(x)
        ax.set_xlabel("masking ratio (%)")
        ax.set_ylabel("CIFAR-10 test accuracy (%)\n(axis zoomed: it does not start at 0)")
        ax.set_title(name, fontsize=10)
        ax.margins(y=0.25)
        ax.grid(alpha=0.3)
    fig.suptitle(f"MAE: accuracy vs masking ratio{origin(record)}; bars: ± 2 standard errors", fontsize=10)
    fig.tight_layout()
    return fig


def plot_finetune(record: dict):
    """The MAE encoder against the same ViT from scratch: linear probe and fine-tuning with equal budgets."""
    import matplotlib.pyplot as plt

    r = record["results"]
    fig, ax = plt.subplots(figsize=(6, 3.4))
    groups = [("linear_top1", "linear probe"), ("test_top1", "fine-tuned")]
    starts = [
        ("scratch", "random init (the probe reads it untrained;\nfine-tuning trains it from scratch)", "#999999"),
        ("mae", "MAE 75% pre-trained", "#0072B2"),
    ]  # Okabe-Ito grey and blue: told apart by colour-blind readers too
    for i, (who, label, colour) in enumerate(starts):
        values = [r[who][k] for k, _ in groups]
        errors = [2 * binomial_se(v, r["n_test"]) for v in values]  # two standard errors
        bars = ax.bar(
            [g + 0.38 * i for g in range(len(groups))],
            values,
            width=0.36,
            label=label,
            color=colour,
            yerr=errors,
            capsize=3,
        )
        for bar, v, e in zip(bars, values, errors):  # above the error bar's cap, never across it
            x = bar.get_x() + bar.get_width() / 2
            ax.annotate(
                f"{v:.1f}", (x, v + e), xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=8
            )
    ax.set_xticks([g + 0.19 for g in range(len(groups))], [name for _, name in groups])
    ax.set_ylabel("CIFAR-10 test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.axhline(10, color="grey", lw=0.8, ls=":")
    ax.legend(fontsize=7.5, loc="upper left")
    ax.set_title(f"pre-trained vs from scratch{origin(record)}\n(bars: ± 2 standard errors)", fontsize=10)
    fig.tight_layout()
    return fig
