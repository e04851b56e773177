"""scripts/setup.sh, the first step of both README commands, on a machine without GNU coreutils' sha256sum
(macOS has none): it must still recognise an environment that is already set up."""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_setup_reuses_a_ready_environment_without_sha256sum(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    fingerprint = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + (ROOT / "scripts" / "setup.sh").read_bytes())
    (venv / ".sslcourse-installed").write_text(fingerprint.hexdigest() + " notebooks\n")
    tools = tmp_path / "tools"  # a PATH with the few commands the script uses, and no sha256sum
    tools.mkdir()
    for name in ("bash", "cat", "dirname", "python3"):
        (tools / name).symlink_to(shutil.which(name))
    env = {**os.environ, "PATH": str(tools), "SSLCOURSE_VENV": str(venv)}
    env.pop("SSLCOURSE_EXTRAS", None)  # test.sh exports the test extra; a student's setup asks for notebooks only
    proc = subprocess.run(
        ["bash", "-c", f"source {ROOT / 'scripts' / 'setup.sh'}"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "reusing" in proc.stdout and "installing" not in proc.stdout


def _fake_venv(tmp_path, stamp: str):
    """A venv whose python runs `-c` snippets for real and only logs anything else (pip is never run)."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    log = tmp_path / "calls.log"
    (venv / "bin" / "python").write_text(
        f'#!/usr/bin/env bash\nif [ "$1" = "-c" ]; then exec {sys.executable} "$@"; fi\necho "$@" >> {log}\n'
    )
    (venv / "bin" / "python").chmod(0o755)
    fingerprint = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + (ROOT / "scripts" / "setup.sh").read_bytes())
    (venv / ".sslcourse-installed").write_text(stamp.format(fingerprint=fingerprint.hexdigest()))
    return venv, log


def _setup(venv, extras=None):
    env = {**os.environ, "SSLCOURSE_VENV": str(venv)}
    env.pop("SSLCOURSE_EXTRAS", None)
    if extras:
        env["SSLCOURSE_EXTRAS"] = extras
    return subprocess.run(
        ["bash", "-c", f"source {ROOT / 'scripts' / 'setup.sh'}"], env=env, capture_output=True, text=True, timeout=60
    )


def test_students_get_the_notebooks_extra_and_tests_add_the_test_extra(tmp_path):
    """course.sh and lab.sh install [notebooks] only; test.sh asks for [notebooks,test] and adds what is missing."""
    venv, log = _fake_venv(tmp_path, "stale-fingerprint notebooks\n")
    proc = _setup(venv)
    assert proc.returncode == 0, proc.stderr
    assert f"-e {ROOT}[notebooks]" in log.read_text() and "test" not in log.read_text()
    log.unlink()
    proc = _setup(venv, "notebooks,test")
    assert proc.returncode == 0, proc.stderr
    assert f"-e {ROOT}[notebooks,test]" in log.read_text()
    log.unlink()
    proc = _setup(venv)  # the course command after the tests: everything it needs is there
    assert proc.returncode == 0 and "reusing" in proc.stdout and not log.exists()
    assert "SSLCOURSE_EXTRAS" in (ROOT / "scripts" / "test.sh").read_text()
    assert "SSLCOURSE_EXTRAS" not in (ROOT / "scripts" / "course.sh").read_text()
