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


def plot_curves(
    curves: dict,
    xlabel: str = "labelled examples per class",
    ylabel: str = "test accuracy (%)",
    title: str | None = None,
    ax=None,
    log_x: bool = True,
):
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


def confusion_matrix(pred: torch.Tensor, labels: torch.Tensor, classes=None, ax=None, title: str | None = None):
    """Which classes are taken for which: rows the true class, columns the predicted one, each row as
    fractions of that class (scikit-learn's ConfusionMatrixDisplay). Returns the axes."""
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    from sslcourse.data import CLASSES

    classes = list(classes or CLASSES)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.2, 5.4))
    ConfusionMatrixDisplay.from_predictions(
        labels.cpu().numpy(),
        pred.cpu().numpy(),
        labels=range(len(classes)),
        display_labels=classes,
        normalize="true",
        values_format=".2f",
        cmap="Blues",
        ax=ax,
        colorbar=True,
        xticks_rotation=45,
        im_kw={"vmin": 0, "vmax": 1},
    )  # one scale for every matrix
    plt.setp(ax.get_xticklabels(), ha="right", rotation_mode="anchor")
    ax.set(xlabel="predicted class", ylabel="true class", title=title or "")
    for text in ax.texts:
        text.set_fontsize(7)
    return ax


def tsne(features: dict, labels: torch.Tensor, classes=None, seed: int = 0, size: float = 4.0):
    """One t-SNE map per set of features (scikit-learn's TSNE, PCA initialisation, perplexity 30), points
    coloured by their true class: which features already group the classes without being told them?
    `features`: {name: (N, D)}. Returns the figure."""
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    from sslcourse.data import CLASSES

    classes = list(classes or CLASSES)
    fig, axes = plt.subplots(1, len(features), figsize=(size * len(features), size + 0.6), squeeze=False)
    y = labels.cpu().numpy()
    for ax, (name, f) in zip(axes[0], features.items()):
        xy = TSNE(n_components=2, init="pca", perplexity=30, random_state=seed).fit_transform(f.float().cpu().numpy())
        for c, cls in enumerate(classes):
            ax.scatter(*xy[y == c].T, s=4, color=plt.cm.tab10(c), label=cls)
        ax.set(title=name, xticks=[], yticks=[])
    axes[0][0].legend(loc="upper left", bbox_to_anchor=(0, -0.02), ncol=5, fontsize=7, markerscale=3, frameon=False)
    fig.tight_layout()
    return fig
