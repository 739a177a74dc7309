#!/usr/bin/env bash
# Run the test suite (unit, functional, package, knowledge). Works on a fresh
# clone: makes its own virtualenv (.venv) from requirements.txt, and the package
# tests build the add-on (./ucc_build.sh --skip-appinspect) when output/ is absent.
# Extra arguments go to pytest, e.g. ./run_tests.sh tests/unit -k cursor
set -euo pipefail
cd "$(dirname "$0")"
. tools/ensure_venv.sh
exec "$VENV/bin/python" -m pytest "$@"
