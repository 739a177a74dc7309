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


def _runs(workflow):
    return [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]


def test_every_script_and_file_the_workflow_runs_exists(workflow):
    """A script or requirements file renamed in the repository but not in ci.yml (CI would fail only on GitHub) fails."""
    named = set()
    for run in _runs(workflow):
        named.update(re.findall(r"(?:^|\s)\./([\w./-]+)", run))                      # ./run_tests.sh
        named.update(re.findall(r"-r\s+([\w./-]+)", run))                            # pip install -r file
        named.update(re.findall(r"pytest\s+((?:tests|bench)/[\w./-]*)", run))        # pytest tests/unit
    assert named, "no script found in the workflow's run steps"
    for path in named:
        assert os.path.exists(os.path.join(ROOT, path)), path
        if path.endswith(".sh"):
            assert os.access(os.path.join(ROOT, path), os.X_OK), "%s is not executable" % path


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
    allowed = {"pytest", "responses", "requests", "splunklib", "splunktaucclib", "solnlib", "urllib3", "socks"}
    stdlib = set(sys.stdlib_module_names)
    ours = set()  # modules and packages of this repository (the add-on's bin/, the test folders)
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("output", "dist", "node_modules", "lib")]
        ours.update(name[:-3] for name in files if name.endswith(".py"))
        ours.update(d for d in dirs if os.path.exists(os.path.join(folder, d, "__init__.py")))
    found = set()
    for folder in ("unit", "helpers"):
        for name in os.listdir(os.path.join(ROOT, "tests", folder)):
            if name.endswith(".py"):
                with open(os.path.join(ROOT, "tests", folder, name), encoding="utf-8") as handle:
                    for match in re.finditer(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", handle.read(), re.M):
                        found.add(match.group(1))
    assert found - stdlib - ours - allowed == set()
