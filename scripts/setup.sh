#!/usr/bin/env bash
# Create (or reuse) the course's virtual environment in .venv and install sslcourse into it.
# Sourced by course.sh and test.sh. A second run reinstalls nothing unless pyproject.toml changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SSLCOURSE_VENV:-$ROOT/.venv}"

pick_python() {
  for py in "${PYTHON:-}" python3.13 python3.12 python3.11 python3.10 python3 python; do
    [ -n "$py" ] && command -v "$py" >/dev/null 2>&1 || continue
    if "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then echo "$py"; return; fi
  done
  echo "sslcourse needs Python 3.10 or newer; none was found on PATH (set PYTHON=/path/to/python3)." >&2
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  PY="$(pick_python)"
  echo "sslcourse: creating the virtual environment $VENV with $PY"
  "$PY" -m venv "$VENV" || { echo "could not create $VENV: install your Python's venv module (e.g. apt install python3-venv)" >&2; exit 1; }
fi

# What to install: the course and its notebooks extra (what a student needs: JupyterLab, the kernel); test.sh
# asks for the test extra too (pytest, nbval, ruff, Playwright, ...) with SSLCOURSE_EXTRAS=notebooks,test.
EXTRAS="${SSLCOURSE_EXTRAS:-notebooks}"
stamp="$VENV/.sslcourse-installed"  # "<fingerprint> <extras installed>"
# The fingerprint of what the environment was built from, with Python's hashlib (macOS has no sha256sum).
want="$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/setup.sh" |
  "$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
read -r have have_extras < "$stamp" 2>/dev/null || { have=""; have_extras=""; }
missing=""
for extra in ${EXTRAS//,/ }; do
  case ",$have_extras," in *",$extra,"*) ;; *) missing="$missing,$extra" ;; esac
done
if [ "$have" != "$want" ] || [ -n "$missing" ]; then
  # Same sources: add the missing extras to those installed; changed sources: install what is asked for now.
  if [ "$have" = "$want" ]; then EXTRAS="${have_extras}${missing}"; EXTRAS="${EXTRAS#,}"; fi
  echo "sslcourse: installing the course ([$EXTRAS]) and its dependencies into $VENV (first run: a few minutes)"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e "$ROOT[$EXTRAS]"
  "$VENV/bin/python" -m ipykernel install --sys-prefix --name python3 >/dev/null
  echo "$want $EXTRAS" > "$stamp"
else
  echo "sslcourse: reusing $VENV (already set up)"
fi

# Offline CIFAR-10 beside a checkout (this project's CI and development machines); students with
# internet get the official files through torchvision instead.
if [ -z "${SSLCOURSE_DATA:-}" ] && [ -d "$ROOT/../shared/data/cifar10-jpeg" ]; then
  export SSLCOURSE_DATA="$(cd "$ROOT/../shared/data" && pwd)"
fi
export PATH="$VENV/bin:$PATH"
