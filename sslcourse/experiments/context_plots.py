"""Notebook 01's figures: patch pairs on their grid, chromatic aberration on a real photograph, nearest
neighbours of patches (learned features vs pixels), and plots of the shipped results
(`sslcourse.experiments.context`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sslcourse.experiments import origin
from sslcourse.methods.context import remove_green_magenta, upsample
from sslcourse.methods.context_shortcuts import chromatic_aberration
from sslcourse.verdicts import binomial_se, bounded_mean

LABELS = ("top-left", "top", "top-right", "left", "right", "bottom-left", "bottom", "bottom-right")
PAPER = {"aberrated, raw colour": 0.255, "aberrated, projected": 0.321, "centre": 0.371}  # Doersch et al., Sec. 3.1


def _show(ax, image: torch.Tensor, title: str | None = None, fontsize: int = 8):
    """One image (3, H, W) in [0, 1] or uint8 on an axes, without ticks."""
    x = image.float() / 255 if image.dtype == torch.uint8 else image.float().clamp(0, 1)
    ax.imshow(x.permute(1, 2, 0).cpu().numpy(), interpolation="nearest")
    ax.set_xticks([]), ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize)


def _where(image: torch.Tensor, patch: torch.Tensor) -> tuple[int, int]:
    """(row, column) where `patch` was cut from `image` (an exact crop), by sliding comparison."""
    P = patch.shape[-1]
    windows = image.unfold(1, P, 1).unfold(2, P, 1)  # (C, H - P + 1, W - P + 1, P, P)
    diff = (windows - patch[:, None, None]).abs().sum(dim=(0, 3, 4))
    flat = int(diff.argmin())
    return flat // diff.shape[1], flat % diff.shape[1]


# --------------------------------------------------------------------------- patch pairs
def show_pairs(
    images: torch.Tensor,
    sampler,
    patch: int = 16,
    gap: int = 4,
    jitter: int = 2,
    scale: float = 2.0,
    seed: int = 0,
    title: str = "",
):
    """For each image (uint8, (N, 3, 32, 32)): the upsampled image with the centre patch (white) and the neighbour
    (yellow) outlined, then the two patches and the label. `sampler` is sample_patch_pair (yours or the library's)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    g = torch.Generator().manual_seed(seed)
    fig, axes = plt.subplots(
        len(images), 3, figsize=(4.6, 1.55 * len(images) + 0.4), squeeze=False, gridspec_kw={"width_ratios": [2, 1, 1]}
    )
    for i, img in enumerate(images):
        x = upsample(img[None].float() / 255, scale)[0]
        center, neighbor, label = sampler(x, patch, gap, jitter, g)
        label = int(label)
        _show(axes[i, 0], x)
        for p, colour in ((center, "white"), (neighbor, "yellow")):
            r, c = _where(x, p)
            axes[i, 0].add_patch(Rectangle((c - 0.5, r - 0.5), patch, patch, fill=False, ec=colour, lw=1.5))
        _show(axes[i, 1], center, "centre" if i == 0 else None)
        _show(axes[i, 2], neighbor)
        axes[i, 2].set_title(f"label {label}: {LABELS[label]}", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- chromatic aberration on a photograph
def show_aberration_photo(photo: torch.Tensor, strength: float = 0.01, corner: int = 40, title: str = ""):
    """A real photograph (uint8 (3, H, W)) with simulated aberration: the whole picture, then its top-left corner
    zoomed: as it was, aberrated, and both after projecting out the green-magenta axis."""
    import matplotlib.pyplot as plt

    x = photo.float() / 255
    aberrated = chromatic_aberration(x, strength)
    panels = [
        ("original", x),
        (f"aberrated (strength {strength:g})", aberrated),
        ("original, projected", remove_green_magenta(x)),
        ("aberrated, projected", remove_green_magenta(aberrated)),
    ]
    fig, axes = plt.subplots(1, 5, figsize=(12, 2.9), gridspec_kw={"width_ratios": [1.3, 1, 1, 1, 1]})
    _show(axes[0], aberrated, "the aberrated photograph", 9)
    from matplotlib.patches import Rectangle

    axes[0].add_patch(Rectangle((-0.5, -0.5), corner, corner, fill=False, ec="yellow", lw=1.5))
    for ax, (name, img) in zip(axes[1:], panels):
        crop = img[:, :corner, :corner]
        # The projection keeps grey levels and red-blue differences, which can leave [0, 1]: shown clipped.
        _show(ax, crop, f"corner: {name}", 9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- nearest neighbours
def grid_patches(images: torch.Tensor, patch: int = 16, scale: float = 2.0, stride: int = 16) -> torch.Tensor:
    """Non-overlapping patches of upsampled images. Shape: uint8 (N, 3, 32, 32) -> float (N * k * k, 3, P, P)."""
    x = upsample(images.float() / 255, scale)
    p = x.unfold(2, patch, stride).unfold(3, patch, stride)  # (N, 3, k, k, P, P)
    return p.permute(0, 2, 3, 1, 4, 5).reshape(-1, 3, patch, patch)


def textured_queries(patches: torch.Tensor, n: int = 6, seed: int = 0) -> list[int]:
    """n random patches among the most textured quarter, measured by the spatial standard deviation of each
    colour channel, averaged over the channels: flat sky or wall patches have every other flat patch as a
    neighbour and show nothing. (The deviation over all values at once would count a flat but saturated
    patch, orange say, as textured: its red and blue values differ, though nothing varies in space.)"""
    std = patches.flatten(2).std(dim=2).mean(dim=1)  # (N, C, P*P) -> (N,)
    textured = (std >= std.quantile(0.75)).nonzero().flatten()
    pick = torch.randperm(len(textured), generator=torch.Generator().manual_seed(seed))[:n]
    return textured[pick].tolist()


@torch.no_grad()
def nearest_neighbours(backbone, patches: torch.Tensor, queries: list[int], k: int = 5, batch_size: int = 1000):
    """For each query index: the k most similar other patches by cosine similarity of the backbone's features
    (`encode_patches`), and by Euclidean distance between raw pixels. Returns (features, pixels) index lists."""
    device = next(backbone.parameters()).device
    backbone.eval()
    feats = torch.cat([backbone.encode_patches(b.to(device)).float().cpu() for b in patches.split(batch_size)])
    feats = F.normalize(feats, dim=1)
    pix = patches.flatten(1)
    by_features, by_pixels = [], []
    for q in queries:
        sim = feats @ feats[q]
        sim[q] = -float("inf")
        by_features.append(sim.topk(k).indices.tolist())
        dist = (pix - pix[q]).square().sum(1)
        dist[q] = float("inf")
        by_pixels.append(dist.topk(k, largest=False).indices.tolist())
    return by_features, by_pixels


def show_neighbours(patches: torch.Tensor, queries: list[int], by_features, by_pixels, title: str = ""):
    """One row per query: the query, its neighbours in feature space, then in pixel space."""
    import matplotlib.pyplot as plt

    k = len(by_features[0])
    fig, axes = plt.subplots(
        len(queries), 2 * k + 1, figsize=(1.0 * (2 * k + 1), 1.05 * len(queries) + 0.5), squeeze=False
    )
    for i, q in enumerate(queries):
        _show(axes[i, 0], patches[q], "query" if i == 0 else None)
        for j, idx in enumerate(by_features[i]):
            _show(axes[i, 1 + j], patches[idx], "features" if i == 0 and j == k // 2 else None)
        for j, idx in enumerate(by_pixels[i]):
            _show(axes[i, 1 + k + j], patches[idx], "pixels" if i == 0 and j == k // 2 else None)
        for j in range(1, k + 1):
            for side in axes[i, j].spines.values():
                side.set_edgecolor("C0"), side.set_linewidth(2)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- shipped results
def plot_gap_jitter(record: dict):
    """Pretext accuracy on held-out pairs next to the linear probe of the backbone, per variant."""
    import matplotlib.pyplot as plt

    rows = record["results"]["variants"]
    names = list(rows)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, key, label, chance in (
        (axes[0], "pretext_top1", "pretext: 8-way position (held-out pairs)", 12.5),
        (axes[1], "linear_top1", "linear probe on CIFAR-10", 10.0),
    ):
        values = [rows[n][key] for n in names]
        errors = [2 * binomial_se(v, record["results"]["n_test"]) for v in values]  # two standard errors
        bars = ax.bar(range(len(names)), values, yerr=errors, capsize=3, color=["grey", "C2", "C3"][: len(names)])
        for bar, v, e in zip(bars, values, errors):  # above the error bar's cap, never across it
            x = bar.get_x() + bar.get_width() / 2
            ax.annotate(
                f"{v:.1f}", (x, v + e), xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=8
            )
        ax.axhline(chance, color="grey", lw=0.8, ls=":")
        ax.set_xticks(range(len(names)), names, fontsize=8)
        ax.set_ylabel("accuracy (%)")
        ax.set_ylim(0, max(v + e for v, e in zip(values, errors)) * 1.2)
        ax.set_title(label, fontsize=9)
    fig.suptitle(f"gap and jitter on or off{origin(record)}; bars: ± 2 standard errors", fontsize=10)
    fig.tight_layout()
    return fig


def plot_aberration(record: dict):
    """Mean position error per condition, always-guess-the-centre as a line; the paper's numbers beside."""
    import matplotlib.pyplot as plt

    rows = record["results"]["conditions"]
    names = list(rows)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [2.2, 1]})
    values = [rows[n]["error"] for n in names]
    # Two standard errors, bounded from the error's range (0 to 1.41) since its spread was not recorded.
    bound = 2 * bounded_mean(0.0, 2**0.5, record["results"]["n_test"], "the position error").se
    bars = axes[0].bar(range(len(names)), values, yerr=bound, capsize=3, color=["grey", "C3", "C0", "C2"][: len(names)])
    for bar, v in zip(bars, values):
        axes[0].annotate(
            f"{v:.3f}",
            (bar.get_x() + bar.get_width() / 2, v / 2),
            ha="center",
            va="center",
            fontsize=8,
            bbox=dict(fc="white", ec="none", pad=1),
        )  # inside the bar: the centre line runs above
    centre = rows[names[0]]["centre_error"]
    axes[0].axhline(centre, color="black", lw=1, ls="--", label=f"always guess the centre ({centre:.3f})")
    axes[0].set_xticks(range(len(names)), [n.replace(", ", ",\n") for n in names], fontsize=8)
    axes[0].set_ylabel("mean position error (image = 1)")
    axes[0].set_ylim(0, max(values + [centre]) * 1.3)
    axes[0].legend(fontsize=8, loc="upper center", frameon=False)
    axes[0].set_title(f"ours{origin(record)}\n(bars: ± 2 standard errors, an upper bound)", fontsize=9)
    paper = list(PAPER.items())
    axes[1].bar(range(3), [v for _, v in paper], color=["C3", "C0", "black"])
    for i, (_, v) in enumerate(paper):
        axes[1].annotate(f"{v:.3f}", (i, v), ha="center", va="bottom", fontsize=8)
    axes[1].set_xticks(range(3), ["raw", "projected", "centre"], fontsize=8)
    axes[1].set_ylim(0, 0.45)
    axes[1].set_title("the paper (ImageNet photographs)", fontsize=9)
    fig.suptitle("where in the image was this patch? absolute-position regression", fontsize=10)
    fig.tight_layout()
    return fig
