#!/usr/bin/env bash
# Mutation testing of the collector core (package/bin/onepassword_events/) with mutmut
# (pinned in tools/requirements-mutants.txt): each mutant is one small change to the code
# (a flipped comparison, a changed number, a dropped call); a unit test must fail for it.
#
#   tools/mutants.sh                          every module, against the fast unit tests
#   tools/mutants.sh retry.py redaction.py    those modules only
#   TESTS="tests/unit/test_client.py" tools/mutants.sh retry.py   against those tests only
#
# It works in a copy of the repository (under $MUTANTS_DIR, default /tmp), so an
# interrupted run never leaves a mutant in the working tree; the test command runs with
# the project's .venv (made by tools/ensure_venv.sh). Prints the score and every survivor
# with its diff; `cd $MUTANTS_DIR/repo && $VENV_MUTANTS/bin/mutmut show ID` shows one again, once the run
# has ended: during it, `mutmut show` re-reads the source with a mutant applied into the cache, and the run
# then stops with "Attribute Mutant.line is required".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
. tools/ensure_venv.sh
VENV_MUTANTS="$ROOT/.venv-mutants"
if ! cmp -s tools/requirements-mutants.txt "$VENV_MUTANTS/.requirements.installed" 2>/dev/null; then
  "$VENV/bin/python" -m venv "$VENV_MUTANTS"
  "$VENV_MUTANTS/bin/python" -m pip install --quiet --disable-pip-version-check -r tools/requirements-mutants.txt
  cp tools/requirements-mutants.txt "$VENV_MUTANTS/.requirements.installed"
fi

CORE=package/bin/onepassword_events
paths=()
for module in "$@"; do
  [ -f "$CORE/$module" ] || { echo "error: no module $CORE/$module" >&2; exit 2; }
  paths+=("$CORE/$module")
done
[ ${#paths[@]} -gt 0 ] || paths=("$CORE/")
TESTS="${TESTS:-tests/unit}"

MUTANTS_DIR="${MUTANTS_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/mutants-XXXXXX")}"
mkdir -p "$MUTANTS_DIR/repo"
# the sources and tests only: not the virtualenvs, the build or node_modules
tar -C "$ROOT" --exclude=./.venv --exclude=./.venv-mutants --exclude=./output --exclude=./dist \
    --exclude=node_modules --exclude=__pycache__ --exclude=./.git --exclude=.mutmut-cache -cf - . \
  | tar -C "$MUTANTS_DIR/repo" -xf -
cd "$MUTANTS_DIR/repo"
# -x: the first failing test kills the mutant; the fast lane's markers: no build, browser or slow test.
# mutmut 2.4 counts only exit status 1 as a failed run: a mutant that breaks the module's import stops
# pytest with status 2 (an error while collecting), which it would count as a survivor; so every
# unsuccessful pytest status becomes 1 (in the same process, so mutmut's timeout still ends it).
python=$(cd "$ROOT" && cd "$VENV" && pwd)/bin/python
runner="$python -c 'import sys, pytest; sys.exit(1 if pytest.main(sys.argv[1:]) else 0)'"
runner="$runner -x -q -p no:cacheprovider -m 'not slow and not browser and not build' $TESTS"
echo "== mutating ${paths[*]} in $MUTANTS_DIR/repo; tests: $TESTS" >&2
status=0
"$VENV_MUTANTS/bin/mutmut" run --paths-to-mutate "$(IFS=,; echo "${paths[*]}")" --tests-dir tests \
  --runner "$runner" --simple-output --no-progress || status=$?
"$VENV_MUTANTS/bin/mutmut" results || true
# the score: killed (also slowly, "suspicious", or by a timeout) over all mutants mutmut ran
"$VENV_MUTANTS/bin/python" - <<'PY'
import sqlite3
rows = dict(sqlite3.connect(".mutmut-cache").execute(
    "select status, count(*) from Mutant group by status").fetchall())
total = sum(rows.values())
killed = rows.get("ok_killed", 0) + rows.get("ok_suspicious", 0) + rows.get("bad_timeout", 0)
print(f"mutation score: {killed}/{total} killed ({100 * killed / max(total, 1):.1f}%); {rows}")
PY
for id in $("$VENV_MUTANTS/bin/mutmut" result-ids survived 2>/dev/null); do
  "$VENV_MUTANTS/bin/mutmut" show "$id"
done
# mutmut's exit status: 2 when a mutant survived
exit $(( status & 2 ))
