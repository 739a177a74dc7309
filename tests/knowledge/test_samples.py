"""The pytest-splunk-addon samples: their expected values are written by hand (samples/README.md)
from the Events API's documented fields, the peers' expected outputs and docs/fields.md. Here
the offline evaluator of the package's props, lookups, eventtypes and tags (cim_mapping.py,
spl_eval.py) is checked against them; the dockerized pytest-splunk-addon run checks Splunk
against them. Also: valid, configured, covering every dataset, every peer sample used."""

import json
import os
import re

import pytest

from cim_mapping import Mapping, ROOT, SOURCETYPES, read_conf

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(ROOT, "samples")
XML_FILES = sorted(name for name in os.listdir(SAMPLES) if name.endswith(".xml"))


def _events(name):
    import xmltodict

    device = xmltodict.parse(open(os.path.join(SAMPLES, name), encoding="utf-8").read())["device"]
    events = device["event"]
    return events if isinstance(events, list) else [events]


MAPPING = Mapping()
DATA_CONF = read_conf(os.path.join(HERE, "pytest-splunk-addon-data.conf"))


def _fields(fields):
    if not fields:
        return {}
    fields = fields["field"]
    return {field["@name"]: field["@value"] for field in (fields if isinstance(fields, list) else [fields])}


def _sample_events():
    for name in XML_FILES:
        for number, event in enumerate(_events(name), 1):
            yield pytest.param(name, event, id="%s#%d" % (name, number))


@pytest.mark.parametrize("name, event", list(_sample_events()))
def test_the_evaluator_gives_the_hand_written_values(name, event):
    """Every value written in the sample is what the package's knowledge objects give, the
    data model is the one written, and no CIM field of that model the add-on sets is left
    out of the sample (so Splunk is checked for all of them)."""
    settings = DATA_CONF[name]
    fields = MAPPING.fields(settings["sourcetype"], event["raw"], source=settings["source"])
    cim = _fields(event["cim"]["cim_fields"])
    other = _fields(event.get("other_mappings"))
    written = dict(other, **cim)
    wrong = {key: (value, fields.get(key)) for key, value in written.items() if fields.get(key) != value}
    assert wrong == {}, "field: (written by hand, evaluator)"
    model = MAPPING.model(settings["sourcetype"], fields)
    assert event["cim"]["models"]["model"] == model
    model_fields = _model_fields(model)
    left_out = sorted(key for key in fields if key in model_fields and key not in cim)
    assert left_out == [], "CIM fields the add-on sets that the sample does not state"


def _model_fields(model):
    """Fields of the model's root dataset and of the named child datasets ("Change:Account_Management")."""
    import pytest_splunk_addon

    name, *datasets = model.split(":")
    path = os.path.join(os.path.dirname(pytest_splunk_addon.__file__), "data_models", name + ".json")
    names = set()

    def find(obj, wanted):
        if obj.get("name") == wanted:
            return obj
        for child in obj.get("child_dataset", []):
            found = find(child, wanted)
            if found:
                return found
        return None

    for root in json.load(open(path, encoding="utf-8"))["objects"]:
        names.update(field["name"] for field in root.get("fields", []))
        for dataset in datasets:
            found = find(root, dataset)
            names.update(field["name"] for field in (found or {}).get("fields", []))
    return names


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


def test_samples_reach_every_eventtype_and_dataset():
    """Each mechanism is checked in Splunk: every eventtype, Account_Management's created,
    deleted and modified accounts (an administrator's suspension is a modification, not a
    lockout: 1Password has no lockout event), Privileged_Authentication."""
    eventtypes, actions = set(), set()
    for name in XML_FILES:
        sourcetype = DATA_CONF[name]["sourcetype"]
        for event in _events(name):
            fields = MAPPING.fields(sourcetype, event["raw"], source=DATA_CONF[name]["source"])
            eventtypes |= set(MAPPING.eventtypes(sourcetype, fields))
            if event["cim"]["models"]["model"] == "Change:Account_Management":
                actions.add(fields.get("result") or fields["action"])
    assert eventtypes == set(read_conf(os.path.join(ROOT, "package", "default", "eventtypes.conf")))
    assert {"created", "deleted", "modified"} <= actions and "lockout" not in actions


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
