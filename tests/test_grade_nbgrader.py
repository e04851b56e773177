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
