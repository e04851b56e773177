"""Grading time: a fabricated classroom of N copies of one submission, graded like `python -m sslcourse grade`.

    PYTHONPATH=. python benchmarks/grading.py --n 30 [--jobs 2] [--isolation none] [--submission NB --assignment NB]
    PYTHONPATH=. python benchmarks/grading.py --notebook 03 [--notebook 01 ...] --n 3

By default the submission is the demo notebook (tests/fixtures/99_demo.py) with its exercise solved,
made in a scratch course as the tests make it; name a real one with --submission (and its course
notebook with --assignment), or a course notebook with --notebook NN (its student version, made from
notebooks/NN_*.py as `notebooks assign` makes it, graded against that source; repeat it for several). The copies go to a temporary folder; nothing
in the checkout is written. Each classroom prints its seconds per submission and a projection for
`--project` submissions on `--project-cores` cores (a projection from this machine's measurement, not a
measurement: `--jobs` = cores / the cores each submission had here, each submission as fast as here).
The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def demo_submission(folder: Path) -> tuple[Path, Path]:
    """The demo's student notebook with the solution put back, and its course source."""
    import nbformat

    from sslcourse.instructor.nbtools import assign, pairs

    (folder / "notebooks").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "fixtures" / "99_demo.py", folder / "notebooks" / "99_demo.py")
    assign.assign(root=folder)
    pair = pairs.find_pairs(root=folder)[0]
    solved = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in pairs.build(pair).cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    nb = nbformat.read(pair.student, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solved:
            cell.source = solved[grade_id]
    path = folder / "solved.ipynb"
    nbformat.write(nb, path)
    return path, pair.source


def student_copy(number: str, folder: Path) -> tuple[Path, Path]:
    """Course notebook NN's student version, made from its `.py` as `notebooks assign` makes it (not the shipped
    `.ipynb`, which may predate the source), and that source: what a student hands in, unsolved."""
    from sslcourse.instructor.nbtools import assign, pairs

    (source,) = sorted((ROOT / "notebooks").glob(f"{number}_*.py"))
    (folder / "notebooks").mkdir(parents=True)
    shutil.copy(source, folder / "notebooks" / source.name)
    assign.assign(root=folder)
    pair = pairs.find_pairs(root=folder)[0]
    return pair.student, pair.source


def project(per_submission_s: float, cores_here: int, jobs_here: int, n: int, cores: int) -> dict:
    """200 submissions on 8 cores, from seconds per submission measured here: each submission keeps the
    cores it had here (cores_here / jobs_here), so `cores` of them run cores / that many at once."""
    each = max(1, cores_here // jobs_here)
    jobs = max(1, cores // each)
    return {"submissions": n, "cores": cores, "jobs": jobs, "minutes": round(n * per_submission_s / jobs / 60, 1)}


def grade_classroom(original: Path, assignment: Path | None, args, tmp: Path) -> dict:
    from sslcourse.instructor.grading import batch, classroom, sheet

    folder = tmp / f"class-{original.stem}"
    folder.mkdir()
    for i in range(args.n):
        shutil.copy(original, folder / f"student{i:03d}.ipynb")
    opts = batch.Options(
        timeout=args.timeout, jobs=args.jobs, assignment=assignment, progress_bar=False, isolation=args.isolation
    )
    out = tmp / f"grades-{original.stem}.csv"
    t = time.perf_counter()
    code = classroom.grade([folder], out, opts)
    seconds = time.perf_counter() - t
    rows = sheet.read_sheet(out) if code == 0 else []
    statuses = {s: sum(r["status"] == s for r in rows) for s in ("ok", "error", "timeout")}
    notes = sorted({r["notes"] for r in rows if r["status"] != "ok"})
    cores = len(os.sched_getaffinity(0))
    per = seconds / args.n
    load = os.getloadavg()[0]  # on a shared machine, others' work slows this one: say how busy it was
    projection = project(per, cores, args.jobs, args.project, args.project_cores)
    print(
        f"{original.name}: {args.n} in {seconds:.1f} s with {args.jobs} at a time on {cores} cores: "
        f"{per:.1f} s per submission (load average {load:.1f} at the end); {statuses}"
        + (f"; not ok: {notes[:2]}" if notes else "")
    )
    print(
        f"  projection: {projection['submissions']} submissions on {projection['cores']} cores with --jobs "
        f"{projection['jobs']}: about {projection['minutes']} minutes"
    )
    return {
        "submission": original.name,
        "notebooks": args.n,
        "jobs": args.jobs,
        "seconds": round(seconds, 1),
        "per_submission_s": round(per, 1),
        "cores": cores,
        "load_average": round(load, 1),
        "projection": projection,
        **statuses,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=30, help="submissions in the classroom")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--submission", help="the notebook to copy (default: the solved demo)")
    p.add_argument("--assignment", help="its course notebook (default: found from its metadata)")
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument(
        "--isolation",
        choices=["bwrap", "none"],
        default="bwrap",
        help="bwrap (default, as graded for real) or none (to see what the sandbox costs)",
    )
    p.add_argument("--notebook", action="append", default=[], help="a course notebook's number, e.g. 03")
    p.add_argument("--project", type=int, default=200, help="submissions in the projected class")
    p.add_argument("--project-cores", type=int, default=8, help="cores of the projected grading machine")
    args = p.parse_args()

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.notebook:
            for number in args.notebook:
                results.append(grade_classroom(*student_copy(number, tmp / f"course-{number}"), args, tmp))
        elif args.submission:
            original = Path(args.submission)
            results.append(grade_classroom(original, Path(args.assignment) if args.assignment else None, args, tmp))
        else:
            results.append(grade_classroom(*demo_submission(tmp / "course"), args, tmp))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
