#!/usr/bin/env bash
# End-to-end suite against a dockerized Splunk 10 (needs Docker with the compose plugin).
#
#   ./run_e2e.sh                      build the package, start docker-compose.yml, wait until
#                                     Splunk is healthy, run pytest tests/e2e and
#                                     pytest-splunk-addon's knowledge tests (--splunk-type=external),
#                                     tear the stack down (also on failure or Ctrl-C)
#   ./run_e2e.sh -k detections        extra arguments go to pytest tests/e2e
#
# Environment (all optional):
#   CIM_APP_PACKAGE=path.tgz          the Splunk Common Information Model app (Splunk_SA_CIM) to install;
#   SPLUNKBASE_USERNAME/_PASSWORD     or let the image download it from Splunkbase (CIM_VERSION, default 6.2.0).
#                                     Without either, the CIM, detection and rule-panel tests skip.
#   SPLUNK_IMAGE                      default splunk/splunk:10.0.0 (see docker-compose.yml)
#   SPLUNK_PASSWORD, SPLUNK_HEC_TOKEN local-only defaults in docker-compose.yml; set your own elsewhere
#   SPLUNK_MGMT_PORT/WEB_PORT/HEC_PORT host ports on 127.0.0.1 (8089/8000/8088)
#   E2E_KEEP=1                        leave the stack running afterwards (docker compose down -v to remove)
#   E2E_SKIP_BUILD=1                  use the package already in dist/
#   E2E_SKIP_PSA=1                    skip the pytest-splunk-addon run
#   E2E_PACKAGE=path.tar.gz           install this package instead of dist/TA-1password-events-<version>.tar.gz
#   E2E_STAGE_DIR=dir                 where the apps are staged and logs collected (default dist/e2e)
# Logs of a run (compose logs, splunkd's var/log/splunk) land in dist/e2e/logs.
set -euo pipefail
cd "$(dirname "$0")"

ADDON=TA-1password-events
STAGE="${E2E_STAGE_DIR:-dist/e2e}"
case "$STAGE" in /*) ;; *) STAGE="$PWD/$STAGE" ;; esac
export E2E_APPS_DIR="$STAGE/apps"
export SPLUNK_PASSWORD="${SPLUNK_PASSWORD:-E2e-local-only-1}"
export SPLUNK_HEC_TOKEN="${SPLUNK_HEC_TOKEN:-6a1f0b0e-2e2e-4e2e-9e2e-0123456789ab}"
export SPLUNK_MGMT_PORT="${SPLUNK_MGMT_PORT:-8089}" SPLUNK_HEC_PORT="${SPLUNK_HEC_PORT:-8088}"
export SPLUNK_WEB_PORT="${SPLUNK_WEB_PORT:-8000}"
COMPOSE=(docker compose -f docker-compose.yml -p ta-1password-events-e2e)

if ! docker info >/dev/null 2>&1; then
  echo "run_e2e.sh: no Docker engine reachable (docker info failed)" >&2
  exit 2
fi
if ! docker compose version >/dev/null 2>&1; then
  echo "run_e2e.sh: the docker compose plugin is missing" >&2
  exit 2
fi

# -- the package -----------------------------------------------------------------------
if [ "${E2E_SKIP_BUILD:-0}" != 1 ]; then
  ./ucc_build.sh --skip-appinspect
fi
. tools/ensure_venv.sh
VERSION=$("$VENV/bin/python" -c 'import json; print(json.load(open("globalConfig.json"))["meta"]["version"])')
PACKAGE="${E2E_PACKAGE:-dist/$ADDON-$VERSION.tar.gz}"
[ -f "$PACKAGE" ] || { echo "run_e2e.sh: $PACKAGE not found (build first)" >&2; exit 2; }
rm -rf "$STAGE"
mkdir -p "$STAGE/apps" "$STAGE/logs"
cp "$PACKAGE" "$STAGE/apps/$ADDON.tgz"
APPS="/tmp/e2e-apps/$ADDON.tgz"
if [ -n "${CIM_APP_PACKAGE:-}" ]; then
  cp "$CIM_APP_PACKAGE" "$STAGE/apps/Splunk_SA_CIM.tgz"
  APPS="$APPS,/tmp/e2e-apps/Splunk_SA_CIM.tgz"
elif [ -n "${SPLUNKBASE_USERNAME:-}" ] && [ -n "${SPLUNKBASE_PASSWORD:-}" ]; then
  APPS="$APPS,https://splunkbase.splunk.com/app/1621/release/${CIM_VERSION:-6.2.0}/download"
else
  echo "run_e2e.sh: no CIM app (CIM_APP_PACKAGE or SPLUNKBASE_USERNAME/SPLUNKBASE_PASSWORD): CIM-dependent tests will skip" >&2
fi
export SPLUNK_APPS_URL="$APPS"
chmod -R a+rX "$STAGE/apps"

# -- the stack ---------------------------------------------------------------------------
teardown() {
  local rc=$?
  trap - EXIT INT TERM
  "${COMPOSE[@]}" logs --no-color --timestamps >"$STAGE/logs/compose.log" 2>&1 || true
  "${COMPOSE[@]}" cp splunk:/opt/splunk/var/log/splunk "$STAGE/logs/splunk" >/dev/null 2>&1 || true
  if [ "${E2E_KEEP:-0}" = 1 ]; then
    echo "== E2E_KEEP=1: stack left running (docker compose down -v to remove it)"
  else
    "${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
  fi
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

echo "== starting the stack (${SPLUNK_IMAGE:-splunk/splunk:10.0.0}); Splunk provisioning takes a few minutes"
"${COMPOSE[@]}" up -d --wait --wait-timeout "${E2E_START_TIMEOUT:-1200}"

# -- the suites --------------------------------------------------------------------------
rc=0
echo "== pytest tests/e2e"
"$VENV/bin/python" -m pytest tests/e2e -ra "$@" || rc=$?

if [ "${E2E_SKIP_PSA:-0}" != 1 ]; then
  echo "== pytest-splunk-addon knowledge tests (--splunk-type=external)"
  # Deselected (tests/knowledge/README.md, docs/detections.md): the generated saved-search
  # test cannot run correlation rules; Data Access's object_size is not in the Events API.
  PYTHONPATH=tests/knowledge/cim_models_shim "$VENV/bin/python" -m pytest -o addopts="" -p plugin -p splunk \
    -p no:cacheprovider -ra tests/knowledge/test_addon.py \
    --splunk-app="output/$ADDON" --splunk-data-generator=tests/knowledge --splunk-type=external \
    --splunk-host=127.0.0.1 --splunk-port="$SPLUNK_MGMT_PORT" --splunk-user=admin \
    --splunk-password="$SPLUNK_PASSWORD" --splunk-hec-token="$SPLUNK_HEC_TOKEN" \
    --splunk-hec-port="$SPLUNK_HEC_PORT" --splunkweb-port="$SPLUNK_WEB_PORT" --search-index=main \
    -m "not splunk_searchtime_fields_savedsearches" \
    --deselect 'tests/knowledge/test_addon.py::Test_App::test_cim_required_fields[eventtype="onepassword_item_usage"::Data_Access::object_size]' \
    || rc=$?
fi
exit "$rc"
