"""The pytest-splunk-addon samples: current, valid, configured, and covering every API value."""

import json
import os
import re

import pytest

import build_samples
from cim_mapping import ROOT, SOURCETYPES, read_conf

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(ROOT, "samples")
XML_FILES = sorted(name for name in os.listdir(SAMPLES) if name.endswith(".xml"))
ENUMS = json.load(open(os.path.join(HERE, "api_enums.json"), encoding="utf-8"))


def _events(name):
    import xmltodict

    device = xmltodict.parse(open(os.path.join(SAMPLES, name), encoding="utf-8").read())["device"]
    events = device["event"]
    return events if isinstance(events, list) else [events]


def test_samples_are_current():
    built = build_samples.build()
    assert sorted(built) == XML_FILES
    for name, content in built.items():
        assert open(os.path.join(SAMPLES, name), encoding="utf-8").read() == content, (
            "samples/%s is stale: run .venv/bin/python tests/knowledge/build_samples.py" % name)


@pytest.mark.parametrize("name", XML_FILES)
def test_sample_validates_against_the_pytest_splunk_addon_schema(name):
    import pytest_splunk_addon
    from xmlschema import XMLSchema

    schema = os.path.join(os.path.dirname(pytest_splunk_addon.__file__), "sample_generation", "schema.xsd")
    XMLSchema(schema).validate(os.path.join(SAMPLES, name))


def test_data_generator_config_covers_every_sample_with_a_known_sourcetype():
    conf = read_conf(os.path.join(HERE, "pytest-splunk-addon-data.conf"))
    assert sorted(conf) == XML_FILES
    for name, settings in conf.items():
        assert settings["sourcetype"] in SOURCETYPES, name
        assert settings["requirement_test_sample"] == "1"
        assert settings["timestamp_type"] == "event" and settings["token.0.field"] == "_time"
        for event in _events(name):
            assert re.search(settings["token.0.token"], event["raw"]), "%s: no timestamp token in an event" % name
    # the samples are reached from the data generator directory, where pytest-splunk-addon looks
    assert os.path.realpath(os.path.join(HERE, "samples")) == os.path.realpath(SAMPLES)


def _raws(prefix):
    for name in XML_FILES:
        if prefix in name:
            for event in _events(name):
                yield json.loads(event["raw"])


@pytest.mark.parametrize("key, prefix, field", [
    ("signin_category", "signin", "category"), ("signin_type", "signin", "type"),
    ("item_action", "item_usages", "action"), ("audit_action", "audit", "action"),
    ("audit_object_type", "audit", "object_type"),
])
def test_samples_cover_every_api_value(key, prefix, field):
    seen = {event.get(field) for event in _raws(prefix)}
    missing = set(ENUMS[key]) - seen
    assert not missing, "no sample event with %s %s" % (field, sorted(missing))


def test_every_event_states_a_model_and_fields():
    models = set()
    for name in XML_FILES:
        for event in _events(name):
            model = event["cim"]["models"]["model"]
            models.add(model)
            fields = event["cim"]["cim_fields"]["field"]
            names = {field["@name"] for field in (fields if isinstance(fields, list) else [fields])}
            assert {"action", "dest", "src", "user"} <= names, (name, event["@name"])
    assert models == {"Authentication", "Authentication:Privileged_Authentication", "Data_Access", "Change",
                      "Change:Account_Management"}


def test_peer_samples_are_used_and_their_provenance_recorded():
    readme = open(os.path.join(SAMPLES, "README.md"), encoding="utf-8").read()
    peer = sorted(os.listdir(os.path.join(SAMPLES, "peer")))
    assert peer
    used = "".join(open(os.path.join(SAMPLES, name), encoding="utf-8").read() for name in XML_FILES)
    for name in peer:
        assert "`peer/%s`" % name in readme, "samples/README.md does not describe %s" % name
        assert "samples/peer/%s" % name in used, "%s is not in any sample" % name
