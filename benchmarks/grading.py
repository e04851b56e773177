"""Grading time: a fabricated classroom of N copies of one submission, graded like `python -m sslcourse grade`.

    PYTHONPATH=. python benchmarks/grading.py --n 30 [--jobs 2] [--isolation none] [--submission NB --assignment NB]

By default the submission is the demo notebook (tests/fixtures/99_demo.py) with its exercise solved,
made in a scratch course as the tests make it; name a real one with --submission (and its course
notebook with --assignment). The copies go to a temporary folder; nothing in the checkout is written.
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
    assign.assign(root=folder, execute=False)
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
    args = p.parse_args()

    from sslcourse.instructor.grading import batch, classroom, sheet

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.submission:
            original, assignment = Path(args.submission), Path(args.assignment) if args.assignment else None
        else:
            original, assignment = demo_submission(tmp / "course")
        (tmp / "class").mkdir()
        for i in range(args.n):
            shutil.copy(original, tmp / "class" / f"student{i:03d}.ipynb")
        opts = batch.Options(
            timeout=args.timeout, jobs=args.jobs, assignment=assignment, progress_bar=False, isolation=args.isolation
        )
        t = time.perf_counter()
        code = classroom.grade([tmp / "class"], tmp / "grades.csv", opts)
        seconds = time.perf_counter() - t
        rows = sheet.read_sheet(tmp / "grades.csv") if code == 0 else []
    statuses = {s: sum(r["status"] == s for r in rows) for s in ("ok", "error", "timeout")}
    statuses["points"] = (
        f"{sum(float(r['total'] or 0) for r in rows):g}/{sum(float(r['max_total'] or 0) for r in rows):g}"
    )
    print(
        f"{args.n} notebooks ({original.name}) in {seconds:.1f} s with {args.jobs} at a time on "
        f"{len(os.sched_getaffinity(0))} cores: {seconds / args.n:.2f} s per notebook; {statuses}"
    )
    print(
        json.dumps(
            {
                "notebooks": args.n,
                "jobs": args.jobs,
                "seconds": round(seconds, 1),
                "per_notebook_s": round(seconds / args.n, 2),
                "cores": len(os.sched_getaffinity(0)),
                "submission": original.name,
                **statuses,
            }
        )
    )


if __name__ == "__main__":
    main()
