"""`python -m sslcourse assign`: the student versions of the notebooks, in notebooks/student/.

Each region between `# BEGIN SOLUTION` and `# END SOLUTION` lines becomes one line,
`raise NotImplementedError("exercise <grade_id>: ...")`, at the indentation of the markers, so the
function's signature and docstring above it stay. A markdown cell marked as a solution
(nbgrader `solution: true`) becomes "YOUR ANSWER HERE", as nbgrader does.

As nbgrader releases an assignment, the student notebook is written WITHOUT outputs: a student opens
exercises, never a printed reveal or a result to predict. Whether it runs is checked by running it (`--run`
here, and CI, which runs every student notebook under nbval without comparing outputs: each cell must run,
each checker says "not implemented yet", and the notebook goes on with the library's reference). A student
notebook whose cells were edited after `assign` wrote them is never overwritten without --force.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

from sslcourse.instructor import course
from sslcourse.instructor.nbtools import run
from sslcourse.instructor.nbtools.pairs import (
    STUDENT_FOLDER,
    Pair,
    build,
    edited_by_hand,
    find_pairs,
    inputs_digest,
    solution_regions,
    stable_ids,
    write_notebook,
)

STUB = 'raise NotImplementedError("exercise {grade_id}: write your solution here")'
MARKDOWN_ANSWER = "YOUR ANSWER HERE"


def strip_solutions(source: str, grade_id: str) -> str:
    """`source` with each solution region (markers included) replaced by the stub, at the markers' indent."""
    lines = source.splitlines()
    for first, last, indent in reversed(solution_regions(source)):
        lines[first : last + 1] = [indent + STUB.format(grade_id=grade_id)]
    return "\n".join(lines)


def student_notebook(pair: Pair):
    """The student version of `pair`: solutions out, no outputs, badge pointing at the student copy."""
    nb = build(pair, folder=f"notebooks/{STUDENT_FOLDER}")
    for cell in nb.cells:
        grading = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and solution_regions(cell.source):
            cell.source = strip_solutions(cell.source, grading["grade_id"])
        elif cell.cell_type == "markdown" and grading.get("solution"):
            cell.source = MARKDOWN_ANSWER
    nb.metadata["sslcourse"]["student"] = True
    stable_ids(nb)
    return nb


def run_student(pair: Pair, nb=None, timeout: int = 1200):
    """Run the student version of `pair` end to end, as a student's "Run all" would, and return the executed
    copy; nothing is written. Raises ValueError (saying where) when a cell fails."""
    executed = copy.deepcopy(nb if nb is not None else student_notebook(pair))
    pair.student.parent.mkdir(parents=True, exist_ok=True)
    try:
        run.execute(executed, cwd=pair.student.parent, timeout=timeout)
    except run.NotebookFailed as err:
        raise ValueError(
            f"the student version of {pair.source.name} does not run to its end (after an exercise, "
            f"the notebook should go on with the reference: `result.choose(...)`): {err}"
        ) from None
    return executed


def assign_pair(pair: Pair, force: bool = False, check_runs: bool = False, timeout: int = 1200) -> str:
    """Write one student notebook, without outputs; returns what happened. Raises ValueError when it would
    overwrite cells edited by hand (without `force`), or, with `check_runs`, when a cell fails."""
    nb = student_notebook(pair)
    if edited_by_hand(pair.student, expected=nb) and not force:
        raise ValueError(
            f"{pair.student} has cells edited since `assign` wrote it; pass --force to overwrite them "
            "(copy them into the .py first if they should stay)"
        )
    if check_runs:
        run_student(pair, nb, timeout)
    nb.metadata["sslcourse"]["inputs_sha256"] = inputs_digest(nb)
    wrote = write_notebook(nb, pair.student)
    return ("runs to its end, " if check_runs else "") + ("written" if wrote else "unchanged") + " (no outputs)"


def assign(
    names=(), root: Path = course.ROOT, force: bool = False, check_runs: bool = False, timeout: int = 1200
) -> int:
    """Write the student versions of the named notebooks (all when none are named); 1 if any was refused."""
    pairs = find_pairs(names, root)
    if not pairs:
        print(f"There are no notebook sources ({Path(root) / 'notebooks'}/NN_topic.py) yet: nothing to assign.")
        return 0
    refused = []
    for pair in pairs:
        t = time.perf_counter()
        try:
            print(
                f"{STUDENT_FOLDER}/{pair.student.name}: {assign_pair(pair, force, check_runs, timeout)} "
                f"({time.perf_counter() - t:.0f} s)"
            )
        except ValueError as err:
            print(f"{STUDENT_FOLDER}/{pair.student.name}: NOT written: {err}")
            refused.append(pair.stem)
    if refused:
        print(f"{len(refused)} of {len(pairs)} student notebooks not written: {', '.join(refused)}")
    return 1 if refused else 0
