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

    def predict_up():
        return "better"

    assert check_prediction("predict_up", predict_up, CHOICES).passed
    assert "numbers agree" in reveal_direction(predict_up, Value(3.0, 1.0), words)
    assert "the numbers say 'about the same'" in reveal_direction("worse", Value(-1.0, 1.0), words)


def test_a_reveal_shows_nothing_before_a_prediction_is_recorded(capsys):
    """Students first: the numbers' verdict only after a committed prediction, or on request (show=True)."""
    words = ("worse", "about the same", "better")

    def predict_never_checked():
        return "better"

    def predict_stub():
        raise NotImplementedError("exercise predict_stub: write your solution here")

    assert not check_prediction("predict_stub", predict_stub, CHOICES).passed
    for prediction in (predict_never_checked, predict_stub):
        line = reveal_direction(prediction, Value(3.0, 1.0), words, what="the gap")
        assert "No prediction recorded" in line and "stays hidden" in line and "show=True" in line
        assert "3.0" not in line and "better" not in line.split("show=True")[0].replace(prediction.__name__, "")
        line = reveal_best(prediction, {"a": Value(10.0, 0.5), "b": Value(20.0, 0.5)})
        assert "stays hidden" in line and "20.0" not in line and "'b'" not in line
    shown = reveal_direction(predict_stub, Value(3.0, 1.0), words, show=True)
    assert "No prediction made" in shown and "'better'" in shown and "+3.0" in shown
    assert "'b' is the best" in reveal_best(predict_stub, {"a": Value(10.0, 0.5), "b": Value(20.0, 0.5)}, show=True)
    out = capsys.readouterr().out
    assert out.count("stays hidden") == 4


def test_the_recorded_choice_is_the_one_judged(capsys):
    """A prediction changed after the numbers were seen does not count: the recorded one does, until checked again."""
    answer = {"now": "worse"}

    def predict_flip():
        return answer["now"]

    assert check_prediction("predict_flip", predict_flip, CHOICES).passed
    answer["now"] = "better"
    assert "You predicted 'worse'" in reveal_direction(predict_flip, Value(3.0, 1.0), ("worse", "same", "better"))
    answer["now"] = "much better"  # no longer a valid choice: the record goes
    assert not check_prediction("predict_flip", predict_flip, CHOICES).passed
    assert "stays hidden" in reveal_direction(predict_flip, Value(3.0, 1.0), ("worse", "same", "better"))


def test_reveal_best_counts_every_choice_within_the_noise_of_the_top(capsys):
    values = {"l2": Value(10.0, 0.5), "classification": Value(14.0, 0.5), "rebalanced": Value(14.5, 0.5)}
    line = reveal_best("classification", values)
    # 14.0 vs 14.5: 0.5 ± 0.7: a tie at the top is no confirmation of either choice
    assert "cannot tell at this scale" in line and "consistent" not in line and "cannot single one out" in line
    assert "disagree" in reveal_best("l2", values)
    values["rebalanced"] = Value(20.0, 0.5)
    line = reveal_best("rebalanced", values)
    assert "consistent" in line and "'rebalanced' is the best, beyond the noise" in line


def test_reveal_best_says_when_a_choice_was_not_measured(capsys):
    line = reveal_best("blur", {"color": Value(36.0, 1.5), "cutout": Value(35.0, 1.5)})
    assert "did not measure" in line and "disagree" not in line
