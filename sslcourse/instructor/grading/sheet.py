"""The grade sheet: one row per submission, kept as it is graded in a progress file, written at the end.

Columns: `student` (the student's name, from the file's or folder's name), `lms_id` (the id the LMS
export gave it: Canvas user id, Moodle participant id, nbgrader student id; see `lms`), one per exercise (its grade id: points earned), `total`,
`max_total`, `status` (ok, error, timeout) and `notes`. When the assignment has written questions (see
`written`), each gets a column after the exercises, left empty for the points the instructor gives by
hand, and the totals are named for what they hold: `auto_total` and `auto_max_total` (the auto-graded
exercises only), then `by_hand_max_total` (the points of the written questions); every answer is in
`grades-answers.md` beside the sheet (`answers_path`). The progress file (`grades.csv.progress`,
beside the sheet) gets one JSON line per graded submission, flushed and synced as soon as it is
known, with the hash of the submission's bytes: `--resume` skips what it already holds for the same
file. The sheet itself is written once, at the end, through a temporary file and a rename, so a
reader never sees half of it; the progress file is then removed.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

FIXED = ["student", "lms_id"]  # the name, and the LMS's id for it when the export gave one (see `lms`)
TAIL = ["total", "max_total", "status", "notes"]
# With written questions, `total` and `max_total` hold only the auto-graded points: their columns say so.
AUTO = {"total": "auto_total", "max_total": "auto_max_total"}
BY_HAND = "by_hand_max_total"


def progress_path(sheet: Path) -> Path:
    return Path(sheet).with_name(Path(sheet).name + ".progress")


def answers_path(sheet: Path) -> Path:
    """The written answers for the instructor, beside the sheet: grades.csv -> grades-answers.md."""
    return Path(sheet).with_name(Path(sheet).stem + "-answers.md")


def read_progress(sheet: Path) -> dict[tuple[str, str], dict]:
    """(student, sha256 of the submission) -> its row, for the rows an earlier run finished."""
    done = {}
    path = progress_path(sheet)
    if not path.is_file():
        return done
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
            done[(entry["student"], entry["sha256"])] = entry["row"]
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short when the run was interrupted
    return done


class Progress:
    """The progress file, appended to and synced row by row; `text` is what it holds (for the guard)."""

    def __init__(self, sheet: Path, keep: bool):
        self.path = progress_path(sheet)
        if not keep and self.path.exists():
            self.path.unlink()
        self.text = self.path.read_text() if self.path.exists() else ""

    def add(self, student: str, sha256: str, row: dict) -> None:
        line = json.dumps({"student": student, "sha256": sha256, "row": row}) + "\n"
        self.text += line
        with open(self.path, "a") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def render(rows: list[dict], exercise_columns: list[str], question_columns: list[str] = ()) -> str:
    """The sheet as CSV text, rows in the order given; a written question's column is left empty."""
    tail = TAIL
    if question_columns:
        tail = [AUTO["total"], AUTO["max_total"], BY_HAND, "status", "notes"]
        rows = [{AUTO.get(k, k): v for k, v in row.items()} for row in rows]
    fields = FIXED + list(exercise_columns) + list(question_columns) + tail
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: cell(v) for k, v in row.items()})  # no value for a question: the instructor's to fill
    return out.getvalue()


def cell(value):
    if isinstance(value, float):
        return f"{value:g}"
    return value


def write_atomically(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_sheet(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
