"""What a notebook asks and what a submission answers: exercises, found from the nbgrader metadata.

An exercise is a function. Its solution cell carries `{"grade_id": "<function>", "solution": true}`;
its checker cell `{"grade": true, "grade_id": "check_<function>", "points": N}`. Points and the list of
exercises come from the assignment (the course notebook), never from the submission, whose metadata
a student can edit. In a submission, cells are found by their grade_id; a cell whose metadata was
removed or changed is found by what it does (defines the function; calls `check_<function>(`), with a
note. Nothing here runs a submission's code: it is parsed, not executed.

A prediction (`predict_<topic>()`, see `sslcourse.checks.predictions`) is an exercise like the others, whose
checker cell calls the one shared `check_prediction("predict_<topic>", predict_<topic>, (choices...))`:
its choices are read, never run, from the checker cell the exercise comes with, like its points
(`prediction_choices`).
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

CHECK_PREFIX = "check_"
PREDICTION_CHECKER = "check_prediction"  # sslcourse.checks.predictions: one checker for every prediction


@dataclass(frozen=True)
class Exercise:
    """One auto-graded exercise of an assignment: the function `name` (also the sheet's column)."""

    name: str
    points: float
    check_source: str  # the assignment's checker cell, run in place of the submission's own

    @property
    def check_id(self) -> str:
        return CHECK_PREFIX + self.name


def nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def read_notebook(path: Path):
    """A notebook from an .ipynb file, or from a jupytext percent-format .py source."""
    import nbformat

    path = Path(path)
    if path.suffix == ".py":
        from sslcourse.instructor.nbtools.pairs import read_source

        return read_source(path)
    return nbformat.read(path, as_version=4)


def exercises(nb) -> list[Exercise]:
    """The auto-graded exercises of a notebook, in order: graded cells `check_<function>` with points."""
    found = []
    for cell in nb.cells:
        meta = nbgrader(cell)
        grade_id = str(meta.get("grade_id", ""))
        if cell.cell_type == "code" and meta.get("grade") and grade_id.startswith(CHECK_PREFIX):
            found.append(Exercise(grade_id[len(CHECK_PREFIX) :], float(meta.get("points") or 0), cell.source))
    return found


def majority_exercises(notebooks: list) -> list[Exercise]:
    """Without the assignment: the union of the submissions' exercises, in order of first appearance,
    each with the points most submissions give it (so one student's edited metadata does not count)."""
    seen: dict[str, list[Exercise]] = {}
    for nb in notebooks:
        for ex in exercises(nb):
            seen.setdefault(ex.name, []).append(ex)
    chosen = []
    for name, variants in seen.items():
        points = Counter(v.points for v in variants).most_common()
        best = min(p for p, n in points if n == points[0][1])  # a tie goes to the fewer points
        source = Counter(v.check_source for v in variants).most_common(1)[0][0]
        chosen.append(Exercise(name, best, source))
    return chosen


# --------------------------------------------------------------------------- parsing code without running it
def to_python(source: str) -> str:
    """A cell's code as plain Python: IPython's `%magics` and `!shell` lines become calls."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(to_python(source))
    except (SyntaxError, ValueError):
        return None


def defines(source: str, name: str) -> bool:
    """True when the cell defines a function `name` at its top level (`def name`, or `name = lambda ...`);
    not `name = result.choose(name, reference)`, which the course's notebooks do after each exercise."""
    tree = _parse(source)
    if tree is None:
        return False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return True
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Lambda)
            and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
        ):
            return True
    return False


def calls(source: str, function: str) -> bool:
    tree = _parse(source)
    return tree is not None and any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == function for n in ast.walk(tree)
    )


def prediction_choices(source: str, name: str) -> tuple[str, ...] | None:
    """The choices of the prediction `name` when `source` (a checker cell) calls
    `check_prediction("<name>", <function>, ("choice", ...))` with literal strings; None otherwise."""
    tree = _parse(source)
    for node in ast.walk(tree) if tree else []:
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == PREDICTION_CHECKER):
            continue
        given = {k.arg: k.value for k in node.keywords}
        args = list(node.args) + [None] * 3  # check_prediction(name, fn, choices), or by keyword
        label, choices = args[0] or given.get("name"), args[2] or given.get("choices")
        try:
            label, choices = ast.literal_eval(label), ast.literal_eval(choices)
        except (ValueError, TypeError, SyntaxError):  # not literals (or missing): not a prediction we can grade
            continue
        if (
            label == name
            and isinstance(choices, (tuple, list))
            and choices
            and all(isinstance(c, str) for c in choices)
        ):
            return tuple(choices)
    return None


def definitions(source: str) -> list[str]:
    """The cell's top-level imports, function and class definitions, one source each (what another
    exercise's function may need); assignments and calls are left out: they may run anything."""
    tree = _parse(source)
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return [ast.unparse(node) for node in (tree.body if tree else []) if isinstance(node, keep)]


def reference_uses(source: str, name: str) -> list[str]:
    """The places where `source` reaches for the library's own `name`: `x.name` attributes, `from
    sslcourse... import name`, `getattr(x, "name")`, star imports from sslcourse, `__import__`/`importlib`."""
    tree = _parse(source)
    if tree is None:
        return []
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == name:
            uses.append(ast.unparse(node))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sslcourse":
            uses += [f"from {node.module} import {a.name}" for a in node.names if a.name in (name, "*")]
        elif isinstance(node, ast.Call):
            called = getattr(node.func, "id", getattr(node.func, "attr", ""))
            text = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if called == "getattr" and name in text:
                uses.append(f'getattr(..., "{name}")')
            elif called in ("__import__", "import_module") and any(t.startswith("sslcourse") for t in text):
                uses.append(f"{called}({text[0]!r})")
    return uses


# --------------------------------------------------------------------------- a submission's cells
@dataclass
class Answer:
    """Where a submission answers one exercise: its solution cell and checker cells (indices), and notes."""

    exercise: Exercise
    solution: int | None
    checkers: list[int]
    notes: list[str]


def locate(nb, exercise: Exercise) -> Answer:
    """The solution cell (by grade_id, else the last cell that defines the function) and the checker cells
    (by grade_id, else the cells that call check_<function>), with a note for each surprise."""
    notes = []
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    checkers = [i for i, c in code if nbgrader(c).get("grade_id") == exercise.check_id]
    if not checkers:
        checkers = [
            i
            for i, c in code
            if calls(c.source, exercise.check_id) or prediction_choices(c.source, exercise.name) is not None
        ]
        if checkers:
            notes.append("its checker cell was found by its code (its grading metadata was changed)")
    for i in checkers:
        if nb.cells[i].source.strip() != exercise.check_source.strip():
            notes.append("its checker cell was edited (ignored: the course's own checker grades it)")
            break
    solution = next((i for i, c in code if nbgrader(c).get("grade_id") == exercise.name and i not in checkers), None)
    if solution is None:
        named = [i for i, c in code if i not in checkers and defines(c.source, exercise.name)]
        if named:
            solution = named[-1]
            notes.append("its cell was found by the function's name (the cell's grading metadata was changed)")
    elif any(i > solution and i not in checkers and defines(nb.cells[i].source, exercise.name) for i, _ in code):
        notes.append(f"{exercise.name} is redefined in a later cell; the exercise cell's version was graded")
    return Answer(exercise, solution, checkers, notes)


def program(nb, answers: list[Answer]) -> list[dict]:
    """What the worker runs to define the student's functions, in notebook order: each solution cell
    whole, and, from the other code cells before the last of them, only imports and definitions."""
    solutions = {a.solution: a.exercise.name for a in answers if a.solution is not None}
    skip = {i for a in answers for i in a.checkers}
    steps = []
    for i, cell in enumerate(nb.cells[: max(solutions, default=-1) + 1]):
        if cell.cell_type != "code" or i in skip:
            continue
        if i in solutions:
            steps.append({"cell": i, "name": solutions[i], "source": to_python(cell.source)})
        else:
            steps += [{"cell": i, "name": None, "source": s} for s in definitions(cell.source)]
    return steps
