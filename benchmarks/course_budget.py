"""The course's own budget: every notebook executed headless on the CPU, time per notebook and in total.

    SSLCOURSE_DATA=../shared/data python benchmarks/course_budget.py [--students]

Target: the whole course (notebooks/NN_*.ipynb) in at most 10 minutes on 2 CPU cores, with the shipped
results (no cell tagged skip-execution runs; no GPU is used even if one is there). Each notebook gets a
fresh kernel, as a student's "Run All" does; the data cache is warm (run the course once before, as a
student would have). The notebooks are never written to. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform

TARGET_MINUTES = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", action="store_true", help="also time the student versions")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per cell before giving up")
    args = parser.parse_args()

    from sslcourse.instructor import course
    from sslcourse.instructor.nbtools.run import execute_file

    notebooks = course.course_notebooks()
    if args.students:
        notebooks += sorted((course.ROOT / "notebooks" / "student").glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise SystemExit("no notebooks in notebooks/")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{len(notebooks)} notebooks, {cores} CPU cores ({platform.processor() or platform.machine()})")
    times, failed = {}, []
    for path in notebooks:
        _, seconds, problem = execute_file(path, args.timeout)  # a fresh kernel on the CPU
        name = str(path.relative_to(course.ROOT / "notebooks"))
        times[name] = round(seconds, 1)
        if problem:
            failed.append(name)
        print(f"{name:40s} {seconds:7.1f} s  {'FAILED: ' + problem.splitlines()[-1] if problem else 'ok'}", flush=True)
    course_total = sum(t for n, t in times.items() if not n.startswith("student/"))
    verdict = "within" if course_total <= TARGET_MINUTES * 60 else "OVER"
    print(
        f"course total {course_total / 60:.1f} min ({course_total:.0f} s): {verdict} the "
        f"{TARGET_MINUTES:.0f}-minute target"
    )
    print(
        json.dumps(
            {
                "cores": cores,
                "seconds": times,
                "course_total_s": round(course_total, 1),
                "target_s": TARGET_MINUTES * 60,
                "failed": failed,
            }
        )
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
