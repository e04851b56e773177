"""Grading wherever Python and the course live (issue #30): a checkout and a virtual environment under /tmp.

The kernel's sandbox mounts a private /tmp for the submission; before the fix, that hid a venv or a checkout
living under /tmp, and every kernel died before replying to kernel_info (13 grading tests failed from a CI
clone under /tmp). Here the whole grader runs from a copy of the package under /tmp, with a venv under /tmp
whose interpreter finds this one's packages through a .pth file, and grades a solved demo submission.
"""

import os
import shutil
import site
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from sslcourse.instructor.grading import sandbox
from sslcourse.instructor.nbtools import assign, pairs

ROOT = Path(__file__).resolve().parents[1]
NO_SANDBOX = sandbox.problem()
WRITES = """import os
open({private!r}, "w").write("scratch")
try:
    open({course!r}, "a").write("vandal")
    raise AssertionError("the course was writable")
except OSError:
    pass
"""


@pytest.fixture
def under_tmp():
    folder = Path(tempfile.mkdtemp(prefix="sslcourse-anywhere-", dir="/tmp"))  # /tmp itself, whatever TMPDIR says
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _venv(folder: Path) -> Path:
    """A venv under `folder` that sees this interpreter's packages (cheap: no pip, nothing copied)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / "bin" / "python"
    target = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = [p for p in [*site.getsitepackages(), site.getusersitepackages()] if os.path.isdir(p)]
    Path(target, "_grader_packages.pth").write_text("".join(f"import site; site.addsitedir({p!r})\n" for p in ours))
    return python


def _course(folder: Path) -> tuple[Path, Path]:
    """A checkout under `folder`: the package and the demo assigned; (the solved student notebook, its source)."""
    shutil.copytree(ROOT / "sslcourse", folder / "sslcourse", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    (folder / "notebooks").mkdir()
    shutil.copy(ROOT / "tests" / "fixtures" / "99_demo.py", folder / "notebooks" / "99_demo.py")
    assert assign.assign(root=folder) == 0
    pair = pairs.find_pairs(root=folder)[0]
    solution = [c for c in pairs.build(pair).cells if c.metadata.get("nbgrader", {}).get("grade_id") == "knn_classify"]
    nb = nbformat.read(pair.student, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "knn_classify":
            cell.source = solution[0].source
    # The course is shown read-only, and the submission still writes to a private /tmp of its own.
    private = f"/tmp/{folder.parent.name}-private.txt"
    nb.cells.append(nbformat.v4.new_code_cell(WRITES.format(course=str(folder / "pyproject.toml"), private=private)))
    solved = folder.parent / "submitted" / "alice.ipynb"
    solved.parent.mkdir()
    nbformat.write(nb, solved)
    return solved, pair.source


@pytest.mark.slow
@pytest.mark.skipif(
    NO_SANDBOX is not None and not os.environ.get("SSLCOURSE_REQUIRE_SANDBOX"), reason=f"no sandbox here: {NO_SANDBOX}"
)
def test_a_checkout_and_a_venv_under_tmp_grade_in_the_sandbox(under_tmp):
    python = _venv(under_tmp / "venv")
    submission, assignment = _course(under_tmp / "course")
    out = under_tmp / "grades.csv"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env.update(PYTHONPATH=str(under_tmp / "course"), VIRTUAL_ENV=str(under_tmp / "venv"))
    done = subprocess.run(
        [str(python), "-m", "sslcourse", "grade", str(submission), "--out", str(out), "--assignment", str(assignment)]
        + ["--timeout", "120", "--memory", "2G"],
        cwd=under_tmp / "course",
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    import csv

    with open(out, newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert (row["status"], row["knn_classify"]) == ("ok", "2"), row["notes"]
    assert not Path(f"/tmp/{under_tmp.name}-private.txt").exists()  # written in its own /tmp, gone with it
    assert "vandal" not in (under_tmp / "course" / "pyproject.toml").read_text()
    # The grader really ran from /tmp: the package it imported is the copy there.
    where = subprocess.run(
        [str(python), "-c", "import sslcourse, sys; print(sslcourse.__file__); print(sys.prefix)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=under_tmp,
    ).stdout.split()
    assert where == [str(under_tmp / "course" / "sslcourse" / "__init__.py"), str(under_tmp / "venv")]
