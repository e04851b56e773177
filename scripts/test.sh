#!/usr/bin/env bash
# Set everything up, then run the whole test suite (library, checkers and notebooks under nbval).
set -euo pipefail
export SSLCOURSE_EXTRAS="${SSLCOURSE_EXTRAS:-notebooks,test}"  # the test tools too (students get notebooks only)
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
exec python -m pytest "$@"
