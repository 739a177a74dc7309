"""pytest-splunk-addon generates its knowledge tests from the package and samples/.

Runs pytest-splunk-addon's collection (no Splunk needed) in a subprocess, with its plugins
on (pytest.ini turns them off for the main run), and checks that it generates the tests the
dockerized run will execute: one requirement test per sample event, eventtype and tag
tests for every eventtype, CIM tests for every mapped dataset, index-time tests.
"""

import os
import re
import subprocess
import sys
from collections import Counter

import pytest

from cim_mapping import PACKAGE, ROOT, read_conf
from test_samples import XML_FILES, _events

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.join(HERE, "cim_models_shim"), env.get("PYTHONPATH")]))
    workdir = tmp_path_factory.mktemp("psa")  # PSA writes its logs to the working directory
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-o", "addopts=", "-p", "plugin",
               "-p", "splunk", "-p", "no:cacheprovider", "--rootdir", str(workdir),
               os.path.join(HERE, "test_addon.py"), "--splunk-app=" + PACKAGE,
               "--splunk-data-generator=" + HERE]
    result = subprocess.run(command, cwd=str(workdir), env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    ids = [line for line in result.stdout.splitlines() if "::" in line]
    total = re.search(r"(\d+) tests? collected", result.stdout)
    assert total and int(total.group(1)) == len(ids) > 0, result.stdout[-2000:]
    return ids


def _count(ids, test):
    return Counter(line.split("::")[2].split("[")[0] for line in ids)[test]


def test_one_requirement_and_datamodel_test_per_sample_event(collected):
    events = sum(len(_events(name)) for name in XML_FILES)
    assert events >= 50
    assert _count(collected, "test_requirements_fields") == events
    assert _count(collected, "test_datamodels") == events
    assert _count(collected, "test_cim_fields_recommended") == events
    assert _count(collected, "test_indextime_time") == events
    for name in XML_FILES:
        assert any("test_requirements_fields" in line and name in line for line in collected), name


def test_eventtype_tag_and_cim_tests_for_every_eventtype(collected):
    eventtypes = read_conf(os.path.join(PACKAGE, "default", "eventtypes.conf"))
    for eventtype in eventtypes:
        assert any("test_eventtype[eventtype::%s]" % eventtype in line for line in collected), eventtype
        assert any("test_cim_required_fields" in line and '"%s"' % eventtype in line for line in collected), eventtype
    for dataset in ("Privileged_Authentication", "Data_Access", "Account_Management", "Accounts_Created",
                    "Account_Lockouts", "All_Changes::user"):
        assert any("test_cim_required_fields" in line and "::%s" % dataset in line for line in collected), dataset
    assert _count(collected, "test_tags") >= len(eventtypes)
    assert _count(collected, "test_props_fields") > 50
    assert _count(collected, "test_eventtype_mapped_multiple_cim_datamodel") == 1
    assert _count(collected, "test_indextime_line_breaker") == len(XML_FILES)
