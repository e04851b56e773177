"""Grading one submission, in a process forked from a server that loaded the checkers first.

This process is the trusted one. It is forked (`multiprocessing`'s forkserver) from a server that
imported the genuine checkers (`sslcourse.checks.*`), jupyter_client and torch before any submission ran,
so a submission that rewrites those files on disk does not change the code that grades it (a module
that something imports lazily, later, is read from disk then: the one gap). It keeps other processes
of this user out of its memory (`sandbox.make_private`). Then:
1. the notebook runs in a fresh kernel (`kernel.run`) for its status; each checker cell runs as the
   course wrote it, whatever the student made of it, and no output is read;
2. a worker (`remote.Worker`) defines the student's functions from the exercise cells alone, and each
   genuine checker here calls them through `remote.RemoteFunction`.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import io
import pkgutil
import sys
import time
from pathlib import Path

from sslcourse.instructor.grading import exercises as ex
from sslcourse.instructor.grading import remote, sandbox
from sslcourse.instructor.grading.view import _NOT_REFERENCES, PACKAGE


def load_checkers() -> dict:
    """check_<function> -> the checker, from every module of the genuine sslcourse.checks package."""
    import sslcourse.checks as checks

    found = {}
    for info in pkgutil.iter_modules(checks.__path__):
        module = importlib.import_module(f"sslcourse.checks.{info.name}")
        found.update({k: v for k, v in vars(module).items() if k.startswith(ex.CHECK_PREFIX) and callable(v)})
    return found


@functools.cache
def references(name: str) -> list[str]:
    """The library modules that define `name` at their top level: the reference a student might call."""
    modules = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if set(parts[1:-1]) & _NOT_REFERENCES or (len(parts) > 1 and parts[1] in _NOT_REFERENCES):
            continue
        try:
            tree = ast.parse(path.read_text())
        except (SyntaxError, UnicodeDecodeError):
            continue
        if any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == name for n in tree.body):
            modules.append(".".join(p for p in parts if p != "__init__"))
    return modules


def _uses(nb, answers: list[ex.Answer], answer: ex.Answer) -> list[str]:
    """Reference uses in the code that defines `answer`'s function: its cell and the definitions before it."""
    last = answer.solution if answer.solution is not None else -1
    steps = [s for s in ex.program(nb, answers) if s["cell"] <= last]
    return [use for s in steps for use in ex.reference_uses(s["source"], answer.exercise.name)]


def _flags(submitted: list[str], original: list[str], calls: dict) -> list[str]:
    extra = list(submitted)
    for use in original:  # what the course's own notebook already has is not the student's doing
        if use in extra:
            extra.remove(use)
    flags = []
    if extra:
        flags.append(
            f"flagged: its code reaches for the library's own implementation ({'; '.join(sorted(set(extra)))})"
        )
    if calls:
        counts = ", ".join(f"{k} ({v} times)" for k, v in calls.items())
        flags.append(
            f"0 points: it delegates to the library's reference {counts}, which is not available while "
            "it is checked (an exercise is graded on the student's own code)"
        )
    return flags


def _kernel_copy(nb, answers: list[ex.Answer]):
    """The notebook the kernel runs: outputs cleared, each checker cell as the course wrote it."""
    import copy

    run = copy.deepcopy(nb)
    for answer in answers:
        for i in answer.checkers:
            run.cells[i].source = answer.exercise.check_source
    for cell in run.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return run


def _prediction_checker(exercise: ex.Exercise, checkers: dict):
    """A prediction's checker: the genuine `check_prediction` with the choices of the assignment's checker cell
    (None: not a prediction)."""
    choices = ex.prediction_choices(exercise.check_source, exercise.name)
    check_prediction = checkers.get(ex.PREDICTION_CHECKER)
    if choices is None or check_prediction is None:
        return None
    return lambda fn: check_prediction(exercise.name, fn, choices, verbose=False)


def check(answer: ex.Answer, worker: remote.Worker, checkers: dict) -> tuple[dict, dict]:
    """Run the genuine checker of one exercise on the student's function (in `worker`): its result, and
    how often the function called the library's reference."""
    name, notes = answer.exercise.name, list(answer.notes)
    entry = {"score": 0, "max_score": 1, "notes": notes}
    if answer.solution is None:
        notes.append(f"no function {name} in the notebook")
        return entry, {}
    if worker.death or name not in worker.ready:
        notes.append(worker.problems.get(name) or f"its function could not be defined: {worker.death}")
        return entry, {}
    if name in worker.problems:  # its cell raised after defining the function
        notes.append(worker.problems[name])
    checker = checkers.get(answer.exercise.check_id) or _prediction_checker(answer.exercise, checkers)
    if checker is None:
        notes.append(f"no checker {answer.exercise.check_id} in sslcourse.checks (a course problem: please report it)")
        return entry, {}
    fn = remote.RemoteFunction(worker, name)
    with contextlib.redirect_stdout(io.StringIO()):  # each checker prints its verdict: not wanted here
        result = checker(fn)
    entry.update(score=float(result.score), max_score=float(result.max_score), passed=bool(result.passed))
    if not result.passed:
        notes.append(result.message)
    return entry, dict(fn.reference_calls)


def _unreadable(exercises: list[ex.Exercise], err: Exception) -> dict:
    return {
        "status": "error",
        "note": f"not a readable notebook ({type(err).__name__}: {str(err)[:120]})",
        "exercises": {
            e.name: {"score": 0, "max_score": 1, "notes": ["the notebook could not be read"]} for e in exercises
        },
    }


def grade(task: dict, checkers: dict) -> dict:
    """The result of one submission (see the module's docstring)."""
    import nbformat

    from sslcourse.instructor.grading import kernel

    folder, private = Path(task["folder"]), Path(task["private"])
    exercises = [ex.Exercise(**e) for e in task["exercises"]]
    memory, box, env = task["memory"], task["box"], task["env"]
    try:
        nb = nbformat.read(folder / task["notebook"], as_version=4)
        answers = [ex.locate(nb, e) for e in exercises]
    except Exception as err:  # noqa: BLE001 (not JSON, not a notebook, cells without source...)
        return _unreadable(exercises, err)
    assignment = ex.read_notebook(Path(task["assignment"])) if task.get("assignment") else None
    original = {a.exercise.name: a for a in (ex.locate(assignment, e) for e in exercises)} if assignment else {}
    steps = ex.program(nb, answers)
    (private / "worker").mkdir(parents=True, exist_ok=True)

    def start_worker():  # it defines the functions while the kernel runs the notebook
        return remote.Worker(
            steps,
            {e.name: references(e.name) for e in exercises},
            memory=memory,
            box=box,
            cwd=str(private / "worker"),
            env=remote.worker_env(env, 1),
        )

    worker = start_worker()
    t = time.monotonic()
    outcome = kernel.run(
        _kernel_copy(nb, answers), folder, private / "kernel", timeout=task["timeout"], memory=memory, box=box, env=env
    )
    results, t_check = {}, time.monotonic()
    for answer in answers:
        if worker.death:  # an earlier check stopped it (a time limit): a fresh one for this exercise
            worker = start_worker()
        results[answer.exercise.name], calls = check(answer, worker.wait(), checkers)
        if calls:  # no free points: whatever the checker made of it, the course's work earns nothing
            results[answer.exercise.name].update(score=0.0, passed=False)
        mine = _uses(nb, answers, answer)
        course = _uses(assignment, list(original.values()), original[answer.exercise.name]) if original else []
        results[answer.exercise.name]["notes"] += _flags(mine, course, calls)
    worker.close()
    return {
        "status": outcome.status,
        "note": outcome.note,
        "exercises": results,
        "seconds": {
            "kernel": round(outcome.seconds, 2),
            "checks": round(time.monotonic() - t_check, 2),
            "both": round(time.monotonic() - t, 2),
        },
    }


def preload() -> list[str]:
    """What the server imports before any submission runs: every checker, and what grading uses."""
    checks = PACKAGE / "checks"
    return [
        "torch",
        "nbformat",
        "jupyter_client.manager",
        "jupyter_client.blocking",
        "IPython.core.inputtransformer2",
        "sslcourse.instructor.grading.job",
        "sslcourse.instructor.grading.kernel",
        "sslcourse.instructor.grading.worker",
        *[f"sslcourse.checks.{m.name}" for m in pkgutil.iter_modules([str(checks)])],
    ]


def _die_with(lifeline) -> None:
    """End this process (its session: the kernel and worker die with it) when the grader goes away."""
    import os
    import signal
    import threading

    def watch():
        try:
            lifeline.poll(None)  # returns when the grader closes its end, or dies
        finally:
            os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, name="sslcourse-lifeline", daemon=True).start()


def run(task: dict, conn, lifeline) -> None:
    """The forked process: grade `task`, send the result through `conn`; gone as soon as `lifeline` closes."""
    import faulthandler
    import os
    import signal

    os.setsid()  # a session of its own: the grader ends it as a whole
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 PID`: where is it stuck?
    _die_with(lifeline)
    sandbox.make_private()
    os.chdir(task["private"])
    sys.path[:] = [p for p in sys.path if p not in ("", ".")]
    conn.send(grade(task, load_checkers()))
    conn.close()
