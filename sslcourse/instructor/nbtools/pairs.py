"""A notebook pair: `notebooks/NN_topic.py` (jupytext percent format, the reviewed source) and
`notebooks/NN_topic.ipynb` (built from it, executed; what Colab opens).

Building is deterministic: cell ids come from the cells' content, metadata holds nothing that changes
from run to run, and the exercise markup is validated on the way (solution markers, nbgrader metadata).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from sslcourse.instructor import course

SOURCE_GLOB = "[0-9][0-9]_*.py"
STUDENT_FOLDER = "student"
BEGIN = re.compile(r"^(\s*)#+ ?BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*#+ ?END SOLUTION\s*$")
# Cell metadata that only says how jupytext laid out the .py; not part of the notebook.
JUPYTEXT_KEYS = {
    "lines_to_next_cell",
    "lines_to_end_of_cell_marker",
    "cell_marker",
    "region_name",
    "title",
    "cell_depth",
}
NBGRADER_DEFAULTS = {"schema_version": 3, "grade": False, "solution": False, "locked": False, "task": False}
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}  # what the kernel reports, less its version (noise in diffs)


@dataclass(frozen=True)
class Pair:
    """The files of one notebook of the course, found from its .py source."""

    source: Path

    @property
    def stem(self) -> str:
        return self.source.stem

    @property
    def notebook(self) -> Path:
        return self.source.with_suffix(".ipynb")

    @property
    def student(self) -> Path:
        return self.source.parent / STUDENT_FOLDER / f"{self.stem}.ipynb"


def find_pairs(names=(), root: Path = course.ROOT) -> list[Pair]:
    """The pairs in root/notebooks, all or those named (a stem, its NN prefix, or a path to the .py/.ipynb)."""
    sources = sorted((Path(root) / "notebooks").glob(SOURCE_GLOB))
    if not names:
        return [Pair(p) for p in sources]
    chosen = []
    for name in names:
        stem = Path(name).stem
        match = [p for p in sources if p.stem == stem or p.stem.startswith(f"{stem}_")]
        if len(match) != 1:
            known = ", ".join(p.stem for p in sources) or "none yet"
            raise ValueError(
                f"{name!r} names {'no' if not match else 'more than one'} notebook source in "
                f"{Path(root) / 'notebooks'} (there are: {known})"
            )
        chosen.append(Pair(match[0]))
    return chosen


# --------------------------------------------------------------------------- exercises
def solution_regions(source: str) -> list[tuple[int, int, str]]:
    """(first line, last line, indent) of each `# BEGIN SOLUTION` ... `# END SOLUTION` block, markers included."""
    regions, start = [], None
    for i, line in enumerate(source.splitlines()):
        if BEGIN.match(line):
            if start is not None:
                raise ValueError(f"line {i + 1}: BEGIN SOLUTION inside another solution (line {start[0] + 1})")
            start = (i, BEGIN.match(line).group(1))
        elif END.match(line):
            if start is None:
                raise ValueError(f"line {i + 1}: END SOLUTION without a BEGIN SOLUTION above it")
            regions.append((start[0], i, start[1]))
            start = None
    if start is not None:
        raise ValueError(f"line {start[0] + 1}: BEGIN SOLUTION is never closed by an END SOLUTION line")
    return regions


def _where(i: int, cell) -> str:
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return f"cell {i + 1} ({cell.cell_type}, `{first[:40]}`)"


def exercise_errors(nb) -> list[str]:
    """What is wrong with the exercise markup, in words (empty when nothing): markers without solution
    metadata, solution cells without a grade_id, graded cells without points, grade_ids used twice."""
    errors, seen = [], {}
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        try:
            regions = solution_regions(cell.source) if cell.cell_type == "code" else []
        except ValueError as err:
            errors.append(f"{_where(i, cell)}: {err}")
            continue
        if regions and not meta.get("solution"):
            errors.append(
                f"{_where(i, cell)} has solution markers but no metadata "
                'nbgrader={"grade_id": "...", "solution": true}'
            )
        if (regions or meta.get("solution") or meta.get("grade")) and not meta.get("grade_id"):
            errors.append(f"{_where(i, cell)} is an exercise cell without an nbgrader grade_id")
        if meta.get("grade") and not isinstance(meta.get("points"), (int, float)):
            errors.append(f"{_where(i, cell)} is graded (grade: true) but has no number of points")
        if meta.get("solution") and cell.cell_type == "code" and not regions:
            errors.append(f"{_where(i, cell)} is a solution cell without # BEGIN SOLUTION / # END SOLUTION lines")
        grade_id = meta.get("grade_id")
        if grade_id:
            if grade_id in seen:
                errors.append(f"{_where(i, cell)} reuses grade_id {grade_id!r} of cell {seen[grade_id] + 1}")
            seen.setdefault(grade_id, i)
    return errors


# --------------------------------------------------------------------------- building
def read_source(path: Path):
    """The .py source as a notebook (jupytext's percent format), exactly as written."""
    import jupytext

    return jupytext.read(Path(path), fmt="py:percent")


def stable_ids(nb) -> None:
    """Cell ids from each cell's type and text (a repeated cell gets -2, -3, ...): the same source always
    gives the same ids, and inserting a cell changes no other cell's id."""
    used: dict[str, int] = {}
    for cell in nb.cells:
        base = hashlib.sha1(f"{cell.cell_type}\0{cell.source}".encode()).hexdigest()[:8]
        used[base] = used.get(base, 0) + 1
        cell["id"] = base if used[base] == 1 else f"{base}-{used[base]}"


def normalize(nb, source_name: str):
    """A clean nbformat 4.5 notebook: the cells' text and meaningful metadata, no outputs, stable ids."""
    import nbformat

    out = nbformat.v4.new_notebook()
    out.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": dict(LANGUAGE_INFO),
        "accelerator": "GPU",
        "colab": {"provenance": [], "gpuType": "T4"},  # Colab opens it on a GPU runtime
        "sslcourse": {"source": source_name},
    }
    for cell in nb.cells:
        meta = {k: v for k, v in cell.get("metadata", {}).items() if k not in JUPYTEXT_KEYS}
        if "nbgrader" in meta:
            meta["nbgrader"] = {**NBGRADER_DEFAULTS, **meta["nbgrader"]}
        tags = meta.get("tags", [])
        if "skip-execution" in tags and "nbval-skip" not in tags:  # not run by sync, so not by nbval either
            meta["tags"] = [*tags, "nbval-skip"]
        make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell}.get(
            cell.cell_type, nbformat.v4.new_raw_cell
        )
        out.cells.append(make(cell.source, metadata=meta))
    stable_ids(out)
    return out


def build(pair: Pair, folder: str = "notebooks"):
    """The notebook `pair.source` describes, before execution, with its Colab cells (badge to `folder`)."""
    from sslcourse.instructor.colab import ensure_colab_cells

    nb = read_source(pair.source)
    ensure_colab_cells(nb, pair.stem, folder)
    errors = exercise_errors(nb)
    if errors:
        raise ValueError(f"{pair.source.name}: " + "; ".join(errors))
    return normalize(nb, pair.source.name)


def inputs_of(nb) -> list:
    """What a notebook says, as opposed to what running it printed: each cell's type, text and metadata."""
    return [
        (
            c.cell_type,
            c.source,
            json.dumps({k: v for k, v in c.get("metadata", {}).items() if k != "execution"}, sort_keys=True),
        )
        for c in nb.cells
    ]


def inputs_digest(nb) -> str:
    return hashlib.sha256(json.dumps(inputs_of(nb)).encode()).hexdigest()


def read_notebook(path: Path):
    import nbformat

    return nbformat.read(path, as_version=4)


def write_notebook(nb, path: Path) -> bool:
    """Write `nb` (nbformat's layout, one trailing newline); False when the file already said exactly that."""
    import nbformat

    text = nbformat.writes(nb).rstrip("\n") + "\n"
    if path.is_file() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True


def edited_by_hand(path: Path, expected=None) -> bool:
    """True when the notebook at `path` has cells that its last sync (or assign) did not write. A notebook
    with no record counts as hand-made unless its cells equal `expected`'s."""
    if not path.is_file():
        return False
    nb = read_notebook(path)
    recorded = nb.metadata.get("sslcourse", {}).get("inputs_sha256")
    if recorded is None:
        return expected is None or inputs_of(nb) != inputs_of(expected)
    return recorded != inputs_digest(nb)
