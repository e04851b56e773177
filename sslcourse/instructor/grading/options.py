"""The `grade` command's options, checked as they are parsed: a bad value stops the command before anything
runs, with a message that names the option and what it accepts (argparse prints it with the usage)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

MIN_MEMORY = 1 << 30  # importing torch alone takes about 700M


def sheet(text: str) -> Path:
    """--out: a CSV file to write, never a folder (the grader replaces a sheet, and nothing else)."""
    path = Path(text).expanduser()
    if text.endswith(("/", os.sep)) or path.is_dir():
        raise argparse.ArgumentTypeError(
            f"--out {text}: a folder; --out names the sheet to write, a file such as {path / 'grades.csv'}"
        )
    for parent in path.absolute().parents:
        if parent.exists() and not parent.is_dir():
            raise argparse.ArgumentTypeError(f"--out {text}: {parent} is a file, not a folder to put the sheet in")
    return path


def seconds(text: str) -> float:
    """--timeout: seconds per notebook, more than 0."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"--timeout {text}: expected a number of seconds greater than 0, e.g. 600")
    return value


def memory(text: str) -> int | None:
    """--memory: a size of at least 1G (e.g. 4G, 1500M), or 0 for no limit; returns bytes, or None."""
    try:  # here, not at the top: the sandbox needs POSIX's `resource`, and `python -m sslcourse` builds this
        # parser on Windows too (where the grade command then says it needs Linux, WSL or macOS)
        from sslcourse.instructor.grading import sandbox
    except ImportError:
        return text
    try:
        value = sandbox.parse_memory(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--memory {text}: expected a size such as 4G or 1500M (at least 1G), or 0 for no limit"
        ) from None
    if value is not None and value < MIN_MEMORY:
        raise argparse.ArgumentTypeError(
            f"--memory {text}: at least 1G (importing torch alone takes about 700M), or 0 for no limit"
        )
    return value


def jobs(text: str) -> int:
    """--jobs: submissions graded at once, a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--jobs {text}: expected a whole number of at least 1")
    return value


def add_to(g: argparse.ArgumentParser) -> None:
    """The `grade` subcommand's arguments."""
    g.add_argument(
        "submissions",
        nargs="+",
        help="submitted notebooks (.ipynb, any letter case), or folders of them: "
        "one per student (the student named after the folder, as LMS exports do) or all in one (the "
        "student named after the file); graded in the order given, a folder's in name order. Files that "
        "are not graded are listed, never dropped silently",
    )
    g.add_argument(
        "--out",
        required=True,
        type=sheet,
        help="the grade sheet to write, a CSV file (never a folder); an existing sheet is replaced only with --force",
    )
    g.add_argument("--timeout", type=seconds, default=600.0, help="seconds per notebook, > 0 (default: 600)")
    g.add_argument(
        "--memory",
        type=memory,
        default=4 << 30,
        help="memory for each submission, all its processes "
        "together (shared memory and its scratch files included), e.g. 4G or 1500M; at least 1G "
        "(importing torch needs about 700M); 0 for no limit (default: 4G)",
    )
    g.add_argument("--jobs", type=jobs, default=1, help="submissions graded at once, >= 1 (default: 1)")
    g.add_argument(
        "--assignment",
        help="the course notebook the submissions answer, .ipynb or .py (default: the "
        "one each submission's metadata names, from notebooks/)",
    )
    g.add_argument(
        "--isolation",
        choices=["bwrap", "none"],
        default="bwrap",
        help="bwrap (default): each submission in a bubblewrap sandbox (read-only system and course, "
        "private scratch, no network, own PIDs) under a memory and process limit; grading refuses to "
        "start where that is not available. none: no isolation at all, only for submissions you trust "
        "(the sheet and the terminal say so)",
    )
    g.add_argument(
        "--resume",
        action="store_true",
        help="go on with an interrupted run: submissions it graded (same file, same bytes) are not graded again",
    )
    g.add_argument(
        "--force",
        action="store_true",
        help="replace an existing sheet and its written answers file (and forget an interrupted run)",
    )
    g.add_argument("--quiet", action="store_true", help="no progress bar")
