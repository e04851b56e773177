"""Issue 28 for notebooks 01 and 02: each holds an experiment the student runs (a setting they choose in a
MY_... variable, a prediction committed before it, and a reveal that judges the prediction from the measured
numbers), at least two predictions and at least three written questions, and the design exercises' student
text keeps the requirements but not the answer the student is asked to find."""

import re

import pytest

from sslcourse.instructor.nbtools import assign, pairs

EXPERIMENTS = {  # notebook: (its student-run prediction, the setting the student chooses)
    "01_context": ("predict_border_gap", "MY_GAP"),
    "02_colorization": ("predict_my_colorizer", "MY_LOSS"),
}
# What a design exercise asks the student to work out, which the text they keep must not state.
NOT_IN_STUDENT_TEXT = {
    "01_context": {"the grid corner's range": r"`?jitter`? margin|H\s*-\s*span\s*-\s*jitter|- 3\s*\*\s*patch"},
    "02_colorization": {"the underflow fix": r"relative to the nearest|`topk\(|`scatter`"},
}
FOUND = {p.stem: p for p in pairs.find_pairs()}


def _code(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("stem", sorted(EXPERIMENTS))
def test_the_student_runs_an_experiment_and_predicts_it_first(stem):
    if stem not in FOUND:
        pytest.skip(f"no notebooks/{stem}.py here")
    nb = pairs.build(FOUND[stem])
    prediction, setting = EXPERIMENTS[stem]
    code = _code(nb)
    where = {
        "prediction": next(i for i, s in enumerate(code) if f'check_prediction("{prediction}"' in s),
        "setting": next(i for i, s in enumerate(code) if re.search(rf"^{setting}\b.*=", s, flags=re.M)),
        "reveal": next(i for i, s in enumerate(code) if re.search(rf"reveal_\w+\(\s*{prediction}\b", s)),
    }
    assert where["prediction"] < where["setting"] < where["reveal"], f"{stem}: {where}"


@pytest.mark.parametrize("stem", sorted(EXPERIMENTS))
def test_two_predictions_and_three_written_questions(stem):
    if stem not in FOUND:
        pytest.skip(f"no notebooks/{stem}.py here")
    nb = pairs.build(FOUND[stem])
    grading = [c.metadata.get("nbgrader", {}) for c in nb.cells]
    predictions = [g["grade_id"] for g in grading if str(g.get("grade_id", "")).startswith("check_predict_")]
    written = [g["grade_id"] for g in grading if g.get("solution") and g.get("grade") and g.get("points")]
    assert len(predictions) >= 2, f"{stem}: predictions {predictions}"
    assert len(written) >= 3, f"{stem}: written questions {written}"
    code = "\n".join(_code(nb))
    for check in predictions:  # every prediction is judged by a reveal
        name = check.removeprefix("check_")
        assert re.search(rf"reveal_\w+\(\s*{name}\b", code), f"{stem}: {name} is never revealed"
    numbers = [int(n) for n in re.findall(r"\*\*Question (\d+) \(written", "\n".join(c.source for c in nb.cells))]
    assert numbers == list(range(1, len(written) + 1)), f"{stem}: questions numbered {numbers}"


@pytest.mark.parametrize("stem", sorted(NOT_IN_STUDENT_TEXT))
def test_a_design_exercise_does_not_hand_over_its_answer(stem):
    if stem not in FOUND:
        pytest.skip(f"no notebooks/{stem}.py here")
    text = "\n".join(c.source for c in assign.student_notebook(FOUND[stem]).cells)
    for answer, pattern in NOT_IN_STUDENT_TEXT[stem].items():
        found = re.findall(rf".{{0,40}}(?:{pattern}).{{0,20}}", text)
        assert not found, f"{stem}: the student notebook states {answer}: {found}"
