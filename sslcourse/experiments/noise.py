"""How big a study must be to resolve the difference it is about: the noise budget.

An accuracy measured on n test images has the binomial standard error (`sslcourse.stats`); a run trained
with another seed lands elsewhere too (seed spread, about 0.3 points for the short CIFAR-10 runs of this
course: an assumption until a study records its own). A study resolves a difference `effect` between two
settings when the effect is at least `ratio` times the standard error of the difference of their means: 2.5,
a margin over the two standard errors that the findings' verdicts ask for.
The same rule judges the result (`sslcourse.stats.mean_over_seeds`): more seeds average the seed spread away,
not the test set's, whose images every seed shares:

    se_diff = sqrt(2 * (se_test**2 + seed_sd**2 / seeds))

    >>> plan = size_study(effect=2.0, accuracy=80.0)
    >>> plan.seeds, plan.n_test
    (3, 10000)

Effects under 3 points always get at least 3 seeds, so their spread is measured, not assumed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from sslcourse import stats

TEST_SET = 10_000  # CIFAR-10's whole test set: every study evaluates on all of it
SEED_SD = 0.3  # points; assumed seed-to-seed spread of one short run's accuracy until measured


def binomial_se(accuracy: float, n_test: int = TEST_SET) -> float:
    """Standard error (points) of an accuracy (%) measured on n_test images (`sslcourse.stats.binomial_se`)."""
    return stats.binomial_se(accuracy, n_test)


@dataclass(frozen=True)
class StudySize:
    effect: float  # points the study must resolve
    accuracy: float  # the accuracy level it is measured at (%)
    n_test: int
    seeds: int
    se_test: float  # binomial SE of one accuracy (points)
    se_diff: float  # SE of the difference of two settings' means over `seeds` runs each
    ratio: float  # effect / se_diff: at least the `ratio` asked for

    def as_dict(self) -> dict:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}

    def __str__(self) -> str:
        return (
            f"resolve {self.effect:g} points at ~{self.accuracy:g}%: {self.seeds} seed(s), {self.n_test} test images "
            f"(binomial SE {self.se_test:.2f}, SE of a difference {self.se_diff:.2f}, effect {self.ratio:.1f}x)"
        )


def size_study(
    effect: float,
    accuracy: float,
    ratio: float = 2.5,
    n_test: int = TEST_SET,
    seed_sd: float = SEED_SD,
    max_seeds: int = 10,
) -> StudySize:
    """The seeds a study needs so that `effect` (points) is at least `ratio` times the noise of a difference,
    at the given accuracy (%) and test-set size; effects under 3 points get at least 3 seeds.
    Raises ValueError when even `max_seeds` seeds on `n_test` images cannot resolve the effect, saying what would."""
    if effect <= 0:
        raise ValueError(f"effect must be a positive number of points, got {effect}")
    se_test = binomial_se(accuracy, n_test)
    for seeds in range(3 if effect < 3 else 1, max_seeds + 1):
        se_diff = math.sqrt(2 * (se_test**2 + seed_sd**2 / seeds))
        if effect >= ratio * se_diff:
            return StudySize(effect, accuracy, n_test, seeds, se_test, se_diff, effect / se_diff)
    floor = ratio * math.sqrt(2 * (se_test**2 + seed_sd**2 / max_seeds))
    raise ValueError(
        f"an effect of {effect} points is below {ratio}x the noise even with {max_seeds} seeds on "
        f"{n_test} test images (smallest resolvable: {floor:.2f} points); study a larger effect, "
        "or allow more seeds (max_seeds)"
    )
