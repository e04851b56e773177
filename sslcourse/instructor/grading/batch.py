"""`python -m sslcourse grade`: a classroom of submissions into one grade sheet.

Each submission is graded by its own `job` process, from a private copy in a scratch folder, with a
time limit it cannot outlive; whatever one does (hang, crash, eat memory, delete files) ends with its
own row, and the `guard` puts back any file it touched before the next one starts.

Which exercises, and how many points each: from the assignment, the course notebook the submission
was made from. `--assignment` names it; otherwise each submission's metadata names its source
(`notebooks/NN_topic.py`, looked up in this checkout), and submissions that name none use the one
most others use. Without any course notebook, the exercises are the union of those the submissions
carry, each worth the points most of them give it. The sheet has one column per exercise of any
assignment in the batch, in order of appearance, then one per written question (`written`: graded by
hand, found from a course notebook only), whose answers each submission's row notes.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from sslcourse.instructor import course
from sslcourse.instructor.grading import exercises as ex
from sslcourse.instructor.grading import lms, sandbox, sheet, written

CHECK_BUDGET_S = 120  # per exercise, on top of the notebook's time limit, before a job is stopped
_ENV_KEEP = {
    "PATH",
    "HOME",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "PYTHONPATH",
    "PYTHONHASHSEED",
    "MPLBACKEND",
    "VIRTUAL_ENV",
    "SSLCOURSE_DEVICE",
    "SSLCOURSE_DATA",
    "SSLCOURSE_CACHE",
    "SSLCOURSE_OFFLINE",
    "SSLCOURSE_PACK",
}


@dataclass
class Options:
    timeout: float = 600.0  # seconds per notebook
    memory: int | None = 4 << 30  # bytes per process (see sandbox: RLIMIT_DATA)
    jobs: int = 1
    resume: bool = False
    force: bool = False
    assignment: Path | None = None
    isolation: str = "bwrap"  # bwrap (refused where unavailable) or none (explicitly unisolated)
    progress_bar: bool = True

    def __post_init__(self):
        # Absolute now: grading runs each submission from a scratch folder, where a relative path means nothing.
        if self.assignment is not None:
            self.assignment = Path(self.assignment).resolve()


@dataclass
class Submission:
    path: Path
    student: str
    data: bytes
    sha256: str
    assignment: Path | None = None
    exercises: list[ex.Exercise] = field(default_factory=list)
    questions: list[written.Question] = field(default_factory=list)
    responses: list[written.Response] = field(default_factory=list)  # its answers to `questions`, never run
    identity: lms.Identity | None = None  # the student's name and LMS id, from the export's file or folder name


def is_notebook(path: Path) -> bool:
    return path.suffix.lower() == ".ipynb"


def student_name(name: str) -> str:
    """The student's name in an LMS export's folder or file name (the name itself when it is none of those)."""
    return (lms.from_folder(name) if lms.MOODLE.match(name) else lms.from_file(name)).name


def _skip_reason(path: Path) -> str:
    if ".ipynb_checkpoints" in path.parts:
        return "a Jupyter checkpoint copy, not the submission"
    if path.name.startswith("."):
        return "a hidden file"
    return "not a notebook (.ipynb)"


def collect(paths) -> tuple[list[tuple[Path, lms.Identity]], list[tuple[Path, str]]]:
    """(notebook, who) to grade, and (file, why not) for every file that is not graded, in the order
    given. A folder stands for its notebooks (any letter case, sorted): one at its top is a student named
    after the file (Canvas's names give the id too); a subfolder is one student, named after the folder
    (Moodle's give the id; another folder's name is the id, as in nbgrader's exchange), with every notebook
    in it (several: each graded, named folder/file). See `lms`."""
    found, skipped = [], []
    for p in map(Path, paths):
        if p.is_file() and is_notebook(p):
            found.append((p, lms.from_file(p.stem)))
        elif p.is_file():
            skipped.append((p, _skip_reason(p)))
        elif p.is_dir():
            for entry in sorted(p.iterdir()):
                if entry.is_file():
                    if is_notebook(entry):
                        found.append((entry, lms.from_file(entry.stem)))
                    else:
                        skipped.append((entry, _skip_reason(entry)))
                elif entry.is_dir():
                    files = sorted(f for f in entry.rglob("*") if f.is_file())
                    graded = [f for f in files if is_notebook(f) and ".ipynb_checkpoints" not in f.parts]
                    who = lms.from_folder(entry.name)
                    for f in graded:
                        found.append((f, who if len(graded) == 1 else replace(who, name=f"{who.name}/{f.stem}")))
                    skipped += [(f, _skip_reason(f)) for f in files if f not in graded]
        else:
            raise FileNotFoundError(f"{p}: no such submission file or folder")
    unique = list({f.resolve(): (f.resolve(), who) for f, who in found}.values())
    if not unique:
        listed = "".join(f"\n  {f}: {why}" for f, why in skipped[:10])
        raise ValueError(f"no .ipynb submissions in {', '.join(map(str, paths))}{listed}")
    return unique, skipped


def _students(found: list[tuple[Path, lms.Identity]]) -> list[str]:
    names = Counter(who.name for _, who in found)
    return [who.name if names[who.name] == 1 else f"{p.parent.name}/{p.stem}" for p, who in found]


def _source_of(data: bytes) -> str | None:
    try:
        return json.loads(data)["metadata"]["sslcourse"]["source"]
    except (ValueError, KeyError, TypeError):
        return None


def _course_notebook(source: str | None) -> Path | None:
    if not source or Path(source).name != source:  # a bare file name, nothing else
        return None
    folder = course.ROOT / "notebooks"
    for candidate in (folder / Path(source).with_suffix(".ipynb"), folder / source):
        if candidate.is_file():
            return candidate
    return None


def plan(
    found: list[tuple[Path, lms.Identity]], assignment: Path | None
) -> tuple[list[Submission], list[str], list[str]]:
    """The submissions with their assignment, exercises, written questions and answers; the exercise columns;
    remarks on the way."""
    subs = []
    for (path, who), student in zip(found, _students(found)):
        data = path.read_bytes()
        subs.append(Submission(path, student, data, hashlib.sha256(data).hexdigest(), identity=who))
    remarks = []
    if assignment is None:
        for s in subs:
            s.assignment = _course_notebook(_source_of(s.data))
        common = Counter(s.assignment for s in subs if s.assignment).most_common(1)
        assignment = common[0][0] if common else None
    by_assignment: dict[Path | None, list[ex.Exercise]] = {}
    asked: dict[Path | None, list[written.Question]] = {}
    for s in subs:
        s.assignment = s.assignment or assignment
    for path in dict.fromkeys(s.assignment for s in subs if s.assignment):
        course_nb = ex.read_notebook(path)
        by_assignment[path] = ex.exercises(course_nb)
        asked[path] = written.questions(course_nb, path.name)
        remarks.append(f"exercises and points from {path}")
    if any(s.assignment is None for s in subs):
        import nbformat

        readable = []
        for s in subs:
            try:
                readable.append(nbformat.reads(s.data.decode(), as_version=4))
            except Exception:  # noqa: BLE001
                pass
        by_assignment[None] = ex.majority_exercises(readable)
        remarks.append(
            "no course notebook found: exercises and points from the submissions' own metadata "
            "(what most of them say), and no written questions (they come from a course notebook only); "
            "pass --assignment to use the course's"
        )
    for s in subs:
        s.exercises = by_assignment[s.assignment]
        s.questions = asked.get(s.assignment, [])
        s.responses = written.responses(s.data, s.questions)
    columns = list(dict.fromkeys(e.name for exs in by_assignment.values() for e in exs))
    return subs, columns, remarks


def sandbox_env(private: Path, threads: int, isolated: bool) -> dict:
    """What a submission's processes see of the environment: the kernels' usual one, less anything else
    the instructor's shell holds (tokens, credentials), and nothing shared between submissions (in the
    sandbox, its private /tmp)."""
    from sslcourse.instructor.nbtools.run import kernel_env

    env = {k: v for k, v in kernel_env().items() if k in _ENV_KEEP or k.startswith("LC_")}
    tmp = Path("/tmp") if isolated else private / "tmp"
    if not isolated:
        tmp.mkdir(parents=True, exist_ok=True)
    env.update(
        IPYTHONDIR=str(tmp / "ipython"),
        MPLCONFIGDIR=str(tmp / "matplotlib"),
        TMPDIR=str(tmp),
        PYTHONDONTWRITEBYTECODE="1",
        SSLCOURSE_GRADING="1",  # sslcourse.device.grading_mode(): long demonstrations use their shipped results
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
    )
    return env


_CONTEXT = None
ACTIVE: set = set()  # the job processes running now (stopped together on Ctrl-C)


def _context():
    """The forkserver that forks each job, started once, after importing the checkers (job.preload)."""
    global _CONTEXT
    if _CONTEXT is None:
        import multiprocessing

        from sslcourse.instructor.grading import job

        _CONTEXT = multiprocessing.get_context("forkserver")
        _CONTEXT.set_forkserver_preload(job.preload())
    return _CONTEXT


def start_server() -> None:
    """Start the forkserver now, before any submission runs (so it imports genuine code only)."""
    from multiprocessing import forkserver

    _context()
    forkserver.ensure_running()


def run_job(sub: Submission, scratch: Path, opts: Options, box: dict | None, threads: int) -> dict:
    """Grade one submission in its own `job` process; never raises, never outlives the backstop."""
    from sslcourse.instructor.grading import job

    folder, private = scratch / "submission", scratch / "private"
    folder.mkdir(parents=True)
    private.mkdir()
    notebook = f"{Path(sub.student).name}.ipynb"
    (folder / notebook).write_bytes(sub.data)
    task = {
        "folder": str(folder),
        "private": str(private),
        "notebook": notebook,
        "exercises": [e.__dict__ for e in sub.exercises],
        "assignment": str(sub.assignment or ""),
        "timeout": opts.timeout,
        "memory": opts.memory,
        "box": box,
        "env": sandbox_env(private, threads, box is not None),
    }
    backstop = opts.timeout + 60 + CHECK_BUDGET_S * max(1, len(sub.exercises))
    ctx = _context()
    receive, send = ctx.Pipe(duplex=False)
    lifeline, alive = ctx.Pipe(duplex=False)  # the job ends itself when `alive` closes (here, or as we die)
    proc = ctx.Process(target=job.run, args=(task, send, lifeline), daemon=True)
    proc.start()
    ACTIVE.add(proc)
    send.close()
    lifeline.close()
    try:
        if not receive.poll(backstop):
            return {
                "status": "timeout",
                "note": f"grading stopped after {backstop:g} s (the notebook's --timeout and {CHECK_BUDGET_S} s "
                "per exercise for its checks); if it is honest and only slow, grade it again with a larger --timeout",
                "exercises": {},
            }
        return receive.recv()
    except (EOFError, OSError) as err:
        proc.join(5)
        return {
            "status": "error",
            "note": f"the grader failed on this submission ({type(err).__name__}, exit code {proc.exitcode})",
            "exercises": {},
        }
    finally:
        receive.close()
        alive.close()
        stop(proc)


def stop(proc) -> None:
    """End a job and its session (anything it left behind; its kernel and worker die with it)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.kill()
    proc.join(10)
    ACTIVE.discard(proc)


def skipped_row(path: Path, why: str) -> dict:
    """A file that was not graded, at the end of the sheet (status `skipped`), so that none goes unnoticed."""
    return {"student": path.name, "status": "skipped", "notes": f"not graded: {path} ({why})"}


def make_row(
    sub: Submission, result: dict, repaired: list[str], unisolated: bool = False, exceeded: list | None = None
) -> dict:
    """The sheet's row for one submission. `exceeded`: the limits (`cgroup.Exceeded`) its processes ran into,
    which score the whole row 0, whatever its exercises earned before, with a note that says why. Its written
    answers are only noted: their points are the instructor's to give."""
    who = sub.identity or lms.Identity(sub.student)
    row = {"student": sub.student, "lms_id": who.lms_id, "name": who.name}
    notes, total, told = [], 0.0, []
    if who.late:
        notes.append("submitted late (the LMS marked it so)")
    for e in sub.exercises:
        r = result.get("exercises", {}).get(e.name, {"score": 0, "max_score": 1, "notes": ["not graded"]})
        earned = round(e.points * r["score"] / r["max_score"], 2) if r.get("max_score") and not exceeded else 0.0
        row[e.name], total = earned, total + earned
        said = [_without_prefix(n, e.name) for n in r.get("notes", []) if n]
        if said:
            notes.append(f"{e.name}: {'; '.join(said)}")
        kind = "prediction" if ex.prediction_choices(e.check_source, e.name) is not None else "exercise"
        told.append({"name": e.name, "kind": kind, "earned": earned, "points": e.points, "notes": said})
    notes += [r.note() for r in sub.responses]
    if result.get("note"):
        notes.append(f"notebook: {result['note']}")
    if exceeded:
        notes.append(sandbox.scored_zero(exceeded))
    notes += [f"grader: {r}" for r in repaired]
    if unisolated:
        notes.append(f"grader: {sandbox.UNISOLATED}")
    row["feedback"] = {  # for the student's feedback file (`lms.feedback`); not a column of the sheet
        "exercises": told,
        "written": [r.note() for r in sub.responses],
        "run": result.get("note", ""),
    }
    row.update(
        total=round(total, 2),
        max_total=round(sum(e.points for e in sub.exercises), 2),
        status=result.get("status", "error"),
        notes=" | ".join(notes),
    )
    if sub.questions:  # their columns stay empty: the instructor's to fill (see `written`)
        row[sheet.BY_HAND] = round(sum(q.points for q in sub.questions), 2)
    return row


def _without_prefix(note: str, name: str) -> str:
    for mark in ("✗", "…", "✓"):
        if note.startswith(f"{mark} {name}: "):
            return note[len(mark) + len(name) + 3 :]
    return note
