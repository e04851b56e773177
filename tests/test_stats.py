"""The statistics module against numpy/scipy and against simulation: each SE is as wide as the spread it claims."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from sslcourse import stats


def test_binomial_se_is_scipys_binomial_spread():
    for p, n in ((0.9, 10_000), (0.35, 1_000), (0.5, 2_000)):
        assert stats.binomial_se(100 * p, n) == pytest.approx(100 * sps.binom(n, p).std() / n)
    assert stats.binomial_se(100, 10_000) == 0
    with pytest.raises(ValueError, match="percentage"):
        stats.binomial_se(130, 10)
    with pytest.raises(ValueError, match="at least 1"):
        stats.binomial_se(50, 0)


def test_binomial_se_covers_95_percent_of_simulated_test_sets():
    rng = np.random.default_rng(0)
    p, n = 0.8, 2_000
    acc = 100 * rng.binomial(n, p, size=4_000) / n
    inside = np.abs(acc - 100 * p) <= 1.96 * np.array([stats.binomial_se(a, n) for a in acc])
    assert inside.mean() == pytest.approx(0.95, abs=0.015)


def test_effective_n_and_weighted_mean_se_match_a_simulation():
    rng = np.random.default_rng(1)
    w = 1 / rng.uniform(0.002, 0.2, size=2_000)  # 1/p rarity weights: a few items carry much of the weight
    assert stats.effective_n(np.ones(50)) == pytest.approx(50)
    n_eff = stats.effective_n(w)
    assert n_eff < 0.5 * w.size  # far fewer effective items than items
    # Draw 0/1 outcomes many times with these weights: the weighted means spread as the formula says.
    draws = rng.random((3_000, w.size)) < 0.6
    means = 100 * (draws * w).sum(1) / w.sum()
    se_sim = means.std(ddof=1)
    assert 50 / math.sqrt(n_eff) >= se_sim * 0.97  # the Popoviciu bound at the effective n holds
    assert stats.bounded_se(100, n_eff) == pytest.approx(50 / math.sqrt(n_eff))
    assert stats.weighted_mean_se(100 * draws[0], w) == pytest.approx(se_sim, rel=0.1)
    assert stats.bootstrap_se(100 * draws[0], w) == pytest.approx(se_sim, rel=0.1)
    with pytest.raises(ValueError, match="non-negative"):
        stats.effective_n([-1, 2])


def test_unweighted_se_and_bootstrap_agree_with_scipy_sem():
    x = np.random.default_rng(2).normal(size=500)
    assert stats.weighted_mean_se(x, np.ones_like(x)) == pytest.approx(sps.sem(x, ddof=0))
    assert stats.bootstrap_se(x) == pytest.approx(sps.sem(x), rel=0.08)


def test_paired_difference_is_smaller_when_models_agree_and_matches_a_simulation():
    rng = np.random.default_rng(3)
    n = 1_000
    hard = rng.random((2_000, n)) < 0.3  # images both models tend to get wrong
    a = ~hard & (rng.random((2_000, n)) < 0.95)
    b = ~hard & (rng.random((2_000, n)) < 0.9)
    diffs = 100 * (a.mean(1) - b.mean(1))
    paired = stats.paired_difference_se(a[0], b[0])
    independent = stats.independent_difference_se(
        stats.binomial_se(100 * a[0].mean(), n), stats.binomial_se(100 * b[0].mean(), n)
    )
    assert paired == pytest.approx(diffs.std(ddof=1), rel=0.1)
    assert paired < independent  # the independent formula overstates the noise on a shared test set
    assert stats.independent_difference_se(0.3, None) is None
    assert stats.independent_difference_se(3.0, 4.0) == pytest.approx(5.0)


def test_seed_spread_is_numpys_sample_std_over_root_n():
    v = [71.2, 72.9, 70.4]
    assert stats.seed_se(v) == pytest.approx(np.std(v, ddof=1) / math.sqrt(3))
    assert stats.seed_se([71.2]) is None  # one seed: run-to-run noise cannot be told
    mean, se, seed_part = stats.mean_over_seeds(v, 10_000)
    assert mean == pytest.approx(np.mean(v)) and seed_part == pytest.approx(stats.seed_se(v))
    assert se == pytest.approx(math.hypot(stats.binomial_se(mean, 10_000), seed_part))
    assert stats.mean_over_seeds([80.0], 1_000) == (80.0, stats.binomial_se(80, 1_000), None)


def test_seed_se_covers_simulated_seed_means():
    """Three seeds scatter around the setting's mean; mean +- t(2) * seed_se covers it 95% of the time."""
    rng = np.random.default_rng(4)
    runs = rng.normal(75.0, 0.8, size=(4_000, 3))
    half = sps.t(2).ppf(0.975) * np.array([stats.seed_se(r) for r in runs])
    assert (np.abs(runs.mean(1) - 75.0) <= half).mean() == pytest.approx(0.95, abs=0.015)
