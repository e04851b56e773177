"""SimCLR's shortcut, measured: how far a matcher with no parameters gets at the contrastive task.

    python -m sslcourse.experiments.simclr_shortcut grid --device cpu --out sslcourse/results/simclr/shortcut_grid.json

The paper's Figure 6 argues that crops of one image can be matched by their colour histograms alone, and that
is why crop needs colour distortion. Here the argument is a number: for every cell of the Figure 5 grid (the
same seven operations, the paper's one-branch protocol: the composition makes one view, the other view is the
image itself), each of the 2N views of a batch of N images must find its partner among the 2N - 1 others, as
in NT-Xent, by

    histogram   the joint RGB colour histogram (4 bins a channel: 64 bins), compared by the Bhattacharyya
                coefficient (the cosine of the square-root histograms): colour alone, no position;
    layout      the 8x8 area-downsampled RGB image, centred, compared by cosine: the raw coarse layout.

Every test image is a query once (batches of N = 512, the course's SimCLR batch: 500 scored images and 12 of
the next batch as extra distractors, so all 20 batches are alike). The standard error is the spread of the 20
batch accuracies (the images of a batch share their distractors), beside the per-image one; chance is
1 / (2N - 1). No network, no training: the whole grid runs in seconds to a minute on a CPU.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from sslcourse import data
from sslcourse.experiments.runner import Experiment, Option, Run, Topic
from sslcourse.experiments.simclr import GRID_AUGMENTATIONS
from sslcourse.methods.simclr import pair_augmentation

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results" / "simclr"
BATCH = 512  # pairs a batch, as the course's SimCLR (scripts/gpu_plan.py, the shipped model)
SCORED = 500  # images scored a batch: 20 batches of 500 cover the 10,000 test images exactly
BINS = 4  # per channel: 64 joint bins for 1,024 pixels, so a histogram is not mostly empty bins
LAYOUT = 8  # side of the downsampled image: 192 numbers, a quarter of a CIFAR patch grid's resolution
CUES = ("histogram", "layout")


# --------------------------------------------------------------------------- the two cues
def colour_histograms(views: torch.Tensor, bins: int = BINS) -> torch.Tensor:
    """Joint RGB histogram of each view, normalised to sum 1 (views of any size compare as distributions).
    Shape: (B, 3, H, W) floats in [0, 1] -> (B, bins**3)."""
    B, K = len(views), bins**3
    q = (views * bins).clamp_(0, bins - 1).to(torch.int32)  # (B, 3, H, W) bin index per channel (int32: fewer bytes)
    cell = (q[:, 0] * bins + q[:, 1]) * bins + q[:, 2]  # (B, H, W) joint bin
    cell += K * torch.arange(B, device=cell.device, dtype=torch.int32).view(B, 1, 1)  # view b: bins bK..bK+K-1
    counts = torch.bincount(cell.flatten(), minlength=B * K).view(B, K).float().cpu()
    return counts / counts.sum(1, keepdim=True)


def layout_vectors(views: torch.Tensor, size: int = LAYOUT) -> torch.Tensor:
    """The view shrunk to size x size (area average), minus its own mean, unit length: cosine then compares the
    arrangement of light and colour, not the overall brightness. Shape: (B, 3, H, W) -> (B, 3 * size * size)."""
    small = F.adaptive_avg_pool2d(views.float(), size).flatten(1).cpu()  # (B, 3 * size * size)
    return F.normalize(small - small.mean(1, keepdim=True), dim=1)


def _histogram_similarity(h: torch.Tensor) -> torch.Tensor:
    """Bhattacharyya coefficient between every two histograms: 1 for equal ones. Shape: (V, K) -> (V, V).
    (Histogram intersection ranks alike here, but costs V * V * K minimums instead of one matrix product.)"""
    r = h.sqrt()
    return r @ r.T


def _cosine(v: torch.Tensor) -> torch.Tensor:
    return v @ v.T  # rows are unit vectors


def match(features_a: torch.Tensor, features_b: torch.Tensor, similarity: Callable) -> torch.Tensor:
    """The contrastive task without a network: views a (rows 0..N-1) and b (rows N..2N-1); each view's best
    match among the 2N - 1 others (itself excluded). Shape: (N, K), (N, K) -> (2N,) indices."""
    s = similarity(torch.cat([features_a, features_b]))  # (2N, 2N)
    s.fill_diagonal_(-math.inf)  # a view is not a candidate for itself
    return s.argmax(1)


def histogram_match(views_a: torch.Tensor, views_b: torch.Tensor, bins: int = BINS) -> torch.Tensor:
    """Match every view to the one with the most similar colour histogram (the library's answer to notebook
    03's exercise). Shape: (N, 3, Ha, Wa), (N, 3, Hb, Wb) -> (2N,): for view i (a's first, then b's), the index
    of its best match in 0..2N-1, never i itself."""
    return match(colour_histograms(views_a, bins), colour_histograms(views_b, bins), _histogram_similarity)


def layout_match(views_a: torch.Tensor, views_b: torch.Tensor, size: int = LAYOUT) -> torch.Tensor:
    """As histogram_match, by the coarse layout. Shape: (N, 3, H, W), (N, 3, H, W) -> (2N,)."""
    return match(layout_vectors(views_a, size), layout_vectors(views_b, size), _cosine)


def partners(n: int) -> torch.Tensor:
    """The right answer: view i of a goes with view i of b. Shape: -> (2N,)."""
    return torch.cat([torch.arange(n, 2 * n), torch.arange(n)])


# --------------------------------------------------------------------------- scoring on the test set
def batches(n_images: int, batch: int = BATCH, scored: int = SCORED, seed: int = 0) -> list[torch.Tensor]:
    """Image indices of each batch in a seeded random order: `scored` images of its own first, then
    batch - scored of the next batch (cyclically) as extra distractors. Every image is scored exactly once."""
    if n_images % scored:
        raise ValueError(f"{n_images} images do not split into batches of {scored} scored images")
    if not scored <= batch <= n_images:
        raise ValueError(f"need scored ({scored}) <= batch ({batch}) <= images ({n_images})")
    order = torch.randperm(n_images, generator=torch.Generator().manual_seed(seed))
    return [order.roll(-start)[:batch] for start in range(0, n_images, scored)]


def score(matcher: Callable, views_a, views_b, index: list[torch.Tensor], scored: int = SCORED) -> dict:
    """Top-1 retrieval of `matcher(views_a[b], views_b[b]) -> (2N,)` on every batch b of `index`: the
    accuracy (%), its standard error over the batches and over the images, and the per-image hits (the mean of
    the image's two views, 0, 0.5 or 1)."""
    hits = torch.zeros(len(views_a))
    per_batch = []
    for b in index:
        n = len(b)
        found = torch.as_tensor(matcher(views_a[b], views_b[b])).long().cpu() == partners(n)  # (2N,)
        own = b[:scored]
        hits[own] = found.view(2, n)[:, :scored].float().mean(0)
        per_batch.append(hits[own].mean().item())
    batch_acc = torch.tensor(per_batch, dtype=torch.float64)
    return {
        "top1": round(100 * hits.mean().item(), 2),
        "se": round(100 * batch_acc.std().item() / math.sqrt(len(batch_acc)), 2),
        "se_images": round(100 * hits.double().std().item() / math.sqrt(len(hits)), 2),
        "hits": hits,
    }


def chance(batch: int = BATCH) -> float:
    """Top-1 accuracy (%) of a guess among the 2N - 1 other views."""
    return 100 / (2 * batch - 1)


def retrieval(
    matcher: Callable, images: torch.Tensor, first: str, second: str, batch: int = BATCH, seed: int = 0
) -> dict:
    """One cell: views a = `first` then `second` on every image (one draw each, seeded), views b = the images
    themselves; `matcher` scored on every batch. Shape: images (M, 3, H, W) uint8; returns top1, se, se_images."""
    scored = _scored_per_batch(len(images), batch)
    g = torch.Generator().manual_seed(seed)
    views_a = pair_augmentation(first, second)(images, g)
    views_b = images.float() / 255
    out = score(matcher, views_a, views_b, batches(len(images), batch, scored, seed), scored)
    out.pop("hits")
    return {"first": first, "second": second, **out, "chance": round(chance(batch), 3), "images": len(images)}


def _scored_per_batch(n_images: int, batch: int) -> int:
    """The largest divisor of n_images that is at most `batch` (500 for 10,000 images and 512)."""
    return next(s for s in range(min(batch, n_images), 0, -1) if n_images % s == 0)


def shortcut_grid(
    images: torch.Tensor, augmentations=GRID_AUGMENTATIONS, batch: int = BATCH, seed: int = 0, log=print
) -> dict:
    """Both cues on every ordered cell (row: first operation, column: second; the diagonal: one alone).

    Each row draws its first operation once and every cell of the row applies its second one to those views
    (the cells of a row differ only by the second operation, and the grid costs 7 passes of augmentation
    instead of 13). Shape: images (M, 3, H, W) uint8."""
    scored = _scored_per_batch(len(images), batch)
    index = batches(len(images), batch, scored, seed)
    originals = images.float() / 255
    reference = {"histogram": colour_histograms(originals), "layout": layout_vectors(originals)}
    similarity = {"histogram": _histogram_similarity, "layout": _cosine}
    cells = []
    for i, first in enumerate(augmentations):
        g = torch.Generator().manual_seed(seed + 1000 * (i + 1))
        once = pair_augmentation(first)(images, g)
        for second in augmentations:
            views = once if second == first else pair_augmentation(second)(once, g)
            features = {"histogram": colour_histograms(views), "layout": layout_vectors(views)}
            cell = {"first": first, "second": second}
            for cue in CUES:
                matcher = _precomputed(features[cue], reference[cue], similarity[cue])
                out = score(matcher, torch.arange(len(images)), torch.arange(len(images)), index, scored)
                out.pop("hits")
                cell[cue] = out
            cells.append(cell)
            log(
                f"{first:>7s} + {second:<7s} histogram {cell['histogram']['top1']:5.1f} ± {cell['histogram']['se']:.1f}"
                f"   layout {cell['layout']['top1']:5.1f} ± {cell['layout']['se']:.1f}"
            )
    return {
        "experiment": "shortcut_grid",
        "protocol": "one_branch",
        "augmentations": list(augmentations),
        "cues": {
            "histogram": f"joint RGB histogram, {BINS} bins a channel, Bhattacharyya coefficient",
            "layout": f"{LAYOUT}x{LAYOUT} area-downsampled RGB, centred, cosine",
        },
        "batch": batch,
        "scored_per_batch": scored,
        "n_test": len(images),
        "chance": round(chance(batch), 3),
        "cells": cells,
    }


def _precomputed(features_a, features_b, similarity):
    """A matcher that takes index tensors and looks the features up (the grid computes them once a cell)."""
    return lambda ia, ib: match(features_a[ia], features_b[ib], similarity)


# --------------------------------------------------------------------------- results
def load_result(name: str = "shortcut_grid") -> dict:
    """The shipped grid."""
    return json.loads((RESULTS_DIR / f"{name}.json").read_text())


def cell(result: dict, first: str, second: str, cue: str) -> dict:
    """One cell's {top1, se, se_images} for a cue."""
    for c in result["cells"]:
        if (c["first"], c["second"]) == (first, second):
            return c[cue]
    raise KeyError(f"no cell ({first}, {second}) in this grid; it has {result['augmentations']}")


def matrix(result: dict, cue: str, key: str = "top1") -> torch.Tensor:
    """The grid of one cue as a matrix (rows: first, columns: second). Shape: (A, A)."""
    names = result["augmentations"]
    m = torch.full((len(names), len(names)), math.nan)
    for c in result["cells"]:
        m[names.index(c["first"]), names.index(c["second"])] = c[cue][key]
    return m


# --------------------------------------------------------------------------- command line
def _grid(run: Run) -> dict:
    a = run.args
    images, labels = data.load_cifar10("test")
    if a.test_subset:
        images = images[data.balanced_subset(labels, a.test_subset)]
    if a.threads:
        torch.set_num_threads(a.threads)
    augs = tuple(a.augs.split(",")) if a.augs else GRID_AUGMENTATIONS
    return shortcut_grid(images, augs, batch=a.batch, seed=a.seed)


CLI = Topic(
    "simclr_shortcut",
    __doc__,
    {"grid": Experiment(_grid, "both cues on every cell of the Figure 5 grid, on the test images")},
    options=(
        Option("--augs", help="comma-separated operations (default: the seven of the paper's Figure 5)"),
        Option("--batch", type=int, default=BATCH, help="images a batch (N): each view has 2N - 1 candidates"),
        Option("--seed", type=int, default=0, help="the batches' order and the augmentations' draws"),
        Option("--test-subset", type=int, help="a balanced subset of N test images (tests; default: all 10,000)"),
        Option("--threads", type=int, help="torch threads (default: torch's own)"),
    ),
    training=False,
)
_parser, main = CLI.parser, CLI.main


if __name__ == "__main__":
    sys.exit(main())
