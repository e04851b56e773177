"""Plots the notebooks share: image grids and accuracy curves."""
from __future__ import annotations

import torch


def image_grid(images: torch.Tensor, nrow: int = 8, titles=None, ax=None, title: str | None = None):
    """Show a batch of images on one axes. Shape: (N, C, H, W), uint8 or float in [0, 1]; C = 1 or 3."""
    import matplotlib.pyplot as plt
    from torchvision.utils import make_grid

    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images (N, 1 or 3, H, W), got {tuple(images.shape)}")
    x = images.float() / 255 if images.dtype == torch.uint8 else images.float().clamp(0, 1)
    grid = make_grid(x.cpu(), nrow=nrow, padding=2, pad_value=1.0)  # (3, H', W')
    if ax is None:
        rows = (len(x) + nrow - 1) // nrow
        _, ax = plt.subplots(figsize=(1.1 * min(nrow, len(x)), 1.1 * rows + (0.4 if title else 0)))
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.axis("off")
    if titles is not None:  # one caption per image, under its tile
        h, w = x.shape[2] + 2, x.shape[3] + 2
        for i, t in enumerate(titles):
            ax.text((i % nrow) * w + w / 2, (i // nrow + 1) * h - 1, str(t), ha="center", va="top", fontsize=6)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def plot_curves(curves: dict, xlabel: str = "labelled examples per class", ylabel: str = "test accuracy (%)",
                title: str | None = None, ax=None, log_x: bool = True):
    """One line per name: curves = {name: {x: y}}. Returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.5))
    for i, (name, curve) in enumerate(curves.items()):
        xs = sorted(curve)
        ax.plot(xs, [curve[x] for x in xs], "o-", color=f"C{i}", label=name)
    if log_x:  # log axis, but ticks at the measured values, written plainly (1, 10, 100, not 10^0)
        from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator(sorted({x for c in curves.values() for x in c})))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.axhline(10, color="grey", lw=0.8, ls=":", label="chance")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return ax
