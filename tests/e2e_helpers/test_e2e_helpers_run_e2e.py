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

CURL = r"""#!/bin/sh
echo "curl $*" >> "$STUB_LOG"
case "$*" in
  *account:login*) [ -n "${STUB_TOKEN:-}" ] || exit 22
                   echo "<feed><id>$STUB_TOKEN</id></feed>" ;;
  *download*)
    out=""; prev=""
    for arg in "$@"; do [ "$prev" = "-o" ] && out="$arg"; prev="$arg"; done
    case "${STUB_DOWNLOAD:-gzip}" in
      gzip) printf '\037\213cim' > "$out" ;;
      html) printf '<html>login</html>' > "$out" ;;
      fail) exit 22 ;;
    esac ;;
esac
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
    _executable(bin_dir / "curl", CURL)
    _executable(venv_bin / "python", PYTHON)
    package = tmp_path / "TA-1password-events-9.9.9.tar.gz"
    package.write_bytes(b"not really a package")
    log = tmp_path / "calls.log"

    def go(*args, **env):
        full = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ["PATH"]), VENV=str(tmp_path / "venv"),
                    STUB_LOG=str(log), E2E_SKIP_BUILD="1", E2E_PACKAGE=str(package),
                    E2E_STAGE_DIR=str(tmp_path / "stage"), E2E_SUMMARY_FILE=str(tmp_path / "summary.md"))
        for name in ("CIM_APP_PACKAGE", "SPLUNKBASE_USERNAME", "SPLUNKBASE_PASSWORD", "E2E_KEEP", "SPLUNK_PASSWORD",
                     "SPLUNK_HEC_TOKEN", "SPLUNK_MGMT_PORT", "SPLUNK_HEC_PORT", "SPLUNK_WEB_PORT", "GITHUB_STEP_SUMMARY",
                     "CIM_VERSION", "E2E_START_TIMEOUT"):
            full.pop(name, None)
        full.update(env)
        result = subprocess.run(["bash", SCRIPT] + list(args), env=full, capture_output=True, text=True, timeout=60)
        calls = log.read_text().splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return result, calls

    go.stage = tmp_path / "stage"
    go.tmp = tmp_path
    go.summary = tmp_path / "summary.md"
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
    up = _index(calls, "^%s up -d --wait --wait-timeout 900$" % compose)
    e2e = _index(calls, r"^python -m pytest tests/e2e -ra -k install$")
    psa = _index(calls, r"tests/knowledge/test_addon.py")
    down = _index(calls, "^%s down -v --remove-orphans$" % compose)
    assert up < e2e < psa < down
    assert _index(calls, "^%s logs " % compose) < down
    assert "SPLUNK_APPS_URL=/tmp/e2e-apps/TA-1password-events.tgz" in calls
    assert "staged: TA-1password-events.tgz " in calls
    assert (run.stage / "apps" / "TA-1password-events.tgz").read_bytes() == b"not really a package"
    assert "no CIM app" in result.stderr
    summary = run.summary.read_text()
    assert "CIM app: not installed" in summary and "no CIM app given" in summary
    assert "-m not splunk_searchtime_fields_savedsearches and not splunk_searchtime_cim " in calls[psa]


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


def test_the_cim_app_from_a_file(run):
    cim = run.tmp / "splunk-common-information-model-cim_640.tgz"
    cim.write_bytes(b"cim")
    _, calls = run(CIM_APP_PACKAGE=str(cim))
    assert "SPLUNK_APPS_URL=/tmp/e2e-apps/TA-1password-events.tgz,/tmp/e2e-apps/Splunk_SA_CIM.tgz" in calls
    assert "staged: Splunk_SA_CIM.tgz TA-1password-events.tgz " in calls
    assert "- CIM app: installed" in run.summary.read_text()
    psa = calls[_index(calls, r"tests/knowledge/test_addon.py")]
    assert "splunk_searchtime_cim" not in psa


def test_the_cim_app_from_splunkbase_is_fetched_before_the_stack_starts(run):
    result, calls = run(SPLUNKBASE_USERNAME="u", SPLUNKBASE_PASSWORD="p", STUB_TOKEN="tok123")
    assert result.returncode == 0, result.stderr
    login = _index(calls, r"^curl .*https://splunkbase.splunk.com/api/account:login/")
    download = _index(calls, r"^curl .*-H X-Auth-Token: tok123 .*https://splunkbase.splunk.com/app/1621/release/6.4.0/download/")
    assert login < download < _index(calls, " up -d ")
    # the image never talks to Splunkbase itself: it installs the staged file
    assert "SPLUNK_APPS_URL=/tmp/e2e-apps/TA-1password-events.tgz,/tmp/e2e-apps/Splunk_SA_CIM.tgz" in calls
    assert "- CIM app: installed" in run.summary.read_text()


@pytest.mark.parametrize("env, reason", [
    ({"STUB_TOKEN": ""}, "the Splunkbase login failed"),
    ({"STUB_TOKEN": "tok", "STUB_DOWNLOAD": "fail"}, "the download of CIM 6.4.0 from Splunkbase failed"),
    ({"STUB_TOKEN": "tok", "STUB_DOWNLOAD": "html"}, "Splunkbase did not return a CIM package"),
])
def test_a_splunkbase_failure_skips_only_the_cim_tests_and_says_so(run, env, reason):
    result, calls = run(SPLUNKBASE_USERNAME="u", SPLUNKBASE_PASSWORD="p", **env)
    assert result.returncode == 0, result.stderr
    assert "SPLUNK_APPS_URL=/tmp/e2e-apps/TA-1password-events.tgz" in calls, "the stack starts without the CIM app"
    assert not (run.stage / "apps" / "Splunk_SA_CIM.tgz").exists()
    assert _index(calls, r"^python -m pytest tests/e2e ")
    assert "not splunk_searchtime_cim" in calls[_index(calls, r"tests/knowledge/test_addon.py")]
    assert reason in result.stderr
    summary = run.summary.read_text()
    assert "CIM app: not installed" in summary and reason in summary


def test_no_engine_no_run(run):
    result, calls = run(STUB_INFO_RC="1")
    assert result.returncode == 2
    assert "no Docker engine reachable" in result.stderr
    assert calls == ["docker info"]


def _defaults(text):
    return {name: value for name, value in re.findall(r'\$\{([A-Z0-9_]+):-([^}]*)\}', text)}


def test_every_setting_the_script_reads_is_in_its_usage_block():
    text = open(SCRIPT, encoding="utf-8").read()
    usage = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    read = set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)(?::-[^}]*)?\}", text)) - {"VENV", "GITHUB_STEP_SUMMARY"}
    read -= {"ADDON", "STAGE", "PACKAGE", "VERSION", "APPS", "CIM_NOTE", "MARKS", "COMPOSE", "BUILD_TIMEOUT",
             "CIM_TIMEOUT", "START_TIMEOUT", "SUITE_TIMEOUT", "PSA_TIMEOUT", "TEARDOWN_TIMEOUT", "E2E_APPS_DIR"}
    missing = {name for name in read if not re.search(r"\b%s\b" % name, usage)}
    assert missing == set(), missing
    assert "E2E_START_TIMEOUT" in usage


def test_the_worst_case_fits_the_workflow_time_limit():
    """Every step is bounded (timeout, --wait-timeout); their defaults plus 5 minutes for
    checkout and setup stay within the e2e job's timeout-minutes in ci.yml."""
    import yaml

    text = open(SCRIPT, encoding="utf-8").read()
    defaults = _defaults(text)
    steps = ("E2E_BUILD_TIMEOUT", "E2E_CIM_TIMEOUT", "E2E_START_TIMEOUT", "E2E_SUITE_TIMEOUT", "E2E_PSA_TIMEOUT",
             "E2E_TEARDOWN_TIMEOUT")
    total = sum(int(defaults[name]) for name in steps) + 60 * 2  # timeout --kill-after of the two suites
    workflow = yaml.safe_load(open(os.path.join(ROOT, ".github", "workflows", "ci.yml"), encoding="utf-8"))
    limit = workflow["jobs"]["e2e"]["timeout-minutes"] * 60
    assert total + 300 <= limit, (total, limit)
    assert re.search(r'timeout "\$BUILD_TIMEOUT" \./ucc_build\.sh', text)
    assert re.search(r'up -d --wait --wait-timeout "\$START_TIMEOUT"', text)
    assert re.search(r'timeout --signal=INT --kill-after=60 "\$SUITE_TIMEOUT" "\$VENV/bin/python" -m pytest tests/e2e', text)
    assert re.search(r'timeout --signal=INT --kill-after=60 "\$PSA_TIMEOUT"', text)
    assert text.count('timeout "$TEARDOWN_TIMEOUT"') == 3


def test_usage_block_and_defaults_match_the_compose_file():
    with open(SCRIPT, encoding="utf-8") as handle:
        text = handle.read()
    head = text.splitlines()[1:6]
    assert all(line.startswith("#") for line in head) and "./run_e2e.sh" in head[2]
    assert os.access(SCRIPT, os.X_OK)
    for name in ("SPLUNK_PASSWORD", "SPLUNK_HEC_TOKEN", "SPLUNK_MGMT_PORT", "SPLUNK_HEC_PORT", "SPLUNK_WEB_PORT"):
        assert re.search(r'%s="\$\{%s:-%s\}"' % (name, name, re.escape(settings.DEFAULTS[name])), text), name
    assert subprocess.run(["bash", "-n", SCRIPT]).returncode == 0


def test_the_error_lines_the_scenarios_inject_are_the_ones_pytest_splunk_addon_ignores(run):
    """The collector-health scenarios write log_level=ERROR lines on purpose; the knowledge run's
    internal-errors test is told to ignore exactly those (a phrase no real input line has)."""
    import sys

    sys.path.insert(0, os.path.join(ROOT, "samples", "scenarios"))
    import replay

    phrases = [line.strip() for line in open(os.path.join(ROOT, "tests", "e2e", "psa_ignore_errors.txt"),
                                              encoding="utf-8") if line.strip()]
    injected = [line for rule_id, variant, _ in replay.variants()
                for text in replay.materialize(rule_id, variant, now=1767225600).log_files().values()
                for line in text.splitlines() if "log_level=ERROR" in line]
    assert phrases and injected
    assert all(any(phrase in line for phrase in phrases) for line in injected)
    helper = open(os.path.join(ROOT, "package", "bin", "onepassword_events_helper.py"), encoding="utf-8").read()
    assert not any(phrase in helper for phrase in phrases), "a real input line could carry the phrase"
    _, calls = run()
    assert "--ignore-addon-errors=tests/e2e/psa_ignore_errors.txt" in calls[_index(calls, "tests/knowledge/test_addon.py")]
