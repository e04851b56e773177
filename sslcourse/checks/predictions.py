"""Predict, then run: the student commits to a prediction before a result is shown, and the numbers judge it.

A prediction is an exercise like the others: a function `predict_<topic>()` that returns one of a few
choices, written in its own cell before the run. Its checker only checks that a choice was made (a
prediction is worth its points for being committed, not for being right, and the checker never hints at
the answer). After the run, `reveal_*` compares the prediction with the measured numbers, by the course's
rule: a difference counts only beyond two standard errors.

Honest by construction: `check_prediction` records the choice in this kernel, and a reveal shows the numbers
only for a recorded prediction. Without one it says so and shows nothing, unless asked with `show=True`
(someone who only wants the result may have it, knowingly).

    result = check_prediction("predict_gap_jitter", predict_gap_jitter, ("better", "about the same", "worse"))
    ...  # the run
    reveal_direction(predict_gap_jitter, difference, ("worse", "about the same", "better"))
"""

from __future__ import annotations

from sslcourse.checks import Case, CheckResult, run_check
from sslcourse.verdicts import Value


def _normal(answer) -> str:
    return str(answer).strip().lower()


_RECORDED: dict[str, tuple[str, object]] = {}  # name -> (the committed choice, its function), in this kernel


def _recorded(prediction) -> tuple[str, str] | None:
    """(name, choice) recorded by `check_prediction` for `prediction` (its function, or its name), or None."""
    for name, (choice, fn) in _RECORDED.items():
        if prediction is fn or prediction == name or getattr(prediction, "__name__", None) == name:
            return name, choice
    return None


def check_prediction(name: str, fn, choices: tuple[str, ...], verbose: bool = True) -> CheckResult:
    """Check that `fn()` returns one of `choices` (letter case and spaces around it do not matter). Says
    nothing about which choice is right: the run after it does."""
    allowed = {_normal(c) for c in choices}
    listed = ", ".join(repr(c) for c in choices)

    seen = []

    def judge(_, out):
        seen.append(out)
        if not isinstance(out, str):
            return f"it returned {type(out).__name__} {out!r}: return one of {listed} (a string)"
        if _normal(out) not in allowed:
            return f"it returned {out!r}, which is not one of the choices: {listed}"
        return None

    case = Case("your prediction", lambda: {}, judge, hint="")
    result = run_check(name, fn, [case], verbose=False)
    if result.passed:
        _RECORDED[name] = (_normal(seen[-1]), fn)
        result.message = (
            f"✓ {name}: your prediction {_normal(seen[-1])!r} is recorded. Run the cells below to see how it went."
        )
    else:
        _RECORDED.pop(name, None)  # a changed answer that no longer checks is no longer a prediction
    if verbose:
        print(result.message)
    return result


def _said(prediction) -> str | None:
    """The prediction that counts: the choice `check_prediction` recorded for this function in this kernel, or a
    choice given as a string right here; None when no prediction was made (a function never checked, a stub)."""
    if callable(prediction):
        found = _recorded(prediction)
        return found[1] if found else None
    return None if prediction is None else _normal(prediction)


def _withheld(prediction, fn_name: str) -> str:
    name = getattr(prediction, "__name__", "your prediction")
    return (
        f"No prediction recorded in this session, so the result stays hidden: write {name}() and run its cell "
        f"and the check below it (it records your choice), then run this cell again. To see the result without "
        f"predicting, call {fn_name}(..., show=True)."
    )


def direction(diff: Value, words: tuple[str, str, str]) -> str:
    """The course's rule for a difference: words[0] when it is below zero beyond two standard errors,
    words[2] when above, words[1] ("about the same") when within them or when its noise is unknown."""
    if diff.se is None or abs(diff.value) <= 2 * diff.se:
        return words[1]
    return words[2] if diff.value > 0 else words[0]


def reveal_direction(
    prediction, diff: Value, words: tuple[str, str, str], what: str = "the difference", show: bool = False
) -> str:
    """Judge a prediction of a direction: returns (and prints) one line with the measured difference, its
    error bar, and whether the prediction agrees. `prediction`: the checked `predict_...` function (or a
    choice as a string); with none recorded the result stays hidden unless `show`."""
    said, outcome = _said(prediction), direction(diff, words)
    if said is None and not show:
        line = _withheld(prediction, "reveal_direction")
        print(line)
        return line
    measured = f"{what}: {diff.value:+.1f} ± {diff.se:.1f}" if diff.se is not None else f"{what}: {diff.value:+.1f}"
    if said is None:
        line = f"No prediction made. The numbers say {outcome!r} ({measured}, ± one standard error)."
    elif said == _normal(outcome):
        line = f"You predicted {said!r}, and the numbers agree: {outcome!r} ({measured}, ± one standard error)."
    else:
        line = (
            f"You predicted {said!r}; the numbers say {outcome!r} ({measured}, ± one standard error; "
            "two standard errors decide). Worth a minute: what did your reasoning miss, or is our run too small?"
        )
    print(line)
    return line


def reveal_best(prediction, values: dict[str, Value], what: str = "the best", show: bool = False) -> str:
    """Judge a prediction of which choice scores highest. Every choice within two standard errors of the
    top one counts as a winner too: the data cannot tell them apart. Returns (and prints) one line. With no
    prediction recorded the result stays hidden unless `show` (see `reveal_direction`)."""
    said = _said(prediction)
    if said is None and not show:
        line = _withheld(prediction, "reveal_best")
        print(line)
        return line
    top_name = max(values, key=lambda k: values[k].value)
    top = values[top_name]
    tied = [
        k
        for k, v in values.items()
        if k == top_name or direction(top - v, ("lower", "tie", "higher")) == "tie"  # within the noise of the top
    ]
    shown = ", ".join(f"{k} {v}" for k, v in sorted(values.items(), key=lambda kv: -kv[1].value))
    winners = (
        f"{top_name!r} is {what}, beyond the noise"
        if len(tied) == 1
        else f"{', '.join(repr(k) for k in tied)} are within two standard errors of each other at the top: "
        "the data cannot single one out"
    )
    if said is None:
        verdict = "No prediction made."
    elif said not in {_normal(k) for k in values}:
        verdict = f"You predicted {said!r}, which this result did not measure: compare with the ones it did."
    elif said in {_normal(k) for k in tied} and len(tied) > 1:  # right or wrong, the data cannot say which
        verdict = f"You predicted {said!r}: cannot tell at this scale."
    elif said in {_normal(k) for k in tied}:
        verdict = f"You predicted {said!r}: consistent with the numbers."
    else:
        verdict = f"You predicted {said!r}: the numbers disagree."
    line = f"{verdict} {winners} ({shown}; ± one standard error)."
    print(line)
    return line
