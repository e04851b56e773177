"""The course's rule for judging a claim, one function for every claim: numbers with their noise, and the
verdict a difference earns. `sslcourse.findings` declares the claims and applies it.

- Each compared number carries its noise: the binomial standard error of an accuracy from its test-set
  size, sqrt(p (1 - p) / n); where several seeds were run, their measured spread as well. A difference's
  standard error adds its two parts in quadrature (independent test sets; on a shared test set this
  overstates the noise a little, so the rule errs towards "too close to call").
- "reproduced": the paper's sign, beyond two standard errors of the difference, and at least half the
  paper's stated size where it states one; "weaker than the paper": the sign holds beyond the noise, the
  size does not; "too close to call": within two standard errors; "not reproduced": the opposite sign,
  beyond two standard errors.
- Scale: a short CPU run or a simulation is indicative at best: there "reproduced" reads "indicative".
- A claim with several parts is judged part by part; it reads "mixed" when some parts agree and others not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

VERDICTS = (
    "reproduced",
    "indicative",
    "weaker than the paper",
    "too close to call",
    "not reproduced",
    "mixed",
    "not measured",
)


# --------------------------------------------------------------------------- numbers with their noise
@dataclass(frozen=True)
class Value:
    """A measured number and its standard error (None where the noise was not measured)."""

    value: float
    se: float | None
    noise: str = ""  # where the error bar comes from

    def __sub__(self, other: Value) -> Value:
        se = None if self.se is None or other.se is None else math.hypot(self.se, other.se)
        return Value(self.value - other.value, se, self.noise or other.noise)

    def __str__(self) -> str:
        shown = round(self.value, 1) + 0.0  # + 0.0: a value that rounds to zero prints "0.0", never "-0.0"
        return f"{shown:.1f}" + (f" ± {self.se:.1f}" if self.se is not None else " (noise not measured)")


def binomial_se(percent: float, n: int) -> float:
    """Standard error, in points, of an accuracy of `percent` measured on n test images."""
    p = min(max(percent / 100, 0.0), 1.0)
    return 100 * math.sqrt(p * (1 - p) / n)


def accuracy(row: dict, key: str, n: int) -> Value:
    """row[key] (a top-1 accuracy in %) with its noise: binomial from n test images, and, where the row holds
    several seeds (`row[key + "_seeds"]`), their measured spread too (standard error of their mean)."""
    seeds = row.get(key + "_seeds")
    if seeds and len(seeds) > 1:
        mean = sum(seeds) / len(seeds)
        spread = math.sqrt(sum((s - mean) ** 2 for s in seeds) / (len(seeds) - 1))
        se = math.hypot(binomial_se(mean, n) / math.sqrt(len(seeds)), spread / math.sqrt(len(seeds)))
        return Value(mean, se, f"binomial on {n} test images and the spread of {len(seeds)} seeds")
    return Value(row[key], binomial_se(row[key], n), f"binomial on {n} test images, one seed")


def bounded_mean(value: float, span: float, n: int, what: str) -> Value:
    """A mean over n images of a quantity that lies in [0, span], whose spread was not recorded: its standard
    error is at most (span / 2) / sqrt(n) (Popoviciu's bound on a variance), a conservative error bar."""
    return Value(value, span / 2 / math.sqrt(n), f"upper bound from the range of {what} over {n} images")


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
    """The course's rule, before scale: reproduced, weaker than the paper, too close to call, not reproduced."""
    d, se = effect.diff.value, effect.diff.se
    if se is not None and abs(d) <= 2 * se:
        return "too close to call"
    if d < 0:
        return "not reproduced"
    if effect.paper_size is not None and d < effect.paper_size / 2:
        return "weaker than the paper"
    return "reproduced" if se is not None else "too close to call"  # a sign without a noise proves nothing


def at_scale(verdict: str, scale: str) -> str:
    """A CPU-scale or simulated result is indicative at best: it never says 'reproduced'."""
    return "indicative" if verdict == "reproduced" and scale != "GPU" else verdict


def combine(verdicts: list[str]) -> str:
    """One verdict for a claim of several parts."""
    agree = {"reproduced", "indicative"}
    if len(set(verdicts)) == 1:
        return verdicts[0]
    if any(v in agree for v in verdicts) and any(v not in agree for v in verdicts):
        return "mixed"
    order = ["not reproduced", "too close to call", "weaker than the paper", "indicative", "reproduced"]
    return min(verdicts, key=order.index)
