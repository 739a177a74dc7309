# Sourced by ucc_build.sh and run_tests.sh: a virtualenv with requirements.txt,
# reinstalled only when requirements.txt changes. Sets $VENV.
VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$VENV"
fi
if ! cmp -s requirements.txt "$VENV/.requirements.installed" 2>/dev/null; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt
  cp requirements.txt "$VENV/.requirements.installed"
fi
