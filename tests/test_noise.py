import math

import pytest

from sslcourse.experiments.noise import binomial_se, size_study


def test_binomial_se_matches_the_formula_and_shrinks_with_the_test_set():
    assert binomial_se(50, 10_000) == pytest.approx(0.5)
    assert binomial_se(80, 1_000) == pytest.approx(100 * math.sqrt(0.8 * 0.2 / 1000))
    assert binomial_se(90, 10_000) < binomial_se(90, 1_000)
    assert binomial_se(100) == 0


def test_large_effects_need_one_seed_small_ones_at_least_three():
    big = size_study(effect=10, accuracy=80)
    assert big.seeds == 1 and big.n_test == 10_000 and big.ratio >= 2.5
    small = size_study(effect=2, accuracy=80)
    assert small.seeds >= 3 and small.effect >= 2.5 * small.se_diff
    # the fewest seeds that do it: one fewer would not
    fewer = math.sqrt(2 * (small.se_test**2 + 0.3**2 / (small.seeds - 1)))
    assert small.seeds == 3 or 2 < 2.5 * fewer
    assert "3 seed(s)" in str(small) and small.as_dict()["seeds"] == small.seeds


def test_a_smaller_test_set_or_a_smaller_effect_costs_seeds():
    assert size_study(4.55, 80, n_test=1_000).seeds > size_study(4.55, 80).seeds
    assert size_study(1.5, 80).seeds > size_study(2.5, 80).seeds


def test_seeds_average_the_seed_spread_away_not_the_shared_test_set():
    """Every seed is scored on the same test images, so their noise stays whatever the seeds (the rule
    `stats.mean_over_seeds` judges by): an effect under 2.5x the test set's own difference noise is never resolved."""
    floor = 2.5 * math.sqrt(2) * binomial_se(80)
    with pytest.raises(ValueError, match="smallest resolvable"):
        size_study(floor * 0.99, 80, max_seeds=1000)


def test_an_unresolvable_effect_and_bad_input_are_explained():
    with pytest.raises(ValueError, match="smallest resolvable"):
        size_study(0.2, 80)
    with pytest.raises(ValueError, match="positive"):
        size_study(0, 80)
    with pytest.raises(ValueError, match="percentage"):
        binomial_se(0.8 * 100 + 50)
