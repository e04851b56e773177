"""Exercise checkers: run a student's function on a few cases and say, in one line, what is wrong.

A checker tests behaviour, never code. Each topic module (`checks/evaluation.py`, ...) is a short list of
`Case`s (inputs, and how to judge an output) and `Mistake`s (typical wrong answers, recognised by what
they return), plus one `check_<function>(fn)` that hands them to `run_check`. `run_check` calls the
student's function in a worker thread with a time limit, turns anything it does (raising, hanging,
returning the wrong type, shape, dtype or NaN, changing its inputs) into a failed verdict with a hint,
and never raises itself. A `NotImplementedError` (the stub in a student notebook) gets a calm
"not implemented yet".

    result = check_knn_classify(knn_classify)       # prints one line, e.g. "✓ knn_classify: ..."
    knn = result.choose(knn_classify, evaluate.knn_classify)   # yours if it passed, else the reference
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sslcourse.checks.compare import agrees_with, clone, expect_tensor, same_output
from sslcourse.checks.sandbox import TIME_LIMIT_S, call_with_time_limit, changed_inputs, describe_error

__all__ = [
    "CheckResult",
    "Case",
    "Mistake",
    "STRONG",
    "TIME_LIMIT_S",
    "run_check",
    "agrees_with",
    "clone",
    "expect_tensor",
    "same_output",
    "call_with_time_limit",
    "describe_error",
    "changed_inputs",
]

STRONG = 2  # what Mistake.matches returns when a match cannot be a coincidence of tied votes


@dataclass
class CheckResult:
    """The verdict on one exercise: `passed`, `score` out of `max_score` (cases passed), a one-line `message`."""

    name: str
    passed: bool
    score: float
    max_score: float
    message: str
    details: list[str] = field(default_factory=list)  # one line per case that failed

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"CheckResult({self.name!r}, passed={self.passed}, score={self.score:g}/{self.max_score:g})"

    def points(self, total: float) -> float:
        """This result as a share of `total` points; the last line of a graded cell, nbgrader reads it as
        partial credit (a graded cell that shows no number gets full points there whatever it printed)."""
        return round(total * self.score / self.max_score, 2) if self.max_score else 0.0

    def choose(self, mine: Callable, reference: Callable) -> Callable:
        """`mine` if it passed its check, else the library's `reference`; prints which one the notebook uses."""
        if self.passed:
            print(f"Using your {self.name} from here on.")
            return mine
        print(f"Using the library's reference {self.name} from here on (yours has not passed its check yet).")
        return reference


@dataclass(frozen=True)
class Case:
    """One situation to try: `inputs()` makes fresh positional arguments (a dict, in signature order, so a
    student who renamed a parameter is not penalised); `judge(inputs, output)` returns None when the output
    is right, else a short statement of what is wrong. `hint` is added when no `Mistake` explains it.
    `trivial`: a degenerate answer (a constant, zeros, the input returned unchanged) passes it too, so it
    earns its point only when a case that is not trivial passes as well: points for substance only."""

    name: str
    inputs: Callable[[], dict]
    judge: Callable[[dict, Any], str | None]
    hint: str = ""
    trivial: bool = False


@dataclass(frozen=True)
class Mistake:
    """A typical mistake, recognised by its outputs: `matches(inputs, output)` is False (not this mistake),
    True (consistent with it), STRONG (consistent, and no coincidence) or None (cannot tell on these inputs).
    The diagnosis is the mistake consistent with the output of every case. A recognised mistake names the
    cause, so it is reported before a crash that may be its consequence (k+1 neighbours fail when k = N).
    `hint` names the mistake without giving the fix away."""

    hint: str
    matches: Callable[[dict, Any], bool | int | None]

    @classmethod
    def like(cls, wrong_fn: Callable, hint: str) -> Mistake:
        """The mistake that `wrong_fn` (a deliberately wrong implementation) makes."""
        return cls(hint, lambda inputs, out: same_output(wrong_fn(*inputs.values()), out))


# --------------------------------------------------------------------------- running a check
class _NotImplementedYet(Exception):
    pass


@dataclass
class _Trial:
    """What happened on one case: the output (when the function returned normally) and what is wrong."""

    case: Case
    inputs: dict
    output: Any = None
    returned: bool = False
    problem: str | None = None
    stop: bool = False


def _try(fn: Callable, case: Case, time_limit: float) -> _Trial:
    inputs = case.inputs()
    trial = _Trial(case, clone(inputs))
    outcome = call_with_time_limit(fn, tuple(inputs.values()), time_limit)
    if isinstance(outcome.error, NotImplementedError):
        raise _NotImplementedYet
    if outcome.timed_out:
        trial.problem = (
            f"it ran for more than {time_limit:g} s on small inputs: look for a loop that never "
            "ends, or one that does far more work than needed"
        )
        if outcome.still_running:
            trial.problem += " (it still runs in the background; restart the kernel if the notebook gets slow)"
        trial.stop = True
    elif outcome.error is not None:
        trial.problem = describe_error(outcome.error, fn)
    elif changed := changed_inputs(trial.inputs, inputs):
        trial.problem = (
            f"it changed its input {', '.join(changed)} in place (e.g. `x /= ...` or a method ending "
            "in `_`): compute on new tensors, the caller still needs the originals"
        )
    else:
        trial.output, trial.returned = outcome.value, True
        try:
            trial.problem = case.judge(clone(trial.inputs), outcome.value)
        except Exception as err:  # an output so odd that the judge trips over it
            trial.problem = (
                f"its output could not be checked ({type(err).__name__}: {str(err)[:100]}): make "
                "sure it returns what the exercise asks for (if it does, please report this)"
            )
    return trial


def _verdict(mistake: Mistake, trial: _Trial):
    """None (cannot tell here), False, True or STRONG; a comparison that fails on odd output is False."""
    try:
        return mistake.matches(clone(trial.inputs), trial.output)
    except Exception:
        return False


def _diagnose(trials: list[_Trial], mistakes) -> tuple[Mistake, _Trial] | None:
    """The mistake that explains the outputs best: consistent with every returned output (a right answer
    included, where the mistake happens to give it too), matching at least one wrong one; most STRONG
    matches first, then most matches, then the earlier in `mistakes`. With the first wrong case it explains."""
    returned = [t for t in trials if t.returned]
    best, best_key = None, (0, 0)
    for mistake in mistakes:
        verdicts = [_verdict(mistake, t) for t in returned]
        if any(v is False for v in verdicts):
            continue
        explained = [(t, v) for t, v in zip(returned, verdicts) if t.problem and v]
        key = (sum(v == STRONG for _, v in explained), len(explained))
        if key > best_key:
            best, best_key = (mistake, explained[0][0]), key
    return best


def run_check(
    name: str,
    fn,
    cases: list[Case],
    mistakes: list[Mistake] = (),
    time_limit: float = TIME_LIMIT_S,
    verbose: bool = True,
) -> CheckResult:
    """Try `fn` on every case. The verdict names a recognised mistake if one explains the outputs; else the
    first crash, hang or changed input; else the first wrong output, with that case's hint."""
    total = len(cases)
    try:
        if not callable(fn):
            return _finish(
                CheckResult(
                    name,
                    False,
                    0,
                    total,
                    f"✗ {name}: expected a function, got "
                    f"{type(fn).__name__}; pass the function itself, without calling it",
                ),
                verbose,
            )
        trials = []
        for case in cases:
            trials.append(_try(fn, case, time_limit))
            if trials[-1].stop:
                break
        failed = [t for t in trials if t.problem]
        failed += [_Trial(c, {}, problem="not run") for c in cases[len(trials) :]]
        passed = _score(cases, failed)
        if not failed:
            return _finish(CheckResult(name, True, passed, total, f"✓ {name}: all {total} checks passed."), verbose)
        diagnosis = _diagnose(trials, mistakes)
        if diagnosis:
            mistake, trial = diagnosis
            problem = f"{trial.problem}; {mistake.hint}"
        else:
            trial = next((t for t in failed if not t.returned), failed[0])
            problem = trial.problem + (f"; {trial.case.hint}" if trial.returned and trial.case.hint else "")
        trivial = total - len(failed) - passed
        aside = (
            f" ({trivial} more that a constant or the input unchanged would pass too: they count once a value is right)"
            if trivial
            else ""
        )
        message = f"✗ {name}: {passed}/{total} checks passed{aside}. On {trial.case.name}: {problem}."
        return _finish(
            CheckResult(name, False, passed, total, message, [f"{t.case.name}: {t.problem}" for t in failed]), verbose
        )
    except _NotImplementedYet:
        return _finish(
            CheckResult(
                name,
                False,
                0,
                total,
                f"… {name}: not implemented yet. Write it in its cell, run that cell, then run this one again.",
            ),
            verbose,
        )
    except Exception as err:  # a bug in the checker must not look like the student's fault, nor stop the notebook
        return _finish(
            CheckResult(
                name,
                False,
                0,
                total,
                f"✗ {name}: the checker itself failed "
                f"({type(err).__name__}: {err}); this is not your fault, please report it",
            ),
            verbose,
        )


def _score(cases: list[Case], failed: list[_Trial]) -> int:
    """Cases passed, where a trivial case counts only beside a passed case that is not trivial."""
    wrong = {id(t.case) for t in failed}
    substance = sum(not c.trivial and id(c) not in wrong for c in cases)
    trivial = sum(c.trivial and id(c) not in wrong for c in cases)
    return substance + trivial if substance else 0


def _finish(result: CheckResult, verbose: bool) -> CheckResult:
    if verbose:
        print(result.message)
    return result
