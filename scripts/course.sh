#!/usr/bin/env bash
# Set everything up, then execute every notebook of the course end to end (no browser needed).
# Executed copies go to build/executed/; the notebooks in notebooks/ are never overwritten.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
exec python -m sslcourse course "$@"
