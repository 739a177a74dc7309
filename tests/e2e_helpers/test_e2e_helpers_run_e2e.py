"""run_e2e.sh with stand-ins for docker and the virtualenv's python: what it runs, in what
order, with which settings, and that it always tears the stack down."""

import os
import re
import stat
import subprocess

import pytest

from e2e import settings

ROOT = settings.ROOT
SCRIPT = os.path.join(ROOT, "run_e2e.sh")

DOCKER = r"""#!/bin/sh
echo "docker $*" >> "$STUB_LOG"
case "$1" in
  info) exit "${STUB_INFO_RC:-0}" ;;
esac
if [ "$1 $2" = "compose version" ]; then exit 0; fi
if [ "$1" = compose ]; then
  case "$6" in  # docker compose -f FILE -p PROJECT <command>
    up) echo "SPLUNK_APPS_URL=$SPLUNK_APPS_URL" >> "$STUB_LOG"
        echo "staged: $(ls "$E2E_APPS_DIR" | tr '\n' ' ')" >> "$STUB_LOG"
        exit "${STUB_UP_RC:-0}" ;;
  esac
fi
exit 0
"""

PYTHON = r"""#!/bin/sh
if [ "$1" = "-c" ]; then exec python3 "$@"; fi
echo "python $*" >> "$STUB_LOG"
case "$*" in
  "-m pip"*) exit 0 ;;
  *tests/knowledge/test_addon.py*) exit "${STUB_PSA_RC:-0}" ;;
  *tests/e2e*) exit "${STUB_E2E_RC:-0}" ;;
esac
exit 0
"""


def _executable(path, text):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def run(tmp_path):
    bin_dir, venv_bin = tmp_path / "bin", tmp_path / "venv" / "bin"
    bin_dir.mkdir()
    venv_bin.mkdir(parents=True)
    _executable(bin_dir / "docker", DOCKER)
    _executable(venv_bin / "python", PYTHON)
    package = tmp_path / "TA-1password-events-9.9.9.tar.gz"
    package.write_bytes(b"not really a package")
    log = tmp_path / "calls.log"

    def go(*args, **env):
        full = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ["PATH"]), VENV=str(tmp_path / "venv"),
                    STUB_LOG=str(log), E2E_SKIP_BUILD="1", E2E_PACKAGE=str(package),
                    E2E_STAGE_DIR=str(tmp_path / "stage"))
        for name in ("CIM_APP_PACKAGE", "SPLUNKBASE_USERNAME", "SPLUNKBASE_PASSWORD", "E2E_KEEP", "SPLUNK_PASSWORD",
                     "SPLUNK_HEC_TOKEN", "SPLUNK_MGMT_PORT", "SPLUNK_HEC_PORT", "SPLUNK_WEB_PORT"):
            full.pop(name, None)
        full.update(env)
        result = subprocess.run(["bash", SCRIPT] + list(args), env=full, capture_output=True, text=True, timeout=60)
        calls = log.read_text().splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return result, calls

    go.stage = tmp_path / "stage"
    go.tmp = tmp_path
    return go


def _index(calls, pattern):
    for number, call in enumerate(calls):
        if re.search(pattern, call):
            return number
    raise AssertionError("no call matches %r in %s" % (pattern, calls))


def test_a_green_run(run):
    result, calls = run("-k", "install")
    assert result.returncode == 0, result.stderr
    compose = "docker compose -f docker-compose.yml -p ta-1password-events-e2e"
    up = _index(calls, "^%s up -d --wait --wait-timeout 1200$" % compose)
    e2e = _index(calls, r"^python -m pytest tests/e2e -ra -k install$")
    psa = _index(calls, r"tests/knowledge/test_addon.py")
    down = _index(calls, "^%s down -v --remove-orphans$" % compose)
    assert up < e2e < psa < down
    assert _index(calls, "^%s logs " % compose) < down
    assert "SPLUNK_APPS_URL=/tmp/e2e-apps/TA-1password-events.tgz" in calls
    assert "staged: TA-1password-events.tgz " in calls
    assert (run.stage / "apps" / "TA-1password-events.tgz").read_bytes() == b"not really a package"
    assert "no CIM app" in result.stderr


def test_the_knowledge_run_is_pytest_splunk_addon_external_with_the_documented_deselections(run):
    _, calls = run()
    psa = calls[_index(calls, r"tests/knowledge/test_addon.py")]
    for part in ("-o addopts= -p plugin -p splunk", "--splunk-type=external", "--splunk-app=output/TA-1password-events",
                 "--splunk-data-generator=tests/knowledge", "--splunk-host=127.0.0.1", "--splunk-port=8089",
                 "--splunk-password=%s" % settings.DEFAULTS["SPLUNK_PASSWORD"],
                 "--splunk-hec-token=%s" % settings.DEFAULTS["SPLUNK_HEC_TOKEN"], "--splunk-hec-port=8088",
                 "--search-index=main", "-m not splunk_searchtime_fields_savedsearches",
                 '--deselect tests/knowledge/test_addon.py::Test_App::test_cim_required_fields'
                 '[eventtype="onepassword_item_usage"::Data_Access::object_size]'):
        assert part in psa, part


def test_failures_are_reported_and_the_stack_still_goes_down(run):
    result, calls = run(STUB_E2E_RC="1")
    assert result.returncode == 1
    assert _index(calls, "tests/knowledge/test_addon.py") < _index(calls, "down -v")
    result, calls = run(STUB_PSA_RC="3")
    assert result.returncode == 3 and _index(calls, "down -v")


def test_a_stack_that_does_not_start_is_torn_down(run):
    result, calls = run(STUB_UP_RC="1")
    assert result.returncode != 0
    assert not [c for c in calls if c.startswith("python -m pytest")]
    assert _index(calls, "down -v --remove-orphans")


def test_keep_leaves_the_stack_up(run):
    result, calls = run(E2E_KEEP="1")
    assert result.returncode == 0
    assert not [c for c in calls if " down " in c]
    assert "stack left running" in result.stdout


def test_the_cim_app_from_a_file_or_splunkbase(run):
    cim = run.tmp / "splunk-common-information-model-cim_620.tgz"
    cim.write_bytes(b"cim")
    _, calls = run(CIM_APP_PACKAGE=str(cim))
    assert "SPLUNK_APPS_URL=/tmp/e2e-apps/TA-1password-events.tgz,/tmp/e2e-apps/Splunk_SA_CIM.tgz" in calls
    assert "staged: Splunk_SA_CIM.tgz TA-1password-events.tgz " in calls
    _, calls = run(SPLUNKBASE_USERNAME="u", SPLUNKBASE_PASSWORD="p")
    assert ("SPLUNK_APPS_URL=/tmp/e2e-apps/TA-1password-events.tgz,"
            "https://splunkbase.splunk.com/app/1621/release/6.2.0/download") in calls


def test_no_engine_no_run(run):
    result, calls = run(STUB_INFO_RC="1")
    assert result.returncode == 2
    assert "no Docker engine reachable" in result.stderr
    assert calls == ["docker info"]


def test_usage_block_and_defaults_match_the_compose_file():
    with open(SCRIPT, encoding="utf-8") as handle:
        text = handle.read()
    head = text.splitlines()[1:6]
    assert all(line.startswith("#") for line in head) and "./run_e2e.sh" in head[2]
    assert os.access(SCRIPT, os.X_OK)
    for name in ("SPLUNK_PASSWORD", "SPLUNK_HEC_TOKEN", "SPLUNK_MGMT_PORT", "SPLUNK_HEC_PORT", "SPLUNK_WEB_PORT"):
        assert re.search(r'%s="\$\{%s:-%s\}"' % (name, name, re.escape(settings.DEFAULTS[name])), text), name
    assert subprocess.run(["bash", "-n", SCRIPT]).returncode == 0
