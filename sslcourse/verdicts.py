"""The course's rule for judging a claim, one function for every claim: numbers with their noise, and the
verdict a difference earns. `sslcourse.findings` declares the claims and applies it; every standard error
comes from `sslcourse.stats`.

- Each compared number carries its noise: the binomial standard error of an accuracy from its test-set
  size; where several seeds were run, their measured spread as well (`stats.mean_over_seeds`). A
  difference's standard error adds its two parts in quadrature (`stats.independent_difference_se`: no
  shipped result records per-image scores, so the paired SE cannot be used; on a shared test set the
  quadrature overstates the noise a little, so the rule errs towards "cannot tell").
- The rule (`judge`): the paper's sign beyond two standard errors of the difference, and at least half the
  paper's stated size where it states one. No verdict without a noise: a difference whose noise was not
  measured cannot be told from zero, whatever its size or sign.
- The words depend on the scale (`at_scale`), the same way round for a result for and against the paper:
  only a run comparable to the paper's (`PAPER_SCALE`: its budget, and at least 3 seeds for a trained
  comparison) may say "reproduced" or "not reproduced" (or "weaker than the paper", "too close to call").
  Anything smaller (a short CPU run, a simulation, a GPU run far below the paper's budget, one seed) says
  "seen at this scale", "not seen at this scale" or "cannot tell at this scale".
- A claim with several parts is judged part by part; it reads "mixed" when some parts agree and others not.
"""

from __future__ import annotations

from dataclasses import dataclass

from sslcourse import stats

AT_PAPER_SCALE = ("reproduced", "weaker than the paper", "too close to call", "not reproduced")
BELOW_PAPER_SCALE = (
    "seen at this scale",
    "seen at this scale, weaker than the paper",
    "cannot tell at this scale",
    "not seen at this scale",
)
VERDICTS = AT_PAPER_SCALE + BELOW_PAPER_SCALE + ("mixed", "not measured")
PAPER_SCALE = "paper scale"  # the one scale whose words are AT_PAPER_SCALE's
MIN_SEEDS = 3  # a trained comparison needs this many seeds to measure its run-to-run noise


# --------------------------------------------------------------------------- numbers with their noise
@dataclass(frozen=True)
class Value:
    """A measured number, its standard error (None where the noise was not measured), where the error bar
    comes from, and how many seeds (independent trainings) it averages."""

    value: float
    se: float | None
    noise: str = ""  # where the error bar comes from
    seeds: int = 1

    def __sub__(self, other: Value) -> Value:
        se = stats.independent_difference_se(self.se, other.se)
        return Value(self.value - other.value, se, self.noise or other.noise, min(self.seeds, other.seeds))

    def __str__(self) -> str:
        shown = round(self.value, 1) + 0.0  # + 0.0: a value that rounds to zero prints "0.0", never "-0.0"
        return f"{shown:.1f}" + (f" ± {self.se:.1f}" if self.se is not None else " (noise not measured)")


def binomial_se(percent: float, n: int) -> float:
    """Standard error, in points, of an accuracy of `percent` measured on n test images (`stats.binomial_se`)."""
    return stats.binomial_se(percent, n)


def accuracy(row: dict, key: str, n: int) -> Value:
    """row[key] (a top-1 accuracy in %) with its noise: binomial from n test images, and, where the row holds
    several seeds (`row[key + "_seeds"]`), their measured spread too (`stats.mean_over_seeds`)."""
    seeds = row.get(key + "_seeds") or [row[key]]
    mean, se, _ = stats.mean_over_seeds(seeds, n)
    if len(seeds) > 1:
        return Value(mean, se, f"binomial on {n} test images and the spread of {len(seeds)} seeds", len(seeds))
    return Value(row[key], se, f"binomial on {n} test images, one seed")


def bounded_mean(value: float, span: float, n: int, what: str, effective_n: float | None = None) -> Value:
    """A mean over n images of a quantity that lies in [0, span], whose per-image spread was not recorded:
    its standard error is at most (span / 2) / sqrt(n) (`stats.bounded_se`), a conservative error bar. For a
    weighted mean, pass its `effective_n` (`stats.effective_n` of the weights): the bound uses that instead."""
    if effective_n is None:
        return Value(
            value, stats.bounded_se(span, n), f"upper bound from the range of {what} over {n} images, one seed"
        )
    return Value(
        value,
        stats.bounded_se(span, effective_n),
        f"upper bound from the range of {what} over the {effective_n:.0f} effective images of a weighted mean of "
        f"{n}, one seed",
    )


def extreme(values: dict[str, Value], name: str, most: bool = True) -> str:
    """Whether values[name] is the largest (`most`) or the smallest of `values`, by the two-standard-error rule:
    "yes" only beyond two standard errors of every other, "no" where another is beyond them on the wrong side,
    else "cannot tell" (naming the ones within the noise)."""
    wrong, close = [], []
    for other, v in values.items():
        if other == name:
            continue
        d = values[name] - v
        if d.se is None or abs(d.value) <= 2 * d.se:
            close.append(other)
        elif (d.value < 0) == most:
            wrong.append(other)
    side = "above" if most else "below"
    if wrong:
        return f"no: {', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} {side} it beyond two standard errors"
    if close:
        return f"cannot tell: within two standard errors of {', '.join(close)}"
    return "yes, beyond two standard errors of every other"


@dataclass(frozen=True)
class Effect:
    """One part of a claim: `diff` is signed so that positive is the paper's direction; `paper_size` is the
    size the paper states, in the same units, when it states one."""

    what: str
    diff: Value
    paper_size: float | None = None

    def __str__(self) -> str:
        size = f" (paper: {self.paper_size:+g})" if self.paper_size is not None else ""
        return (
            f"{self.what}: {self.diff.value:+.1f}"
            + (f" ± {self.diff.se:.1f}" if self.diff.se is not None else " (noise not measured)")
            + size
        )


def judge(effect: Effect) -> str:
    """The course's rule, in the words of a run at the paper's scale (`at_scale` turns them into the words of
    the scale the run was at): reproduced, weaker than the paper, too close to call, not reproduced."""
    d, se = effect.diff.value, effect.diff.se
    if se is None or abs(d) <= 2 * se:  # no noise: no verdict, for or against the paper
        return "too close to call"
    if d < 0:
        return "not reproduced"
    if effect.paper_size is not None and d < effect.paper_size / 2:
        return "weaker than the paper"
    return "reproduced"


def at_scale(verdict: str, scale: str) -> str:
    """The verdict in the words of the scale: only `PAPER_SCALE` (the paper's budget, >= 3 seeds where trained)
    keeps "reproduced" / "not reproduced"; any other scale (a GPU run far below the paper's budget, a CPU run,
    a simulation, one seed) says what was seen at that scale, for and against the paper alike."""
    if scale == PAPER_SCALE or verdict not in AT_PAPER_SCALE:
        return verdict
    return dict(zip(AT_PAPER_SCALE, BELOW_PAPER_SCALE))[verdict]


def combine(verdicts: list[str]) -> str:
    """One verdict for a claim of several parts."""
    agree = {"reproduced", "seen at this scale"}
    if len(set(verdicts)) == 1:
        return verdicts[0]
    if any(v in agree for v in verdicts) and any(v not in agree for v in verdicts):
        return "mixed"
    order = [
        "not reproduced",
        "not seen at this scale",
        "too close to call",
        "cannot tell at this scale",
        "weaker than the paper",
        "seen at this scale, weaker than the paper",
        "seen at this scale",
        "reproduced",
    ]
    return min(verdicts, key=order.index)
