#!/usr/bin/env bash
# Optional: open the course in JupyterLab (after the same setup as the other two commands), on the first
# student notebook: exercises empty, nothing printed yet. The solved notebooks are one folder up, in notebooks/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
exec jupyter lab --ServerApp.root_dir="$ROOT/notebooks" "$ROOT/notebooks/student/00_gelato_bet.ipynb" "$@"
