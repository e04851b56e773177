"""The course as a whole: its notebooks, its repository URL, and running every notebook headless."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout: sslcourse/instructor/course.py
STUDENT_FOLDER = "notebooks/student"  # what students open: exercises empty, nothing printed yet

# The six notebooks of the course design, in order (file stem, title, one line).
NOTEBOOKS = (
    (
        "00_gelato_bet",
        "The gelato bet",
        "labels or no labels? the evaluation protocol (kNN, linear probe, few labels) and the scoreboard",
    ),
    (
        "01_context",
        "Context prediction",
        "where does this patch go? shortcuts (gap, jitter, chromatic aberration) and their cures",
    ),
    ("02_colorization", "Colorization", "colour from lightness: L2 vs classification vs rebalancing"),
    ("03_simclr", "SimCLR", "two views should agree: NT-Xent and the augmentation study"),
    ("04_mae", "Masked autoencoders", "hide 75% of the patches, rebuild them: the masking-ratio sweep"),
    ("05_bet_resolved", "The bet, resolved", "every method side by side against supervised pre-training"),
)


def repository_url() -> str:
    """The repository URL, read from pyproject.toml's [project.urls] Repository (the one setting)."""
    text = (ROOT / "pyproject.toml").read_text() if (ROOT / "pyproject.toml").is_file() else ""
    m = re.search(r'^Repository\s*=\s*"([^"]+)"', text, flags=re.M)
    if m:
        return m.group(1).rstrip("/")
    from importlib.metadata import metadata

    urls = metadata("sslcourse").get_all("Project-URL") or []
    return next(u.split(",", 1)[1].strip() for u in urls if u.lower().startswith("repository"))


def release_ref() -> str:
    """The git tag of this version of the course, `v<version>` (sslcourse.__version__). The badges open the
    notebooks at this tag and their setup cells install the library at it, so notebook and library are the
    ones that were executed together; `python -m sslcourse release` creates the tag and checks it."""
    from sslcourse import __version__

    return f"v{__version__}"


def colab_url(stem: str, folder: str = STUDENT_FOLDER) -> str:
    repo = repository_url().removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{repo}/blob/{release_ref()}/{folder}/{stem}.ipynb"


def colab_badge(stem: str, folder: str = STUDENT_FOLDER) -> str:
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(stem, folder)})"


def course_map_markdown() -> str:
    """The README's course map: one line per notebook, opening its student version (locally and in Colab)."""
    lines = ["| # | notebook | what you do | open |", "|---|---|---|---|"]
    for stem, title, line in NOTEBOOKS:
        lines.append(f"| {stem[:2]} | [{title}]({STUDENT_FOLDER}/{stem}.ipynb) | {line} | {colab_badge(stem)} |")
    return "\n".join(lines)


MAP_START, MAP_END = "<!-- course-map:start -->", "<!-- course-map:end -->"


def update_readme(readme: Path = ROOT / "README.md") -> bool:
    """Rewrite the course map between its markers; True when the file changed."""
    text = readme.read_text()
    head, rest = text.split(MAP_START, 1)
    _, tail = rest.split(MAP_END, 1)
    new = f"{head}{MAP_START}\n{course_map_markdown()}\n{MAP_END}{tail}"
    if new != text:
        readme.write_text(new)
    return new != text


def course_notebooks(root: Path = ROOT) -> list[Path]:
    """The course's notebooks in order (notebooks/NN_topic.ipynb), student versions excluded."""
    return sorted(p for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
