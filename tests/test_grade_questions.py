"""Grading the questions of a notebook: predict-then-run exercises (`predict_<topic>()`, checked by the shared
`check_prediction`) and written questions graded by hand (markdown answer cells, `q_<name>`).

The parts first, without kernels; then one module-scoped run of `python -m sslcourse grade` over a tiny
assignment (tests/fixtures/98_questions.py: a function, a prediction and a written question) and four
submissions made from its student version.
"""

import copy
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from sslcourse.instructor.grading import batch, job, remote, sandbox, sheet, written
from sslcourse.instructor.grading import exercises as ex
from sslcourse.instructor.nbtools import assign, pairs

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "98_questions.py"
NO_SANDBOX = sandbox.problem()

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


# --------------------------------------------------------------------------- written questions, without kernels
def _written(*cells):
    """A notebook of markdown cells; a cell given as (source, grade_id) carries written-question metadata."""
    made = []
    for cell in cells:
        source, grade_id = cell if isinstance(cell, tuple) else (cell, None)
        meta = {"nbgrader": {"grade": True, "solution": True, "grade_id": grade_id, "points": 2}} if grade_id else {}
        made.append(nbformat.v4.new_markdown_cell(source, metadata=meta))
    return nbformat.v4.new_notebook(cells=made)


ASSIGNMENT = _written("Intro", "**Q.** Why?", ("Because.", "q_why"), "## Next part")


def test_written_questions_and_their_points_come_from_the_assignment():
    (q,) = written.questions(ex.read_notebook(FIXTURE), FIXTURE.name)
    assert (q.grade_id, q.points, q.source) == ("q_neighbours", 2.0, "98_questions.py")
    assert q.text.startswith("**Question 1 (written, graded by hand; 2 points).** Why does a kNN")
    assert q.model.startswith("It keeps the training set") and q.after.startswith("## After the question")
    assert [e.name for e in ex.exercises(ex.read_notebook(FIXTURE))] == ["knn_classify", "predict_more_neighbours"]


@pytest.mark.parametrize(
    "cells, state, text, note",
    [
        (["Intro", "**Q.** Why?", ("Mine.", "q_why"), "## Next part"], "answered", "Mine.", None),
        (["Intro", "**Q.** Why?", (" YOUR ANSWER HERE\n", "q_why"), "## Next part"], "unchanged", None, None),
        (["Intro", "**Q.** Why?", ("  \n", "q_why"), "## Next part"], "empty", None, None),
        (["Intro", "**Q.** Why?", "Mine, no metadata.", "## Next part"], "answered", "Mine, no metadata.", "found"),
        (["Intro", "**Q.** Why?", "## Next part"], "missing", None, None),  # deleted: the next cell is the course's
        (["Intro", "**Q.** Why? I think so.", "Mine.", "## Next part"], "missing", None, None),  # question edited
        (["**Q.** Why?", ("First.", "q_why"), ("Second.", "q_why")], "answered", "First.", "2 cells carry"),
    ],
)
def test_a_submissions_answer_is_found_by_grade_id_else_after_the_question(cells, state, text, note):
    (q,) = written.questions(ASSIGNMENT)
    response = written.respond(_written(*cells), q)
    assert response.state == state, response
    if text is not None:
        assert response.text == text
    assert (note is None and response.notes == ()) or any(note in n for n in response.notes), response.notes


def test_an_unreadable_submission_has_no_answers_and_nothing_in_it_runs():
    (q,) = written.questions(ASSIGNMENT)
    for data in (b"this is not a notebook", b"[1, 2]", b'{"cells": {"a": 1}}', b"\xff\xfe"):
        (response,) = written.responses(data, [q])
        assert response.state == "unreadable"
        assert response.note() == "q_why: no answer (answer cell missing: the notebook could not be read)"


def test_written_answers_are_shown_as_text_that_cannot_break_the_markdown():
    from markdown_it import MarkdownIt

    (q,) = written.questions(ASSIGNMENT, "00_demo.py")
    nasty = "Fine.\n# A heading of mine\n````\n<script>alert(1)</script>\n[link](http://x)\n\x1b[31mred\u202eevil"
    long = "word " * 2000
    given = [
        ("alice", [written.Response(q, "answered", nasty)]),
        ("bob\n# `x`", [written.Response(q, "answered", long)]),
        ("carol", [written.Response(q, "unchanged", "YOUR ANSWER HERE")]),
        ("dave", [written.Response(q, "missing")]),
    ]
    text = written.render(given, "grades.csv")
    tokens = MarkdownIt("commonmark").parse(text)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == [
        "Written answers, to grade by hand",
        "`q_why` (2 points)",
        "`alice`",
        "`` bob # `x` ``",  # a student's name, on one line, as code: nothing in it is rendered
        "`carol`",
        "`dave`",
    ]
    bob = next(t for t in tokens if t.type == "inline" and "bob" in t.content)
    assert [(c.type, c.content) for c in bob.children] == [("code_inline", "bob # `x`")]
    assert not [t for t in tokens if t.type.startswith("html")]  # no HTML block from anyone's answer
    fences = [t.content for t in tokens if t.type == "fence"]
    assert (
        fences[0]
        == "Fine.\n# A heading of mine\n````\n<script>alert(1)</script>\n[link](http://x)\n\\x1b[31mred\\u202eevil\n"
    )
    assert fences[1] == long[: written.MAX_CHARS].strip("\n") + "\n"
    assert f"*(cut: the answer has 10,000 characters; the first {written.MAX_CHARS:,} are shown)*" in text
    assert "\x1b" not in text and "\u202e" not in text
    assert "(no answer: YOUR ANSWER HERE unchanged)" in text and "(answer cell missing)" in text
    assert "> **Q.** Why?" in text and "> Because." in text  # the question and the course's answer
    assert "From `00_demo.py`: 2 of 4 submissions answered it." in text


def test_without_written_questions_the_sheet_keeps_its_columns_and_with_them_names_its_totals():
    row = {
        "student": "alice",
        "f": 2.0,
        "total": 2.0,
        "max_total": 3.0,
        "status": "ok",
        "notes": "",
        "by_hand_max_total": 2.0,
    }
    plain = sheet.render([row], ["f"]).splitlines()
    assert plain[0] == "student,lms_id,f,total,max_total,status,notes"
    header, line = sheet.render([row], ["f"], ["q_why"]).splitlines()
    assert header == "student,lms_id,f,q_why,auto_total,auto_max_total,by_hand_max_total,status,notes"
    assert line == "alice,,2,,2,3,2,ok,"  # the question's points: left for the instructor
    assert sheet.answers_path(Path("/x/grades.csv")) == Path("/x/grades-answers.md")


# --------------------------------------------------------------------------- a classroom, end to end
NASTY = "It remembers the examples.\n# Not a heading\n```\n<b>bold?</b> \x1b[31mred"


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _prediction(nb, said: str):
    _cell(nb, "predict_more_neighbours").source = f"def predict_more_neighbours():\n    return {said!r}\n"


def _grade(*args, check=True):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "sslcourse", "grade", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    """The fixture assigned in a scratch course; four submissions of its student version, graded once."""
    if NO_SANDBOX and not os.environ.get("SSLCOURSE_REQUIRE_SANDBOX"):
        pytest.skip(f"grading needs a sandbox, and there is none here: {NO_SANDBOX}")
    base = tmp_path_factory.mktemp("questions")
    (base / "notebooks").mkdir()
    shutil.copy(FIXTURE, base / "notebooks" / FIXTURE.name)
    assert assign.assign(root=base) == 0
    pair = pairs.find_pairs(root=base)[0]
    stub = nbformat.read(pair.student, as_version=4)
    assert _cell(stub, "q_neighbours").source == "YOUR ANSWER HERE"

    answered = copy.deepcopy(stub)  # everything done: a right function, a valid prediction, an answer
    _cell(answered, "knn_classify").source = _cell(pairs.build(pair), "knn_classify").source
    _prediction(answered, " Better")
    _cell(answered, "q_neighbours").source = NASTY
    stripped = copy.deepcopy(stub)  # the answer cell's metadata removed; a prediction that is no choice
    _cell(stripped, "q_neighbours").source = "Nothing to learn: it looks the neighbours up."
    del _cell(stripped, "q_neighbours").metadata["nbgrader"]
    _prediction(stripped, "maybe")
    deleted = copy.deepcopy(stub)  # the answer cell deleted
    deleted.cells.remove(_cell(deleted, "q_neighbours"))
    _prediction(deleted, "worse")

    subs, out = base / "submitted", base / "grades.csv"
    subs.mkdir()
    paths = []
    for name, nb in {"answered": answered, "unchanged": stub, "stripped": stripped, "deleted": deleted}.items():
        paths.append(subs / f"{name}.ipynb")
        nbformat.write(nb, paths[-1])
    done = _grade(*paths, "--out", out, "--assignment", pair.source, "--timeout", 60, "--memory", "2G", "--jobs", "2")
    with open(out, newline="") as f:
        header = next(csv.reader(f))
    return {
        "header": header,
        "rows": {r["student"]: r for r in sheet.read_sheet(out)},
        "answers": sheet.answers_path(out),
        "log": done.stdout + done.stderr,
        "out": out,
        "paths": paths,
        "assignment": pair.source,
    }


@pytest.mark.slow
def test_the_sheet_has_a_column_per_question_to_fill_and_says_its_total_is_auto_graded_only(classroom):
    assert classroom["header"] == [
        "student",
        "lms_id",
        "knn_classify",
        "predict_more_neighbours",
        "q_neighbours",
        "auto_total",
        "auto_max_total",
        "by_hand_max_total",
        "status",
        "notes",
    ]
    for row in classroom["rows"].values():
        assert (row["q_neighbours"], row["auto_max_total"], row["by_hand_max_total"]) == ("", "3", "2"), row
        assert row["status"] == "ok", row


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, knn, prediction, said",
    [
        ("answered", "2", "1", ["q_neighbours: answered, to grade by hand (2 points)"]),
        (
            "unchanged",
            "0",
            "0",
            [
                "predict_more_neighbours: not implemented yet",
                "q_neighbours: no answer (YOUR ANSWER HERE unchanged)",
            ],
        ),
        (
            "stripped",
            "0",
            "0",
            [
                "'maybe', which is not one of the choices",
                "q_neighbours: answered, to grade by hand (2 points); its answer cell was found right after the "
                "question's text (its grading metadata was removed)",
            ],
        ),
        ("deleted", "0", "1", ["q_neighbours: no answer (answer cell missing)"]),
    ],
)
def test_points_and_notes_for_the_prediction_and_the_written_question(classroom, name, knn, prediction, said):
    row = classroom["rows"][name]
    assert (row["knn_classify"], row["predict_more_neighbours"]) == (knn, prediction), row
    assert float(row["auto_total"]) == float(knn) + float(prediction), row
    for words in said:
        assert words in row["notes"], row["notes"]


@pytest.mark.slow
def test_the_answers_file_lists_every_answer_under_its_question(classroom):
    text = classroom["answers"].read_text()
    assert f"wrote {classroom['answers']}: 2 written answers to grade by hand" in classroom["log"]
    assert "## `q_neighbours` (2 points)" in text and "2 of 4 submissions answered it" in text
    assert "> **Question 1 (written, graded by hand; 2 points).** Why does a kNN classifier need no training?" in text
    students = [line for line in text.splitlines() if line.startswith("### ")]
    assert students == ["### `answered`", "### `unchanged`", "### `stripped`", "### `deleted`"]  # the sheet's order
    sections = dict(zip(["answered", "unchanged", "stripped", "deleted"], text.split("### `")[1:]))
    assert "````text\n" + written.visible(NASTY) + "\n````" in sections["answered"]  # a fence no line can close
    assert "(no answer: YOUR ANSWER HERE unchanged)" in sections["unchanged"]
    assert "```text\nNothing to learn: it looks the neighbours up.\n```" in sections["stripped"]
    assert "found right after the question's text" in sections["stripped"]
    assert "(answer cell missing)" in sections["deleted"]
    assert "\n# Not a heading" not in text.split("````text")[0] and "\x1b" not in text


@pytest.mark.slow
def test_an_existing_answers_file_is_replaced_only_with_force(classroom, tmp_path):
    out, answers = tmp_path / "grades.csv", tmp_path / "grades-answers.md"
    answers.write_text("my own notes while grading\n")
    args = [
        classroom["paths"][2],
        "--out",
        out,
        "--assignment",
        classroom["assignment"],
        "--isolation",
        "none",
        "--quiet",
    ]
    refused = _grade(*args, check=False)
    assert refused.returncode == 2 and f"{answers} exists; pass --force" in refused.stderr, refused.stderr
    assert answers.read_text() == "my own notes while grading\n" and not out.exists()
    _grade(*args, "--force")
    assert "### `stripped`" in answers.read_text() and out.is_file()


def test_a_folder_where_the_answers_file_goes_is_refused_even_with_force(tmp_path):
    answers = tmp_path / "grades-answers.md"
    (answers / "2025").mkdir(parents=True)
    (answers / "2025" / "q1.md").write_text("alice: 2/2")
    notebook = tmp_path / "alice.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), notebook)
    args = [notebook, "--out", tmp_path / "grades.csv", "--assignment", FIXTURE, "--isolation", "none", "--force"]
    refused = _grade(*args, check=False)
    assert refused.returncode == 2 and f"{answers} is a folder" in refused.stderr, refused.stderr
    assert (answers / "2025" / "q1.md").read_text() == "alice: 2/2" and not (tmp_path / "grades.csv").exists()
