#!/usr/bin/env bash
# Set everything up, then run the whole test suite (library, checkers and notebooks under nbval).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
exec python -m pytest "$@"
