"""LMS in and out (issue #30): who a submission is, from Canvas's, Moodle's and nbgrader's names; the gradebooks
to import into Canvas and Moodle; one feedback file per student. Fast: no notebook runs here (the classroom of
tests/test_grade.py checks that a real run writes them)."""

import csv
import io
from pathlib import Path

import nbformat

from sslcourse.instructor.grading import batch, exercises, lms


def _nb(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(), path)
    return path


def test_names_and_ids_from_each_lms(tmp_path):
    _nb(tmp_path / "smithjane_1234_567890_03_simclr.ipynb")  # Canvas
    _nb(tmp_path / "doejohn_LATE_2345_678901_03_simclr-1.ipynb")  # Canvas, late, renamed copy
    _nb(tmp_path / "Ana María Núñez_98765_assignsubmission_file_" / "03_simclr.ipynb")  # Moodle
    _nb(tmp_path / "s1234567" / "03_simclr" / "03_simclr.ipynb")  # nbgrader's exchange: <student>/<assignment>/
    _nb(tmp_path / "zoe.ipynb")  # plain
    found, _ = batch.collect([tmp_path])
    who = {w.name: w for _, w in found}
    assert who["smithjane"] == lms.Identity("smithjane", "1234", "canvas", False)
    assert who["doejohn"] == lms.Identity("doejohn", "2345", "canvas", True)
    assert who["Ana María Núñez"] == lms.Identity("Ana María Núñez", "98765", "moodle")
    assert who["s1234567"] == lms.Identity("s1234567", "s1234567", "folder")
    assert who["zoe"] == lms.Identity("zoe")


def _row(student, lms_id, total, max_total, by_hand=None, status="ok"):
    row = {"student": student, "name": student, "lms_id": lms_id, "total": total, "max_total": max_total}
    row.update(status=status, notes="")
    if by_hand:
        row["by_hand_max_total"] = by_hand
    return row


def test_gradebooks_in_canvas_and_moodle_import_formats():
    rows = [_row("smithjane", "1234", 4.5, 6, by_hand=2), _row("zoe", "", 0, 6, status="error")]
    rows.append({"student": "notes.txt", "status": "skipped", "notes": "not graded"})
    canvas = list(csv.reader(io.StringIO(lms.canvas_csv(rows, "03_simclr"))))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "03_simclr"]
    assert canvas[1] == ["Points Possible", "", "", "", "", "6"]
    assert canvas[2] == ["smithjane", "1234", "", "", "", "4.5"] and canvas[3][:2] == ["zoe", ""]
    assert len(canvas) == 4  # the skipped file is no student
    moodle = list(csv.DictReader(io.StringIO(lms.moodle_csv(rows))))
    assert list(moodle[0]) == ["Identifier", "Full name", "Grade", "Maximum Grade", "Feedback comments"]
    assert (moodle[0]["Identifier"], moodle[0]["Grade"], moodle[0]["Maximum Grade"]) == ("Participant 1234", "4.5", "6")
    assert "2 more for written answers" in moodle[0]["Feedback comments"] and moodle[1]["Identifier"] == ""


def test_feedback_names_points_checker_messages_predictions_and_written_answers():
    knn = exercises.Exercise("knn_classify", 4, "check_knn_classify(knn_classify)")
    guess = exercises.Exercise(
        "predict_crop_partner",
        1,
        'check_prediction("predict_crop_partner", predict_crop_partner, ("color", "blur"))',
    )
    sub = batch.Submission(Path("x.ipynb"), "smithjane", b"", "0", exercises=[knn, guess])
    sub.identity = lms.Identity("smithjane", "1234", "canvas")
    result = {
        "status": "ok",
        "exercises": {
            "knn_classify": {"score": 3, "max_score": 7, "notes": ["✗ knn_classify: ties are broken wrongly"]},
            "predict_crop_partner": {"score": 1, "max_score": 1, "notes": []},
        },
    }
    row = batch.make_row(sub, result, [])
    assert (row["lms_id"], row["knn_classify"]) == ("1234", round(4 * 3 / 7, 2))
    text = lms.feedback(row, "03_simclr")
    assert "feedback for smithjane" in text and "## Exercises" in text and "## Predictions" in text
    assert "`knn_classify`: 1.71 of 4 points. ties are broken wrongly" in text
    assert "`predict_crop_partner`: 1 of 1 points" in text and "it ran from top to bottom" in text
    assert lms.feedback_name({"student": "a/b c"}) == "a_b_c.md"
