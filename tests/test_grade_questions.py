"""Grading the questions of a notebook: predict-then-run exercises (`predict_<topic>()`, checked by the shared
`check_prediction`) and written questions graded by hand (markdown answer cells, `q_<name>`).

The parts first, without kernels; then one module-scoped run of `python -m sslcourse grade` over a tiny
assignment (tests/fixtures/98_questions.py: a function, a prediction and a written question) and four
submissions made from its student version.
"""

import nbformat

from sslcourse.instructor.grading import batch, job, remote
from sslcourse.instructor.grading import exercises as ex

CHECKER_CELL = """from sslcourse.checks.predictions import check_prediction

check_prediction("{name}", {name},
                 ("better", "about the same", "worse"))
"""


# --------------------------------------------------------------------------- predictions, without kernels
def test_a_predictions_choices_are_read_from_its_checker_cell_never_run():
    cell = CHECKER_CELL.format(name="predict_gap")
    assert ex.prediction_choices(cell, "predict_gap") == ("better", "about the same", "worse")
    assert ex.prediction_choices(cell, "predict_other") is None  # another prediction's checker
    keywords = 'check_prediction(name="predict_gap", fn=predict_gap, choices=["up", "down"])'
    assert ex.prediction_choices(keywords, "predict_gap") == ("up", "down")
    assert ex.prediction_choices('check_prediction("predict_gap", predict_gap, CHOICES)', "predict_gap") is None
    assert ex.prediction_choices("check_knn_classify(knn_classify)", "knn_classify") is None


def test_a_prediction_checker_cell_without_its_metadata_is_found_by_its_call():
    name = "predict_gap"
    solution = nbformat.v4.new_code_cell(f"def {name}():\n    return 'worse'")
    checker = nbformat.v4.new_code_cell(CHECKER_CELL.format(name=name))
    answer = ex.locate(nbformat.v4.new_notebook(cells=[solution, checker]), ex.Exercise(name, 1.0, checker.source))
    assert (answer.solution, answer.checkers) == (0, [1])
    assert "its checker cell was found by its code (its grading metadata was changed)" in answer.notes


def test_a_prediction_earns_its_points_for_a_valid_choice_only(tmp_path):
    """The genuine check_prediction, on the student's function in a worker: a valid choice (any letter case,
    spaces around it) earns the points; the student version's stub, a string that is not a choice, or no
    string at all earn 0, with the checker's own words."""
    bodies = {
        "predict_valid": "return ' About the Same '",
        "predict_stub": 'raise NotImplementedError("exercise predict_stub: write your solution here")',
        "predict_invalid": "return 'maybe'",
        "predict_number": "return 3",
    }
    steps = [
        {"cell": i, "name": name, "source": f"def {name}():\n    {body}\n"}
        for i, (name, body) in enumerate(bodies.items())
    ]
    worker = remote.Worker(
        steps, {}, memory=None, box=None, cwd=str(tmp_path), env=batch.sandbox_env(tmp_path, 1, False)
    ).wait()
    try:
        checkers = job.load_checkers()
        results = {}
        for i, name in enumerate(bodies):
            exercise = ex.Exercise(name, 1.0, CHECKER_CELL.format(name=name))
            results[name], calls = job.check(ex.Answer(exercise, i, [], []), worker, checkers)
            assert calls == {}
    finally:
        worker.close()
    assert results["predict_valid"]["score"] == results["predict_valid"]["max_score"] == 1
    assert results["predict_valid"]["notes"] == []
    expected = {
        "predict_stub": "not implemented yet",
        "predict_invalid": "'maybe', which is not one of the choices",
        "predict_number": "it returned int 3: return one of",
    }
    for name, said in expected.items():
        assert results[name]["score"] == 0, results[name]
        assert any(said in note for note in results[name]["notes"]), results[name]
