"""Predict-then-run: the checker accepts any committed choice and never hints; the reveal follows the numbers."""

from sslcourse.checks.predictions import check_prediction, direction, reveal_best, reveal_direction
from sslcourse.verdicts import Value

CHOICES = ("better", "about the same", "worse")


def test_any_choice_is_accepted_without_a_hint(capsys):
    for answer in ("better", " About the same ", "WORSE"):
        r = check_prediction("predict_x", lambda a=answer: a, CHOICES)
        assert r.passed and r.points(1) == 1
        out = capsys.readouterr().out
        assert "is recorded" in out and "right" not in out and "wrong" not in out


def test_no_choice_earns_nothing_and_says_what_to_return(capsys):
    def stub():
        raise NotImplementedError

    assert "not implemented yet" in check_prediction("predict_x", stub, CHOICES).message
    r = check_prediction("predict_x", lambda: "much better", CHOICES)
    assert not r.passed and r.points(1) == 0 and "'better', 'about the same', 'worse'" in r.message
    r = check_prediction("predict_x", lambda: 3, CHOICES)
    assert not r.passed and "a string" in r.message
    r = check_prediction("predict_x", "better", CHOICES)  # the value, not the function
    assert not r.passed and "expected a function" in r.message


def test_a_direction_needs_two_standard_errors():
    words = ("worse", "about the same", "better")
    assert direction(Value(3.0, 1.0), words) == "better"
    assert direction(Value(-3.0, 1.0), words) == "worse"
    assert direction(Value(1.9, 1.0), words) == "about the same"
    assert direction(Value(5.0, None), words) == "about the same"  # no noise known: no direction claimed


def test_reveal_direction_compares_with_the_numbers(capsys):
    words = ("worse", "about the same", "better")
    assert "numbers agree" in reveal_direction(lambda: "better", Value(3.0, 1.0), words)
    assert "the numbers say 'about the same'" in reveal_direction("worse", Value(-1.0, 1.0), words)
    assert "No prediction made" in reveal_direction(
        lambda: (_ for _ in ()).throw(NotImplementedError()), Value(3, 1), words
    )


def test_reveal_best_counts_every_choice_within_the_noise_of_the_top(capsys):
    values = {"l2": Value(10.0, 0.5), "classification": Value(14.0, 0.5), "rebalanced": Value(14.5, 0.5)}
    line = reveal_best("classification", values)
    assert "consistent" in line and "cannot single one out" in line  # 14.0 vs 14.5: 0.5 ± 0.7
    assert "disagree" in reveal_best("l2", values)
    values["rebalanced"] = Value(20.0, 0.5)
    line = reveal_best("rebalanced", values)
    assert "consistent" in line and "'rebalanced' is the best, beyond the noise" in line


def test_reveal_best_says_when_a_choice_was_not_measured(capsys):
    line = reveal_best("blur", {"color": Value(36.0, 1.5), "cutout": Value(35.0, 1.5)})
    assert "did not measure" in line and "disagree" not in line
