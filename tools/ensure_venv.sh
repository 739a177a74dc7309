# Sourced by ucc_build.sh and run_tests.sh: a virtualenv with requirements.txt,
# reinstalled only when requirements.txt changes. Sets $VENV.
#
# The pinned build and test tools need Python 3.10 to 3.13 (jsonschema 4.26
# needs 3.10; ucc-gen 6.6, solnlib 7 and splunktaucclib 8.2 stop before 3.14).
# PYTHON=/path/to/python3.x picks the interpreter that creates the virtualenv;
# given when the virtualenv was made by another one, the virtualenv is made anew.
VENV="${VENV:-.venv}"
if [ -n "${PYTHON:-}" ]; then
  _venv_python="$PYTHON"
elif [ -x "$VENV/bin/python" ]; then
  _venv_python="$VENV/bin/python"
else
  _venv_python=python3
fi
if ! "$_venv_python" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] < (3, 14))' 2>/dev/null; then
  _found=$("$_venv_python" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo "none")
  echo "error: the build and test tools need Python 3.10 to 3.13, and $_venv_python is $_found; run with PYTHON=/path/to/python3.11 (or remove $VENV if it was made with another Python)" >&2
  exit 2
fi
# which Python this is: its installation and version (a venv reports its base's)
_python_identity='import platform, sys; print(sys.base_prefix, platform.python_version())'
if [ -n "${PYTHON:-}" ] && [ -x "$VENV/bin/python" ]; then
  _wanted=$("$PYTHON" -c "$_python_identity")
  _have=$("$VENV/bin/python" -c "$_python_identity" 2>/dev/null || echo "a Python that no longer runs")
  if [ "$_wanted" != "$_have" ]; then
    echo "== $VENV was made with $_have; making it anew with PYTHON=$PYTHON ($_wanted)" >&2
    rm -rf "$VENV"
  fi
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$_venv_python" -m venv "$VENV"
fi
if ! cmp -s requirements.txt "$VENV/.requirements.installed" 2>/dev/null; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt
  cp requirements.txt "$VENV/.requirements.installed"
fi
