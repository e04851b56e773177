"""The code base's own rules, checked by well-kept tools: ruff (lint and format) and import-linter (the two
wings: the library never imports the instructor tools; no import cycles). Configured in pyproject.toml."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name if (BIN / name).exists() else shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run `bash scripts/setup.sh` (pyproject's test extra installs it)")
    return str(path)


def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing_to_lint():
    r = _run(_tool("ruff"), "check", ".")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def test_ruff_finds_nothing_to_format():
    r = _run(_tool("ruff"), "format", "--check", ".")
    assert r.returncode == 0, f"run `ruff format .`:\n{r.stdout[-4000:]}{r.stderr[-2000:]}"


def test_the_library_never_imports_the_instructor_wing_and_nothing_imports_in_a_circle():
    r = _run(_tool("lint-imports"))
    assert r.returncode == 0 and "0 broken" in r.stdout, r.stdout[-4000:] + r.stderr[-2000:]
