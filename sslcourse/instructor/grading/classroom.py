"""Grading a classroom: every submission in turn (or a few at once), a progress bar, the sheet, a summary,
and, when the assignment has written questions, every answer to them in a file beside the sheet.

python -m sslcourse grade submissions/ --out grades.csv [--timeout 600] [--memory 4G] [--jobs 1]
                                                         [--resume] [--force] [--assignment NB]
                                                         [--isolation bwrap|none]
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sslcourse.instructor.grading import batch, cgroup, lms, sandbox, sheet, view, written
from sslcourse.instructor.grading.guard import Guard


def _refuse(out: Path, opts: batch.Options) -> str | None:
    progress = sheet.progress_path(out)
    if out.is_dir():
        return f"--out {out} is a folder; --out names the sheet to write, a file such as {out / 'grades.csv'}"
    if out.exists() and not opts.force:
        return f"{out} exists; pass --force to replace it (or choose another --out)"
    if progress.exists() and not (opts.resume or opts.force):
        return (
            f"an interrupted run left {progress}; pass --resume to go on with it, or --force to grade everything again"
        )
    for kind, path in lms.exports_paths(out).items():
        if path.exists() and not opts.force:
            what = "folder of feedback files" if kind == "feedback" else f"{kind.capitalize()} gradebook"
            return f"{path} (the {what} of an earlier run) exists; pass --force to replace it (or choose another --out)"
        if kind != "feedback" and path.is_dir():
            return f"{path} is a folder; the {kind.capitalize()} gradebook goes to that file: move it, or choose another --out"
    return None


def _refuse_answers(answers: Path, opts: batch.Options) -> str | None:
    """The answers file follows the sheet's rule (the instructor may have written in it): replaced only with
    --force, and never a folder."""
    if answers.is_dir():
        return f"{answers} is a folder; the written answers go to that file beside the sheet: move it, or choose another --out"
    if answers.exists() and not opts.force:
        return f"{answers} exists; pass --force to replace it (or choose another --out)"
    return None


def _box(opts: batch.Options, scratch_root: Path, subs: list, hide: list[Path]) -> dict | None:
    """The sandbox every submission runs in (see `sandbox.bwrap`), or None with --isolation none."""
    if opts.isolation == "none":
        return None
    names = {e.name for s in subs for e in s.exercises}
    package_view = view.build(scratch_root / "view" / view.PACKAGE.name, names)
    from sslcourse import data
    from sslcourse.instructor import course

    folders = [course.ROOT, view.PACKAGE, data.data_dir(), data.pack_path()]
    folders += [Path(os.environ[k]) for k in ("SSLCOURSE_DATA", "SSLCOURSE_CACHE") if os.environ.get(k)]
    return {
        "memory": opts.memory,
        "package": str(view.PACKAGE),
        "shown": sandbox.kernel_paths(folders),
        "view": str(package_view),
        "scratch_root": str(scratch_root),
        "hide": [str(p) for p in hide],
        "group": None,
    }


def warm_data_cache(subs: list) -> list[str]:
    """Write the CIFAR-10 cache once, here, when an assignment uses CIFAR-10 and the cache is missing: in the
    sandbox the course is read-only, so each submission would otherwise decode every JPEG again (minutes)."""
    from sslcourse import data

    sources = {s.assignment for s in subs if s.assignment}
    if not any("cifar" in Path(a).read_text(errors="replace").lower() for a in sources):
        return []
    done = []
    for split in data.SPLIT_SIZES:
        if not data.cache_path(split).is_file():
            try:
                data.load_cifar10(split)  # writes the cache where it can
                done.append(f"prepared the CIFAR-10 {split} cache in {data.cache_path(split).parent}")
            except Exception as err:  # noqa: BLE001 (no data here: the notebooks will say so themselves)
                done.append(f"could not prepare the CIFAR-10 {split} cache ({type(err).__name__}: {err})")
    return done


def grade(paths, out: Path, opts: batch.Options) -> int:
    """Grade the submissions in `paths` into the sheet `out`; 0 when the sheet was written, 2 if refused."""
    out = Path(out).absolute()
    refusal = _refuse(out, opts)
    if refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    if opts.isolation == "none":
        print(f"warning: {sandbox.UNISOLATED}", file=sys.stderr)
    elif why := sandbox.problem():
        print(f"error: grading runs each submission in a sandbox, and cannot here: {why}", file=sys.stderr)
        return 2
    found, skipped = batch.collect(paths)
    out.parent.mkdir(parents=True, exist_ok=True)
    subs, columns, remarks = batch.plan(found, opts.assignment)
    questions = list(dict.fromkeys(q.grade_id for s in subs for q in s.questions))
    answers = sheet.answers_path(out)
    if questions and (refusal := _refuse_answers(answers, opts)):
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    done = sheet.read_progress(out) if opts.resume else {}
    progress = sheet.Progress(out, keep=opts.resume)

    guard = Guard()  # what no submission may change: the submissions, the sheet, its progress and answers files
    for s in subs:
        guard.keep(s.path, s.data)
    guard.keep(out, owned=True)
    guard.keep(progress.path, progress.text.encode() if progress.text else None, owned=True)
    if questions:
        guard.keep(answers, owned=True)
    for kind in ("canvas", "moodle"):
        guard.keep(lms.exports_paths(out)[kind], owned=True)

    where = "bubblewrap sandboxes" if opts.isolation != "none" else "NOT ISOLATED"
    print(
        f"grading {len(subs)} submission{'s' * (len(subs) != 1)} into {out} ({where}, {opts.timeout:g} s and "
        f"{sandbox.describe_memory(opts.memory)} each, {opts.jobs} at a time)"
    )
    if opts.isolation != "none":
        remarks += warm_data_cache(subs)
    for remark in remarks:
        print(f"  {remark}")
    for path, why in skipped:
        print(f"  not graded: {path} ({why})")
    batch.start_server()
    rows: list[dict | None] = [None] * len(subs)
    counts = {"graded": 0, "resumed": 0, "ok": 0, "error": 0, "timeout": 0, "repaired": 0}
    lock, interrupted = threading.Lock(), threading.Event()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    threads = max(1, cores // opts.jobs)  # compute threads per submission
    scratch_root = Path(tempfile.mkdtemp(prefix="sslcourse-grade-"))
    exports = lms.exports_paths(out)
    box = _box(
        opts,
        scratch_root,
        subs,
        [s.path for s in subs] + [out, progress.path, answers, exports["canvas"], exports["moodle"]],
    )
    bar = _bar(len(subs), opts.progress_bar)
    start = time.monotonic()

    def one(i: int) -> None:
        s = subs[i]
        resumed = (s.student, s.sha256) in done
        began = time.monotonic()
        if resumed:
            row, took, row_repairs = done[(s.student, s.sha256)], 0.0, 0
        else:
            result, leftover, exceeded = _run_boxed(s, i, scratch_root, opts, box, threads)
            _remove_tree(scratch_root / f"{i:04d}")
            if interrupted.is_set():  # stopped by Ctrl-C, not by itself: no row, --resume grades it
                return
            with lock:
                repaired = guard.repair()
            if repaired and opts.jobs > 1:
                repaired = [f"{r} (while {opts.jobs} submissions ran at once)" for r in repaired]
            row = batch.make_row(s, result, repaired + leftover, unisolated=box is None, exceeded=exceeded)
            took = time.monotonic() - began
            row_repairs = len(repaired)  # files the guard put back; not the NOT ISOLATED note, not leftovers
        with lock:
            rows[i] = row
            counts["resumed" if resumed else "graded"] += 1
            counts[row["status"]] = counts.get(row["status"], 0) + 1
            if not resumed:
                counts["repaired"] += row_repairs
                progress.add(s.student, s.sha256, row)
                guard.keep(progress.path, progress.text.encode(), owned=True)
            bar.update(1)
            by_hand = f", {sheet.cell(row[sheet.BY_HAND])} more by hand" if row.get(sheet.BY_HAND) else ""
            bar.write(
                f"{s.student}: {sheet.cell(row['total'])}/{sheet.cell(row['max_total'])}{by_hand} ({row['status']}, "
                + ("graded earlier)" if resumed else f"{took:.0f} s)")
            )

    pool = ThreadPoolExecutor(max_workers=opts.jobs)
    try:
        list(pool.map(one, range(len(subs))))
    except KeyboardInterrupt:
        interrupted.set()
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in list(batch.ACTIVE):
            batch.stop(proc)
        kept = sum(r is not None for r in rows)
        print(
            f"\ninterrupted: {kept} row{'s' * (kept != 1)} kept in {progress.path}; run the same command with "
            "--resume to go on",
            file=sys.stderr,
        )
        return 130
    finally:
        pool.shutdown(wait=True)
        bar.close()
        _remove_tree(scratch_root)
    rows += [batch.skipped_row(path, why) for path, why in skipped]
    if questions:
        sheet.write_atomically(answers, written.render([(s.student, s.responses) for s in subs], out.name))
    sheet.write_atomically(out, sheet.render(rows, columns, questions))
    exports = _write_exports(out, rows, subs)
    progress.remove()
    _summary(counts, len(subs), time.monotonic() - start, out, opts.jobs, isolated=box is not None)
    if questions:
        given = sum(r.answered for s in subs for r in s.responses)
        print(f"wrote {answers}: {given} written answer{'s' * (given != 1)} to grade by hand")
    for line in exports:
        print(line)
    return 0


def _write_exports(out: Path, rows: list[dict], subs: list) -> list[str]:
    """The gradebooks to import into Canvas and Moodle, and one feedback file per student (see `lms`)."""
    paths = lms.exports_paths(out)
    graded = [r for r in rows if r.get("status") != "skipped"]
    title = next((s.assignment.stem for s in subs if s.assignment), out.stem)
    sheet.write_atomically(paths["canvas"], lms.canvas_csv(rows, title))
    sheet.write_atomically(paths["moodle"], lms.moodle_csv(rows))
    paths["feedback"].mkdir(exist_ok=True)
    for row in graded:
        sheet.write_atomically(paths["feedback"] / lms.feedback_name(row), lms.feedback(row, title))
    without = sum(not r.get("lms_id") for r in graded)
    lines = [
        f"wrote {paths['canvas']} and {paths['moodle']}: gradebooks to import (the auto-graded points"
        + (", before the written answers' points" if any(r.get(sheet.BY_HAND) for r in graded) else "")
        + ")",
        f"wrote {paths['feedback']}: {len(graded)} feedback file{'s' * (len(graded) != 1)}, one per student",
    ]
    if without:
        lines.append(
            f"  {without} submission{'s' * (without != 1)} without an LMS id in its name: match "
            f"{'them' if without != 1 else 'it'} by hand in the gradebook (see the README's 'Grading a classroom')"
        )
    return lines


def _run_boxed(sub, i: int, scratch_root: Path, opts: batch.Options, box: dict | None, threads: int):
    """Grade one submission in its own cgroup; (result, notes, the limits it ran into), once every process
    it started is gone."""
    if box is None:
        return batch.run_job(sub, scratch_root / f"{i:04d}", opts, None, threads), [], []
    group = cgroup.Group(f"sslcourse-{os.getpid()}-{i:04d}", opts.memory)
    try:
        result = batch.run_job(sub, scratch_root / f"{i:04d}", opts, {**box, "group": group}, threads)
    finally:
        ended = group.end()
        left = group.members()
        exceeded = group.exceeded()  # the group's counters go with it
        group.remove()
    notes = [] if ended else [f"{len(left)} of its processes could not be ended (pids {left[:5]})"]
    return result, notes, exceeded


def _remove_tree(folder: Path) -> None:
    """Remove a scratch folder; a kernel just killed may still be writing in it for a moment."""
    for attempt in range(5):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.2 * (attempt + 1))


def _bar(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="notebook", desc="grading", disable=not enabled, file=sys.stderr)


def _summary(counts: dict, total: int, seconds: float, out: Path, jobs: int, isolated: bool = True) -> None:
    graded = counts["graded"]
    each = f", {seconds / graded:.1f} s each" if graded else ""
    resumed = f", {counts['resumed']} kept from the interrupted run" if counts["resumed"] else ""
    print(
        f"graded {graded} of {total} submissions in {seconds:.0f} s{each} ({jobs} at a time){resumed}: "
        f"{counts['ok']} ok, {counts['error']} error, {counts['timeout']} timeout"
        + (f"; {counts['repaired']} files repaired after submissions touched them" if counts["repaired"] else "")
    )
    if not isolated:
        print(f"note: {sandbox.UNISOLATED}; grade again without --isolation none to isolate them")
    print(f"wrote {out}")


def cli(args) -> int:
    """The `grade` subcommand (see sslcourse/cli.py)."""
    sandbox.make_private()  # the grader's memory (the submissions' bytes, the rows) closed to the submissions
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill` stops it as Ctrl-C does: rows kept, tidy
    opts = batch.Options(
        timeout=args.timeout,
        memory=args.memory,
        jobs=args.jobs,
        resume=args.resume,
        force=args.force,
        assignment=Path(args.assignment).resolve() if args.assignment else None,
        isolation=args.isolation,
        progress_bar=not args.quiet,
    )
    return grade(args.submissions, Path(args.out), opts)
