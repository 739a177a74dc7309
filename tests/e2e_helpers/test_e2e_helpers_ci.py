"""The GitHub Actions workflow and the unit-test requirements it installs."""

import os
import re
import sys

import pytest
import yaml

from e2e import settings

ROOT = settings.ROOT
WORKFLOW = os.path.join(ROOT, ".github", "workflows", "ci.yml")


@pytest.fixture(scope="module")
def workflow():
    with open(WORKFLOW, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _runs(job):
    return [step["run"] for step in job["steps"] if "run" in step]


def test_it_triggers_on_pushes_and_pull_requests(workflow):
    triggers = workflow.get("on", workflow.get(True))   # YAML 1.1 reads a bare `on` as true
    assert "push" in triggers and "pull_request" in triggers


def test_unit_tests_under_python_39_and_313(workflow):
    job = workflow["jobs"]["unit"]
    assert job["strategy"]["matrix"]["python"] == ["3.9", "3.13"]
    setup = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/setup-python")]
    assert setup and setup[0]["with"]["python-version"] == "${{ matrix.python }}"
    assert "python -m pip install -r tests/requirements-unit.txt" in _runs(job)
    assert any(run.startswith("python -m pytest tests/unit") for run in _runs(job))


def test_the_build_runs_the_appinspect_gate_and_uploads_the_package(workflow):
    job = workflow["jobs"]["build"]
    assert "./ucc_build.sh" in _runs(job)          # no --skip-appinspect: the gate runs
    upload = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert upload and "dist/TA-1password-events-*.tar.gz" in upload[0]["with"]["path"]


def test_the_full_run_has_the_pythons_the_package_tests_load(workflow):
    job = workflow["jobs"]["tests"]
    versions = [s["with"]["python-version"] for s in job["steps"] if "setup-python" in str(s.get("uses", ""))][0]
    assert set(versions.split()) == {"3.9", "3.11", "3.13"}
    assert any(run.startswith("./run_tests.sh") for run in _runs(job))


def test_the_e2e_suite_runs_on_a_runner_with_docker(workflow):
    job = workflow["jobs"]["e2e"]
    assert job["runs-on"] == "ubuntu-latest"
    assert "./run_e2e.sh" in _runs(job) and "docker compose config --quiet" in _runs(job)
    assert job["env"]["SPLUNKBASE_USERNAME"] == "${{ secrets.SPLUNKBASE_USERNAME }}"
    assert job["timeout-minutes"] >= 60
    logs = [s for s in job["steps"] if "upload-artifact" in str(s.get("uses", ""))]
    assert logs and logs[0]["if"] == "always()" and logs[0]["with"]["path"] == "dist/e2e/logs"


def _pins(path):
    pins = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.split("#", 1)[0].strip()
            if line:
                name, _, version = line.partition("==")
                assert version, "unpinned: %s in %s" % (line, path)
                pins[name.lower()] = version
    return pins


def test_unit_requirements_are_pinned_like_the_toolchain():
    unit = _pins(os.path.join(ROOT, "tests", "requirements-unit.txt"))
    full = _pins(os.path.join(ROOT, "requirements.txt"))
    assert {"pytest", "responses", "splunktaucclib", "solnlib", "splunk-sdk", "requests"} <= set(unit)
    for name, version in unit.items():
        assert full.get(name) == version, name


def test_unit_tests_import_nothing_beyond_the_unit_requirements():
    """Third-party imports of tests/unit (and what it shares) are covered by requirements-unit.txt."""
    allowed = {"pytest", "responses", "requests", "splunklib", "splunktaucclib", "solnlib", "urllib3", "socks",
               "onepassword_events", "helpers", "import_declare_test", "onepassword_splunk",
               "onepassword_events_helper", "onepassword_account_validation", "onepassword_input_handler",
               "onepassword_events_cli", "onepassword_review_handler", "simulator", "splunkd_fake",
               "hostile_server"}
    stdlib = set(sys.stdlib_module_names)
    found = set()
    for folder in ("unit", "helpers"):
        for name in os.listdir(os.path.join(ROOT, "tests", folder)):
            if name.endswith(".py"):
                with open(os.path.join(ROOT, "tests", folder, name), encoding="utf-8") as handle:
                    for match in re.finditer(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", handle.read(), re.M):
                        found.add(match.group(1))
    assert found - stdlib - allowed == set()
