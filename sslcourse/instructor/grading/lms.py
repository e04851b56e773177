"""From the LMS download to the LMS upload: who a submission is, a gradebook to import, feedback to hand back.

In: the student's name and LMS id, read from the names the exports give each submission:
- Canvas ("Download submissions"): one file each, `lastnamefirstname[_LATE]_<user id>_<submission id>_<file>.ipynb`;
  the first number is the student's Canvas user id, the `ID` column of Canvas's gradebook.
- Moodle ("Download all submissions"): one folder each, `Firstname Lastname_<participant id>_assignsubmission_file_`;
  the number is the `Identifier` of Moodle's grading worksheet (`Participant <id>`).
- nbgrader's exchange (`submitted/<student id>/<assignment>/<notebook>.ipynb`), and any one folder per student:
  the folder's name is the student's id.
- any other file name: the name is its stem, and there is no id.

Out, beside the sheet `grades.csv`: `grades-canvas.csv` (Canvas's gradebook import: Student, ID, SIS User ID,
SIS Login ID, Section, then one column for the assignment), `grades-moodle.csv` (Moodle's grading worksheet:
Identifier, Full name, Grade, Maximum Grade, Feedback comments) and `grades-feedback/<student>.md`, one file a
student can read: each exercise's points and what its checker said, each prediction's outcome, and the written
answers awaiting the instructor (as nbgrader's `generate_feedback` hands back).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_[a-z]+_?$")
CANVAS = re.compile(r"^(?P<name>[a-z]+)(?P<late>_late)?_(?P<id>\d+)_(?P<submission>\d+)_.+$", re.IGNORECASE)
CANVAS_FIXED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["Identifier", "Full name", "Grade", "Maximum Grade", "Feedback comments"]


@dataclass(frozen=True)
class Identity:
    name: str  # as the LMS wrote it: "lastnamefirstname" (Canvas), "Firstname Lastname" (Moodle), or the stem
    lms_id: str = ""  # Canvas user id, Moodle participant id, nbgrader student id; "" when the name has none
    lms: str = ""  # canvas, moodle, folder (nbgrader's exchange or one folder per student) or "" (a plain file)
    late: bool = False  # Canvas marks a late submission in its file name


def from_file(stem: str) -> Identity:
    """A notebook at the top of the download: Canvas's file name, or a plain one."""
    m = CANVAS.match(stem)
    if m:
        return Identity(m.group("name"), m.group("id"), "canvas", bool(m.group("late")))
    return Identity(stem)


def from_folder(name: str) -> Identity:
    """A student's folder: Moodle's, or one named after the student (nbgrader's exchange: the student id)."""
    m = MOODLE.match(name)
    if m:
        return Identity(m.group("name"), m.group("id"), "moodle")
    return Identity(name, name, "folder")


def exports_paths(sheet: Path) -> dict[str, Path]:
    """What is written beside the sheet: grades.csv -> grades-canvas.csv, grades-moodle.csv, grades-feedback/."""
    sheet = Path(sheet)
    return {
        "canvas": sheet.with_name(f"{sheet.stem}-canvas.csv"),
        "moodle": sheet.with_name(f"{sheet.stem}-moodle.csv"),
        "feedback": sheet.with_name(f"{sheet.stem}-feedback"),
    }


def _number(value) -> str:
    return f"{float(value):g}" if value not in (None, "") else ""


def _graded(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r.get("status") != "skipped"]


def canvas_csv(rows: list[dict], assignment: str) -> str:
    """Canvas's gradebook import: its five fixed columns, then the assignment's (the auto-graded points; a
    `Points Possible` row first). Canvas matches rows by ID; rename the last column to the assignment's column
    as Canvas's own gradebook export spells it (`Name (12345)`) before importing."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CANVAS_FIXED, assignment])
    graded = _graded(rows)
    most = max((float(r.get("max_total") or 0) for r in graded), default=0)
    writer.writerow(["Points Possible", "", "", "", "", _number(most)])
    for r in graded:
        writer.writerow([r.get("name") or r["student"], r.get("lms_id", ""), "", "", "", _number(r.get("total"))])
    return out.getvalue()


def moodle_csv(rows: list[dict]) -> str:
    """Moodle's grading worksheet (Assignment > Upload grading worksheet): rows matched by `Participant <id>`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MOODLE_COLUMNS)
    for r in _graded(rows):
        ident = f"Participant {r['lms_id']}" if r.get("lms_id") else ""
        summary = f"{_number(r.get('total'))} of {_number(r.get('max_total'))} points graded automatically"
        if r.get("by_hand_max_total"):
            summary += f"; {_number(r['by_hand_max_total'])} more for written answers, graded by hand"
        writer.writerow(
            [ident, r.get("name") or r["student"], _number(r.get("total")), _number(r.get("max_total")), summary]
        )
    return out.getvalue()


def feedback(row: dict, title: str) -> str:
    """One student's feedback, in Markdown: exercises, predictions, written answers, and how the notebook ran."""
    lines = [f"# {title}: feedback for {row.get('name') or row['student']}", ""]
    total = f"**{_number(row.get('total'))} of {_number(row.get('max_total'))} points** graded automatically"
    if row.get("by_hand_max_total"):
        total += f", and up to {_number(row['by_hand_max_total'])} more for your written answers (graded by hand)"
    lines += [total + ".", ""]
    detail = row.get("feedback", {})
    for kind, title_of in (("exercise", "Exercises"), ("prediction", "Predictions")):
        entries = [e for e in detail.get("exercises", []) if e["kind"] == kind]
        if entries:
            lines += [f"## {title_of}", ""]
            for e in entries:
                said = "; ".join(e["notes"]) or ("passed every check" if kind == "exercise" else "counted")
                lines.append(f"- `{e['name']}`: {_number(e['earned'])} of {_number(e['points'])} points. {said}")
            lines.append("")
    if detail.get("written"):
        lines += ["## Written answers", ""]
        lines += [f"- {note} (awaiting your instructor)" for note in detail["written"]]
        lines.append("")
    lines += ["## Your notebook", ""]
    ran = {"ok": "it ran from top to bottom", "error": "it stopped on an error", "timeout": "it ran out of time"}
    lines.append(
        f"- {ran.get(row.get('status'), row.get('status'))}" + (f": {detail['run']}" if detail.get("run") else "")
    )
    return "\n".join(lines) + "\n"


def feedback_name(row: dict) -> str:
    """The feedback file's name: the sheet's student, made safe as a file name."""
    return re.sub(r"[^\w.-]+", "_", row["student"]).strip("._") + ".md"
