"""The student notebooks' graded cells carry nbgrader's metadata as nbgrader writes it (issue #30): read by
nbgrader's own validator when nbgrader is installed, else checked against its cell metadata schema, version 3
(nbgrader/nbgraderformat/v3.py: every key present and typed, a grade id of letters, digits, `_` and `-`, unique
in the notebook, points on every graded cell, an auto-graded cell that is code and locked, a task in markdown)."""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
STUDENT = sorted((ROOT / "notebooks" / "student").glob("*.ipynb"))
KEYS = {"schema_version": int, "grade": bool, "solution": bool, "locked": bool, "task": bool, "grade_id": str}


def _schema_problems(nb) -> list[str]:
    problems, seen = [], set()
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        where = f"cell {i + 1} ({meta.get('grade_id', '?')})"
        for key, kind in KEYS.items():
            if not isinstance(meta.get(key), kind):
                problems.append(f"{where}: {key} missing or not {kind.__name__}")
        if meta.get("schema_version") != 3:
            problems.append(f"{where}: schema_version {meta.get('schema_version')!r}, nbgrader writes 3")
        if not re.fullmatch(r"[a-zA-Z0-9_\-]+", str(meta.get("grade_id", ""))):
            problems.append(f"{where}: a grade id nbgrader refuses")
        if meta.get("grade_id") in seen:
            problems.append(f"{where}: grade id used twice")
        seen.add(meta.get("grade_id"))
        if (meta.get("grade") or meta.get("task")) and not (
            isinstance(meta.get("points"), (int, float)) and meta["points"] >= 0
        ):
            problems.append(f"{where}: a graded cell without points")
        if meta.get("grade") and not meta.get("solution") and (cell.cell_type != "code" or not meta.get("locked")):
            problems.append(f"{where}: an auto-graded test cell must be code, and locked")
        if meta.get("task") and (cell.cell_type != "markdown" or meta.get("grade") or meta.get("solution")):
            problems.append(f"{where}: a task must be a markdown cell, neither graded nor a solution")
    return problems


@pytest.mark.parametrize("path", STUDENT, ids=[p.stem for p in STUDENT])
def test_graded_cells_carry_nbgrader_metadata(path):
    nb = nbformat.read(path, as_version=4)
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded, f"{path.name}: no graded cell"
    try:
        from nbgrader.nbgraderformat import ValidatorV3
    except ImportError:
        assert _schema_problems(nb) == []
    else:
        ValidatorV3().validate_nb(nb)  # raises nbgrader's ValidationError on any cell it would refuse
        assert _schema_problems(nb) == []


def test_the_schema_check_finds_what_nbgrader_refuses():
    cell = nbformat.v4.new_code_cell("check()")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "check x", "solution": False, "schema_version": 3}
    said = " ".join(_schema_problems(nbformat.v4.new_notebook(cells=[cell])))
    assert "locked missing" in said and "grade id nbgrader refuses" in said and "without points" in said


# --------------------------------------------------------------------------- partial credit as nbgrader reads it
SOLVED = sorted((ROOT / "notebooks").glob("0*.ipynb"))


def _nbgrader_grade(cell) -> float:
    """The points nbgrader's autograder gives an executed auto-graded code cell: its own `determine_grade` when
    nbgrader is installed, else the same rule (nbgrader/utils.py, 0.9): an error or anything on stderr gives 0,
    the first result that reads as a number is the partial credit, and anything else gives full points."""
    try:
        from nbgrader.utils import determine_grade
    except ImportError:
        pass
    else:
        return determine_grade(cell)[0]
    full = float(cell.metadata["nbgrader"]["points"])
    for out in cell.outputs:
        if out.output_type == "error" or (out.output_type == "stream" and out.get("name") == "stderr"):
            return 0.0
        if out.output_type == "execute_result":
            try:
                value = float(out["data"]["text/plain"])
            except ValueError:
                return full
            assert value <= full, "nbgrader refuses partial credit above the cell's points"
            return value if value >= 0 else full
    return full


def _auto_graded(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]


@pytest.mark.parametrize("path", SOLVED + STUDENT, ids=[f"{p.parent.name}/{p.stem}" for p in SOLVED + STUDENT])
def test_every_auto_graded_cell_ends_in_its_points(path):
    """Each auto-graded cell's last line is `<result>.points(N)`, N its metadata's points, so nbgrader takes the
    checker's partial credit instead of giving full points to a cell that only printed a verdict."""
    import ast

    for cell in _auto_graded(nbformat.read(path, as_version=4)):
        meta = cell.metadata["nbgrader"]
        last = ast.parse(cell.source).body[-1]
        call = last.value if isinstance(last, ast.Expr) else None
        assert (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "points"
            and [ast.literal_eval(a) for a in call.args] == [meta["points"]]
        ), f"{path.name} {meta['grade_id']}: the cell must end with `result.points({meta['points']})`"


@pytest.mark.parametrize("path", SOLVED, ids=[p.stem for p in SOLVED])
def test_nbgrader_gives_the_solved_notebooks_full_points(path):
    """The executed solved notebooks, read as nbgrader's autograder reads them: every check passed, so every
    auto-graded cell shows its full points as a number (not full points by default, for showing none)."""
    for cell in _auto_graded(nbformat.read(path, as_version=4)):
        meta = cell.metadata["nbgrader"]
        shown = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert shown and float(shown[0]["data"]["text/plain"]) == meta["points"], meta["grade_id"]
        assert _nbgrader_grade(cell) == meta["points"], meta["grade_id"]


def test_nbgrader_reads_a_failed_or_partial_check_as_such():
    """What a student's stub, a half-right function and a right one show at the end of the graded cell, and what
    nbgrader makes of it: 0, the share of cases passed, full points."""
    from IPython.core.formatters import PlainTextFormatter

    from sslcourse.checks.evaluation import check_knn_classify
    from sslcourse.evaluate import knn_classify

    def stub(train_features, train_labels, query_features, k=20):
        raise NotImplementedError

    fmt = PlainTextFormatter()
    for fn, expected in ((stub, 0.0), (knn_classify, 4.0)):
        cell = nbformat.v4.new_code_cell("result.points(4)")
        cell.metadata["nbgrader"] = {"grade": True, "points": 4, "grade_id": "check_knn_classify"}
        value = check_knn_classify(fn).points(4)
        cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": fmt(value)}, execution_count=1)]
        assert _nbgrader_grade(cell) == expected
    from sslcourse.checks import CheckResult

    half = CheckResult("x", passed=False, score=2, max_score=3, message="")
    assert half.points(4) == 2.67 and float(fmt(half.points(4))) == 2.67
