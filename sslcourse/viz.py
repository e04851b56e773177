"""Plots the notebooks share: image grids and accuracy curves."""

from __future__ import annotations

import torch


def image_grid(
    images: torch.Tensor, nrow: int = 8, titles=None, ax=None, title: str | None = None, fontsize: float = 8
):
    """Show a batch of images on one axes. Shape: (N, C, H, W), uint8 or float in [0, 1]; C = 1 or 3.
    `titles`: one caption per image, written in a white band under its tile (`fontsize` points)."""
    import matplotlib.pyplot as plt
    import torch.nn.functional as F
    from torchvision.utils import make_grid

    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images (N, 1 or 3, H, W), got {tuple(images.shape)}")
    x = images.float() / 255 if images.dtype == torch.uint8 else images.float().clamp(0, 1)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    band = round(0.35 * x.shape[2]) if titles is not None else 0  # room for a caption, so it never covers a picture
    x = F.pad(x, (0, 0, 0, band), value=1.0)  # (N, 3, H + band, W)
    grid = make_grid(x.cpu(), nrow=nrow, padding=2, pad_value=1.0)  # (3, H', W')
    if ax is None:
        rows = (len(x) + nrow - 1) // nrow
        tile = 1.1 * x.shape[2] / x.shape[3]
        _, ax = plt.subplots(figsize=(1.1 * min(nrow, len(x)), tile * rows + (0.4 if title else 0)))
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.axis("off")
    if titles is not None:  # one caption per image, in the band under its tile
        h, w = x.shape[2] + 2, x.shape[3] + 2
        for i, t in enumerate(titles):
            y = (i // nrow + 1) * h - band / 2
            ax.text((i % nrow) * w + w / 2, y, str(t), ha="center", va="center", fontsize=fontsize)
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
    errors: dict | None = None,
    note: str | None = None,
):
    """One line per name: curves = {name: {x: y}}; `errors` = {name: {x: half-height of the bar}} draws
    error bars (e.g. two binomial standard errors); `note` is a caption under the axes. Returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.5) if note is None else (5.5, 3.9))
    for i, (name, curve) in enumerate(curves.items()):
        xs = sorted(curve)
        yerr = [errors[name][x] for x in xs] if errors and name in errors else None
        ax.errorbar(
            xs, [curve[x] for x in xs], yerr=yerr, fmt="o-", capsize=3 if yerr else 0, color=f"C{i}", label=name
        )
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
    if note:
        ax.annotate(
            note,
            (0, 0),
            xycoords="axes fraction",
            xytext=(0, -42),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize=7.5,
        )
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


# --------------------------------------------------------------------------- the successors of SimCLR
# Each method as boxes and arrows: (label, x, y) boxes and (from, to, style) arrows on a 10 x 6 canvas.
# Drawn with matplotlib's annotate rather than a graph library: four small fixed diagrams do not need one.
_SUCCESSORS = {
    "SimCLR (2020)": (
        "two views, one network; each view must find its partner\namong all the other views of the batch",
        [
            ("view 1", 1.5, 4.5),
            ("view 2", 1.5, 1.5),
            ("encoder + head", 5, 4.5),
            ("encoder + head ", 5, 1.5),
            ("contrast:\npositive vs 2B - 2\nnegatives", 8.5, 3),
        ],
        [(0, 2, "-"), (1, 3, "-"), (2, 4, "-"), (3, 4, "-")],
    ),
    "MoCo (2019)": (
        "negatives from a queue of past batches; the key encoder is\na slow moving average of the query encoder",
        [
            ("query view", 1.5, 4.5),
            ("key view", 1.5, 1.5),
            ("query encoder", 5, 4.5),
            ("key encoder\n(momentum)", 5, 1.5),
            ("contrast with a\nqueue of 65,536 keys", 8.5, 3),
        ],
        [(0, 2, "-"), (1, 3, "-"), (2, 4, "-"), (3, 4, "-"), (2, 3, ":")],
    ),
    "BYOL (2020) / SimSiam (2021)": (
        "no negatives at all: one branch predicts the other, which gets\nno gradient (stop-grad); BYOL's target is a moving average",
        [
            ("view 1", 1.5, 4.5),
            ("view 2", 1.5, 1.5),
            ("encoder +\npredictor", 5, 4.5),
            ("encoder\n(stop-grad)", 5, 1.5),
            ("predict the other\nbranch's output", 8.5, 3),
        ],
        [(0, 2, "-"), (1, 3, "-"), (2, 4, "-"), (3, 4, "-")],
    ),
    "DINO (2021)": (
        "self-distillation: a student matches the teacher's softmax over\nprototypes; centring and sharpening prevent collapse",
        [
            ("all crops\n(small and large)", 1.5, 4.5),
            ("large crops\nonly", 1.5, 1.5),
            ("student ViT", 5, 4.5),
            ("teacher ViT\n(moving average)", 5, 1.5),
            ("cross-entropy\nstudent vs teacher", 8.5, 3),
        ],
        [(0, 2, "-"), (1, 3, "-"), (2, 4, "-"), (3, 4, "-"), (2, 3, ":")],
    ),
}


def successors(figsize=(13, 7.5)):
    """Four diagrams: SimCLR and three of its successors (MoCo, BYOL/SimSiam, DINO), each with its one key
    idea under it. A dotted arrow is a moving average of weights, not a gradient. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=figsize)
    for ax, (title, (idea, boxes, arrows)) in zip(axes.flat, _SUCCESSORS.items()):
        ax.set_xlim(0, 10)
        ax.set_ylim(-0.6, 6)
        ax.axis("off")
        ax.set_title(title, fontsize=11, fontweight="bold")
        for label, x, y in boxes:
            ax.text(
                x,
                y,
                label,
                ha="center",
                va="center",
                fontsize=8.5,
                bbox=dict(boxstyle="round,pad=0.4", facecolor="#eef3fb", edgecolor="#4a6fa5"),
            )
        for a, b, style in arrows:
            (_, x0, y0), (_, x1, y1) = boxes[a], boxes[b]
            if x0 == x1:  # a vertical arrow (a moving average): start and end clear of the boxes
                start, end = (x0, y0 - 0.6), (x1, y1 + 0.75)
            else:
                start, end = (x0 + 1.1, y0), (x1 - 1.1, y1)
            colour = "#333333" if style == "-" else "#a05a2c"
            ax.annotate("", end, start, arrowprops=dict(arrowstyle="->", ls=style, color=colour))
        ax.text(5, -0.3, idea, ha="center", va="center", fontsize=8.5, style="italic")
    fig.suptitle(
        "After SimCLR: four answers to 'what stops every image mapping to the same point?'\n"
        "(dotted arrow: weights copied as a moving average, no gradient)",
        fontsize=11,
    )
    fig.tight_layout()
    return fig
