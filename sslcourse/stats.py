"""The course's statistics, in one place: every error bar a finding, a scoreboard row or a study plot shows
comes from here. All accuracies and standard errors (SE) are in points (percent).

- `binomial_se(p, n)`: an accuracy measured on n test images, sqrt(p (1 - p) / n).
- `effective_n(w)` and `weighted_mean_se(x, w)`: a weighted mean over images (weights w) has fewer effective
  images than images, (sum w)^2 / sum w^2 (Kish's effective sample size); with 1/p rarity weights a few rare
  images carry most of the weight. `bootstrap_se` resamples the images instead.
- `bounded_se(span, n)`: a mean of a quantity in [0, span] whose per-image spread was not recorded: at most
  (span / 2) / sqrt(n) (Popoviciu's bound on a variance); with a weighted mean, pass its effective n.
- `paired_difference_se(a, b)`: two models scored on the same test images, image by image (0/1 correct or any
  per-image score): the SE of the mean of the differences, which is smaller than the independent one when
  the models agree on which images are hard. `independent_difference_se(se_a, se_b)`: the same without
  per-image scores, in quadrature (on a shared test set this overstates the noise: it errs towards "cannot
  tell").
- `seed_se(values)`: several seeds of one setting: the sample standard deviation of their means over
  sqrt(number of seeds); None for one seed (run-to-run noise cannot be told from one run).
- `mean_over_seeds(values, n)`: the mean accuracy of several seeds evaluated on the same n test images and
  its SE, test-set and seed noise together. The test-set part does not average away over seeds (every seed
  is scored on the same images), so it is the binomial SE of the mean, not that over sqrt(seeds).

    >>> round(binomial_se(90, 10_000), 2)
    0.3
    >>> effective_n([1, 1, 1, 1])
    4.0
    >>> effective_n([10, 1, 1, 1])
    1.6
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def binomial_se(percent: float, n: int) -> float:
    """SE (points) of an accuracy of `percent` % measured on n test images."""
    if not 0 <= percent <= 100:
        raise ValueError(f"an accuracy is a percentage in [0, 100], got {percent}")
    if n < 1:
        raise ValueError(f"the number of test images must be at least 1, got {n}")
    p = percent / 100
    return 100 * math.sqrt(p * (1 - p) / n)


def effective_n(weights: Sequence[float] | np.ndarray) -> float:
    """Kish's effective sample size of a weighted mean, (sum w)^2 / sum w^2: n for equal weights, fewer when
    a few items carry most of the weight."""
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.size == 0 or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights must be non-negative and not all zero (got {w.size} of them)")
    return float(w.sum() ** 2 / (w**2).sum())


def weighted_mean_se(values, weights) -> float:
    """SE of the weighted mean sum(w x) / sum(w) of independent items (the ratio estimator's linearisation):
    sqrt(sum w^2 (x - mean)^2) / sum w. For equal weights it is the usual sd / sqrt(n) (with 1/n, not 1/(n-1))."""
    x, w = np.asarray(values, dtype=np.float64).ravel(), np.asarray(weights, dtype=np.float64).ravel()
    if x.shape != w.shape:
        raise ValueError(f"values ({x.size}) and weights ({w.size}) must pair up one to one")
    effective_n(w)  # validates the weights
    mean = (w * x).sum() / w.sum()
    return float(math.sqrt((w**2 * (x - mean) ** 2).sum()) / w.sum())


def bootstrap_se(values, weights=None, resamples: int = 2000, seed: int = 0) -> float:
    """SE of a (weighted) mean by resampling the items with replacement (`resamples` times, fixed seed)."""
    x = np.asarray(values, dtype=np.float64).ravel()
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if x.shape != w.shape or x.size < 2:
        raise ValueError(f"need at least 2 values with one weight each (got {x.size} values, {w.size} weights)")
    idx = np.random.default_rng(seed).integers(0, x.size, size=(resamples, x.size))
    means = (w[idx] * x[idx]).sum(1) / w[idx].sum(1)
    return float(means.std(ddof=1))


def bounded_se(span: float, n: float) -> float:
    """Upper bound on the SE of a mean of n (effective) items that lie in [0, span]: (span / 2) / sqrt(n)."""
    if span <= 0 or n < 1:
        raise ValueError(f"span must be positive and n at least 1, got span={span}, n={n}")
    return span / 2 / math.sqrt(n)


def paired_difference_se(a, b, scale: float = 100.0) -> float:
    """SE of mean(a) - mean(b) for two models scored on the same test images, image by image:
    scale * sd(a - b) / sqrt(n). The default scale turns 0/1 correctness into points; pass 1 for scores."""
    x, y = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"a paired difference needs the same >= 2 images on both sides (got {x.size} and {y.size})")
    return float(scale * (x - y).std(ddof=1) / math.sqrt(x.size))


def independent_difference_se(se_a: float | None, se_b: float | None) -> float | None:
    """SE of a - b from the two SEs in quadrature; None when either noise was not measured."""
    return None if se_a is None or se_b is None else math.hypot(se_a, se_b)


def seed_se(values: Sequence[float]) -> float | None:
    """SE of the mean of several seeds' results: sample standard deviation / sqrt(seeds); None for one seed."""
    v = np.asarray(values, dtype=np.float64).ravel()
    return None if v.size < 2 else float(v.std(ddof=1) / math.sqrt(v.size))


def mean_over_seeds(values: Sequence[float], n_test: int) -> tuple[float, float, float | None]:
    """(mean accuracy, its SE with test-set and seed noise together, the seed part alone or None) of several
    seeds' accuracies on the same n_test images. With one seed the SE is the binomial one alone."""
    mean = float(np.mean(values))
    seeds = seed_se(values)
    test = binomial_se(mean, n_test)
    return mean, (test if seeds is None else math.hypot(test, seeds)), seeds
