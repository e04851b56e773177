"""The checker framework: a toy exercise written as a short list of cases, and everything a student's
function can do wrong turned into a one-line verdict, never into an exception of the checker."""

import time

import pytest
import torch

from sslcourse import checks
from sslcourse.checks import (
    Case,
    CheckResult,
    Mistake,
    agrees_with,
    call_with_time_limit,
    expect_tensor,
    run_check,
    same_output,
)


# --------------------------------------------------------------------------- a later topic, in a few lines
def reference_centre(x):
    """The toy exercise: subtract each row's mean. Shape: (B, D) -> (B, D)."""
    return x - x.mean(dim=1, keepdim=True)


def _rows(seed, b=4, d=6):
    return lambda: {"x": torch.randn(b, d, generator=torch.Generator().manual_seed(seed)) * 3 + 1}


CASES = [
    Case("random rows", _rows(0), agrees_with(reference_centre), "each row on its own"),
    Case("one row", _rows(1, b=1), agrees_with(reference_centre), "a batch of one row"),
]
MISTAKES = [Mistake.like(lambda x: x - x.mean(), "it subtracts the mean of the whole batch, not of each row")]


def check_centre(fn):
    return run_check("centre", fn, CASES, MISTAKES, time_limit=1.0)


def test_a_right_answer_in_another_style_passes(capsys):
    def loop(x):
        return torch.stack([row - sum(row.tolist()) / len(row) for row in x])

    result = check_centre(loop)
    assert (result.passed, result.score, result.max_score) == (True, 2, 2)
    assert capsys.readouterr().out == "✓ centre: all 2 checks passed.\n"
    assert str(result) == result.message and "passed=True" in repr(result)


def test_a_known_mistake_is_named():
    result = check_centre(lambda x: x - x.mean())
    assert not result.passed and result.score == 1  # with one row, the batch mean is the row mean
    assert "whole batch, not of each row" in result.message and "largest difference" in result.message


def test_an_unknown_mistake_gets_the_case_hint():
    result = check_centre(lambda x: x - x.median(dim=1, keepdim=True).values)
    assert "each row on its own" in result.message and len(result.details) == 2


@pytest.mark.parametrize(
    "fn, expected",
    [
        (lambda x: None, "it returned NoneType, not a torch tensor"),
        (lambda x: "centred", "it returned str"),
        (lambda x: x.numpy(), "it returned ndarray"),
        (lambda x: reference_centre(x)[:, :-1], "expected (4, 6)"),
        (lambda x: reference_centre(x).long(), "expected a floating-point tensor"),
        (lambda x: reference_centre(x) / 0, "NaN or infinity"),
        (lambda x: x.sub_(x.mean(dim=1, keepdim=True)), "changed its input x in place"),
        (lambda x: 1 / 0, "raised ZeroDivisionError: division by zero"),
        (lambda x: exit(), "raised SystemExit"),
        (lambda x, y: x, "raised TypeError"),
        (lambda: 0, "raised TypeError"),
    ],
)
def test_whatever_the_function_does_the_checker_answers(fn, expected, capsys):
    result = check_centre(fn)
    assert isinstance(result, CheckResult) and not result.passed
    assert expected in result.message, result.message
    printed = capsys.readouterr().out
    assert printed.count("\n") == 1 and printed.startswith("✗ centre:")


def test_not_a_function():
    result = check_centre(reference_centre(torch.ones(2, 2)))
    assert not result.passed and "pass the function itself" in result.message


def test_not_implemented_is_calm_and_scores_zero():
    def stub(x):
        raise NotImplementedError("exercise centre: write your solution here")

    result = check_centre(stub)
    assert (result.passed, result.score, result.max_score) == (False, 0, 2)
    assert result.message.startswith("… centre: not implemented yet")


def test_a_hang_stops_the_check_in_time():
    def spin(x):
        while True:
            pass

    t = time.perf_counter()
    result = check_centre(spin)
    assert time.perf_counter() - t < 4
    assert "more than 1 s" in result.message and result.score == 0
    assert "still running" not in result.message  # a pure-Python loop is interrupted


def test_a_hang_in_c_code_is_left_behind_not_waited_for():
    """A sleep cannot be interrupted; the checker answers anyway and says the call runs on."""
    t = time.perf_counter()
    outcome = call_with_time_limit(time.sleep, (3,), seconds=0.2)
    assert outcome.timed_out and outcome.still_running and time.perf_counter() - t < 2.9


def test_the_error_line_points_into_the_students_function():
    def student(x):
        y = x * 2
        return y[10]

    result = check_centre(student)
    assert "raised IndexError" in result.message and "line 3 of student: `return y[10]`" in result.message


def test_a_bug_in_the_checker_is_not_blamed_on_the_student():
    def broken_inputs():
        raise KeyError("oops")

    def broken_judge(inputs, out):
        raise KeyError("oops")

    result = run_check("centre", reference_centre, [Case("c", broken_inputs, broken_judge)], verbose=False)
    assert not result.passed and "the checker itself failed" in result.message and "not your fault" in result.message
    result = run_check("centre", reference_centre, [Case("c", _rows(0), broken_judge)], verbose=False)
    assert "could not be checked (KeyError" in result.message and "please report" in result.message


def test_an_output_too_odd_to_judge_is_a_verdict():
    result = check_centre(lambda x: torch.empty(4, 6, device="meta"))
    assert not result.passed and "✗ centre" in result.message


def test_choose_says_which_function_the_notebook_uses(capsys):
    def mine(x):
        return x

    def reference(x):
        return x

    assert CheckResult("centre", False, 1, 4, "").points(2) == 0.5
    ok = CheckResult("centre", True, 2, 2, "")
    not_yet = CheckResult("centre", False, 0, 2, "")
    assert ok.choose(mine, reference) is mine and "Using your centre" in capsys.readouterr().out
    assert not_yet.choose(mine, reference) is reference
    assert "library's reference centre" in capsys.readouterr().out


def test_helpers():
    a = torch.tensor([1.0, 2.0])
    assert same_output((a, 1), (a + 1e-7, 1)) and not same_output(a, a[:1]) and not same_output(a, a + 1)
    assert expect_tensor(torch.zeros(3, dtype=torch.long), (3,), "integer") is None
    assert "expected an integer tensor" in expect_tensor(torch.zeros(3), (3,), "integer")
    assert checks.changed_inputs({"x": a.clone(), "n": 3}, {"x": a * 2, "n": 3}) == ["x"]
    g = torch.Generator().manual_seed(0)
    copied = checks.clone({"generator": g})["generator"]
    assert torch.equal(torch.rand(3, generator=g), torch.rand(3, generator=copied))


def test_a_generator_argument_is_fresh_for_every_call_and_may_be_consumed():
    """Topics such as context and MAE pass a torch.Generator: drawing from it is not "changing an input"."""

    def draw(n, generator):
        return torch.rand(n, generator=generator)

    case = Case(
        "draws",
        lambda: {"n": 4, "generator": torch.Generator().manual_seed(1)},
        agrees_with(lambda n, generator: torch.rand(n, generator=generator)),
    )
    assert run_check("draw", draw, [case], verbose=False).passed
