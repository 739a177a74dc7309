# Sourced by ucc_build.sh and run_tests.sh: a virtualenv with requirements.txt,
# reinstalled only when requirements.txt changes. Sets $VENV.
#
# The pinned build and test tools need Python 3.10 to 3.13 (jsonschema 4.26
# needs 3.10; ucc-gen 6.6, solnlib 7 and splunktaucclib 8.2 stop before 3.14).
# PYTHON=/path/to/python3.x picks the interpreter that creates the virtualenv.
VENV="${VENV:-.venv}"
_venv_python="${PYTHON:-python3}"
[ -x "$VENV/bin/python" ] && _venv_python="$VENV/bin/python"
if ! "$_venv_python" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] < (3, 14))' 2>/dev/null; then
  _found=$("$_venv_python" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo "none")
  echo "error: the build and test tools need Python 3.10 to 3.13, and $_venv_python is $_found; run with PYTHON=/path/to/python3.11 (or remove $VENV if it was made with another Python)" >&2
  exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$_venv_python" -m venv "$VENV"
fi
if ! cmp -s requirements.txt "$VENV/.requirements.installed" 2>/dev/null; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt
  cp requirements.txt "$VENV/.requirements.installed"
fi
