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
    (venv / ".sslcourse-installed").write_text(fingerprint.hexdigest() + "\n")
    tools = tmp_path / "tools"  # a PATH with the few commands the script uses, and no sha256sum
    tools.mkdir()
    for name in ("bash", "cat", "dirname", "python3"):
        (tools / name).symlink_to(shutil.which(name))
    env = {**os.environ, "PATH": str(tools), "SSLCOURSE_VENV": str(venv)}
    proc = subprocess.run(
        ["bash", "-c", f"source {ROOT / 'scripts' / 'setup.sh'}"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "reusing" in proc.stdout and "installing" not in proc.stdout
