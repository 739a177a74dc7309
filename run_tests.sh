#!/usr/bin/env bash
# Run the test suite (unit, functional, package, knowledge). Works on a fresh
# clone: makes its own virtualenv (.venv) from requirements.txt, and the package
# tests build the add-on (./ucc_build.sh --skip-appinspect) when output/ is absent.
# Extra arguments go to pytest, e.g. ./run_tests.sh tests/unit -k cursor
#
# --fast: what a developer runs while changing code, within a minute: everything but
# the tests marked slow (kill -9 crashes, the hostile server, e2e, the Node.js dashboard
# validator, pytest-splunk-addon's test generator, a virtualenv made with pip), browser (Chromium) and build (the built add-on; never builds it), in four
# pytest-xdist workers (most tests wait on sockets and child processes, not the CPU).
# Markers: pytest.ini, tests/conftest.py.
set -euo pipefail
cd "$(dirname "$0")"
. tools/ensure_venv.sh
# Bytecode (and pytest's rewritten test modules) cached in the virtualenv, never beside the
# sources: where PYTHONDONTWRITEBYTECODE is set, every pytest worker and every CLI child
# otherwise compiles every test and add-on module again (about 2 s of CPU per worker).
export PYTHONPYCACHEPREFIX="${PYTHONPYCACHEPREFIX:-$PWD/$VENV/pycache}"
unset PYTHONDONTWRITEBYTECODE
args=()
for arg in "$@"; do
  if [ "$arg" = "--fast" ]; then
    args+=(-m "not slow and not browser and not build" -n 4 --dist worksteal)
  else
    args+=("$arg")
  fi
done
exec "$VENV/bin/python" -m pytest ${args[@]+"${args[@]}"}
