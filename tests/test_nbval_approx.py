"""Cells tagged nbval-approx-<T>: numbers within T of the stored ones, everything else exactly."""

from sslcourse.instructor.nbtools.approx import approx_mismatches, approx_tolerance

STORED = "step 100: kNN accuracy 29.2%\nstep 200: kNN accuracy 31.0%\n"


def test_the_tag_states_the_tolerance():
    assert approx_tolerance({"metadata": {"tags": ["hide-input", "nbval-approx-6"]}}) == 6
    assert approx_tolerance({"metadata": {"tags": ["nbval-approx-0.5"]}}) == 0.5
    assert approx_tolerance({"metadata": {"tags": ["nbval-ignore-output"]}}) is None
    assert approx_tolerance({"metadata": {}}) is None


def test_numbers_within_the_tolerance_pass_and_beyond_it_fail():
    assert approx_mismatches("step 100: kNN accuracy 27.0%\nstep 200: kNN accuracy 33.9%\n", STORED, 6) == []
    [problem] = approx_mismatches("step 100: kNN accuracy 12.0%\nstep 200: kNN accuracy 31.0%\n", STORED, 6)
    assert "29.2 stored, 12.0 now" in problem


def test_the_words_around_the_numbers_must_match_exactly():
    [problem] = approx_mismatches("step 100: loss 29.2\nstep 200: kNN accuracy 31.0%\n", STORED, 6)
    assert "text differs" in problem
    assert approx_mismatches("step 100: kNN accuracy 29.2%\n", STORED, 6)  # a missing line is a difference
