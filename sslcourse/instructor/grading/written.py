"""Written questions, graded by hand: found in the assignment, each submission's answer read (never run), and
every answer listed for the instructor in one Markdown file beside the sheet.

A written question is a markdown answer cell with nbgrader metadata `{"grade": true, "solution": true,
"grade_id": "q_<name>", "points": N}`; the markdown cell before it asks the question, and `assign` puts
"YOUR ANSWER HERE" in the answer's place in the student version. As for exercises, the questions and their
points come from the assignment, never from a submission's metadata. In a submission the answer cell is found
by its grade_id, else (its metadata removed, with a note) as the markdown cell right after the question's
unchanged text, unless that cell is the one the assignment has after the answer (the answer cell was deleted).

What a student wrote is untrusted text: it is never run, and `render` shows it as plain text in a code block
that no line of it can close, its control characters made visible, cut past MAX_CHARS with a note.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

from sslcourse.instructor.nbtools.assign import MARKDOWN_ANSWER

MAX_CHARS = 5000  # a written answer is a few sentences; past this it is cut in the answers file, with a note
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")  # reorder text on screen

_SHOWN = {  # what the answers file says in place of an answer, and the row's note says after "no answer"
    "unchanged": f"no answer: {MARKDOWN_ANSWER} unchanged",
    "empty": "no answer: its answer cell is empty",
    "missing": "answer cell missing",
    "unreadable": "answer cell missing: the notebook could not be read",
}


@dataclass(frozen=True)
class Question:
    """One written question of an assignment; `grade_id` is also the sheet's column."""

    grade_id: str
    points: float
    text: str  # the question: the markdown cell before the answer cell ("" when there is none)
    model: str  # the assignment's own answer cell (the course's answer; the placeholder in a student version)
    after: str  # the cell after the answer cell: what follows the question's text when the answer cell is gone
    source: str  # the assignment's file name


@dataclass(frozen=True)
class Response:
    """A submission's answer to one question: `state` is answered, unchanged, empty, missing or unreadable."""

    question: Question
    state: str
    text: str = ""
    notes: tuple[str, ...] = ()

    @property
    def answered(self) -> bool:
        return self.state == "answered"

    def note(self) -> str:
        """The row's note: `q_x: answered, to grade by hand (2 points)` or `q_x: no answer (why)`."""
        q = self.question
        said = (
            f"answered, to grade by hand ({points(q.points)})"
            if self.answered
            else f"no answer ({_SHOWN[self.state].removeprefix('no answer: ')})"
        )
        return f"{q.grade_id}: " + "; ".join([said, *self.notes])


def points(value: float) -> str:
    return f"{value:g} point" + "s" * (value != 1)


def _meta(cell) -> dict:
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    grading = meta.get("nbgrader") if isinstance(meta, dict) else None
    return grading if isinstance(grading, dict) else {}


def _source(cell) -> str:
    source = cell.get("source", "") if isinstance(cell, dict) else ""
    return "".join(map(str, source)) if isinstance(source, list) else str(source)


def _is_markdown(cell) -> bool:
    return isinstance(cell, dict) and cell.get("cell_type") == "markdown"


def questions(nb, source: str = "") -> list[Question]:
    """The written questions of an assignment, in order: markdown cells graded and marked as solutions."""
    found, cells = [], nb.cells
    for i, cell in enumerate(cells):
        meta = _meta(cell)
        if _is_markdown(cell) and meta.get("grade") and meta.get("solution") and meta.get("grade_id"):
            before = cells[i - 1] if i > 0 and _is_markdown(cells[i - 1]) else None
            found.append(
                Question(
                    grade_id=str(meta["grade_id"]),
                    points=float(meta.get("points") or 0),
                    text=_source(before) if before is not None else "",
                    model=_source(cell),
                    after=_source(cells[i + 1]) if i + 1 < len(cells) else "",
                    source=source,
                )
            )
    return found


def _after_question(cells: list, question: Question):
    """The cell right after the question's unchanged text, when it can be the answer cell; else None."""
    text = question.text.strip()
    for i, cell in enumerate(cells[:-1]):
        if text and _is_markdown(cell) and _source(cell).strip() == text:
            candidate = cells[i + 1]
            if _is_markdown(candidate) and "grade_id" not in _meta(candidate):
                if _source(candidate).strip() != question.after.strip():  # else: the course's next cell
                    return candidate
            return None
    return None


def respond(nb, question: Question) -> Response:
    """A submission's answer to `question`: by grade_id, else right after the question's text (with a note)."""
    cells = list(nb.get("cells") or [])
    tagged = [c for c in cells if _meta(c).get("grade_id") == question.grade_id]
    notes = []
    if tagged:
        cell = tagged[0]
        if len(tagged) > 1:
            notes.append(f"{len(tagged)} cells carry its grade_id: the first is the answer")
    else:
        cell = _after_question(cells, question)
        if cell is None:
            return Response(question, "missing")
        notes.append("its answer cell was found right after the question's text (its grading metadata was removed)")
    text = _source(cell)
    state = "unchanged" if text.strip() == MARKDOWN_ANSWER else "answered" if text.strip() else "empty"
    return Response(question, state, text, tuple(notes))


def responses(data: bytes, asked: list[Question]) -> list[Response]:
    """A submission's answers to the questions `asked`, from its bytes (parsed as JSON, nothing run)."""
    if not asked:
        return []
    try:
        nb = json.loads(data)
        if not isinstance(nb, dict) or not isinstance(nb.get("cells", []), list):
            raise ValueError("not a notebook")
        return [respond(nb, q) for q in asked]
    except (ValueError, TypeError, AttributeError, RecursionError):
        return [Response(q, "unreadable") for q in asked]


# --------------------------------------------------------------------------- the answers file
def visible(text: str) -> str:
    """`text` with its control and text-direction characters written out (`\\x1b`, `\\u202e`): what a
    terminal or an editor would otherwise act on, or hide."""
    return "".join(_visible(c) for c in text.replace("\r\n", "\n").replace("\r", "\n"))


def _visible(c: str) -> str:
    if c in "\n\t":
        return c
    if unicodedata.category(c) == "Cc":  # all below U+00A0
        return f"\\x{ord(c):02x}"
    return f"\\u{ord(c):04x}" if c in _BIDI else c


def _fence(text: str) -> list[str]:
    """`text` verbatim in a fenced code block: the fence is longer than any run of backticks in it, so no
    line can close the block early (CommonMark), and nothing in it is rendered."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + "text", *text.split("\n"), fence]


def _code(text: str) -> str:
    """One line of untrusted text as an inline code span (nothing in it is rendered)."""
    text = visible(text).replace("\n", " ").replace("\t", " ")
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _quote(text: str) -> list[str]:
    """The course's own Markdown (a question, its answer) as a blockquote, rendered as the notebook shows it."""
    return [f"> {line}".rstrip() for line in text.strip().split("\n")] if text.strip() else []


def _shown(response: Response) -> list[str]:
    if not response.answered:
        return [f"({_SHOWN[response.state]})"]
    text = response.text.strip("\n")
    cut = len(text) > MAX_CHARS
    lines = _fence(visible(text[:MAX_CHARS] if cut else text))
    if cut:
        lines.append(f"*(cut: the answer has {len(text):,} characters; the first {MAX_CHARS:,} are shown)*")
    return lines


def render(answers: list[tuple[str, list[Response]]], sheet_name: str) -> str:
    """The answers file: for each question (in order of first appearance), its text and points, the course's
    answer, then every student's answer in the sheet's order. `answers`: (student, their responses)."""
    by_question: dict[str, list[tuple[str, Response]]] = {}
    for student, given in answers:
        for response in given:
            by_question.setdefault(response.question.grade_id, []).append((student, response))
    lines = [
        "# Written answers, to grade by hand",
        "",
        f"For the grade sheet {_code(sheet_name)}: each question has a column there for the points you give "
        "(the sheet's `auto_total` leaves them out). Every answer is shown as the student wrote it, as plain "
        f"text: never run, never rendered, and cut past {MAX_CHARS:,} characters, with a note.",
    ]
    for grade_id, entries in by_question.items():
        question = entries[0][1].question
        answered = sum(r.answered for _, r in entries)
        lines += ["", f"## {_code(grade_id)} ({points(question.points)})", ""]
        lines += [f"From {_code(question.source)}: {answered} of {len(entries)} submissions answered it.", ""]
        lines += _quote(question.text) or ["(the question's text: see the notebook)"]
        if question.model.strip() and question.model.strip() != MARKDOWN_ANSWER:
            lines += ["", "The course's answer, for reference:", "", *_quote(question.model)]
        for student, response in entries:
            lines += ["", f"### {_code(student)}", ""]
            lines += [f"*Note: {n}.*" for n in response.notes] + ([""] if response.notes else [])
            lines += _shown(response)
    return "\n".join(lines) + "\n"
