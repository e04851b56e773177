#!/usr/bin/env bash
# Optional: open the course in JupyterLab (after the same setup as the other two commands).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
exec jupyter lab notebooks/ "$@"
