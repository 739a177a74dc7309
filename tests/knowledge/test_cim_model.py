"""Eventtypes reach exactly one CIM data model, and every field the add-on sets is a field
of that model (from the CIM definitions pytest-splunk-addon ships) or a documented add-on
field (docs/fields.md, section "Add-on fields")."""

import json
import os
import re

import pytest

from cim_mapping import AUDIT, ITEM, PACKAGE, ROOT, SIGNIN, read_conf

# Importing pytest-splunk-addon's CIM modules registers marks its plugin would declare.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")

MODEL_OF_SOURCETYPE = {SIGNIN: "Authentication", ITEM: "Data_Access", AUDIT: "Change"}
EXPECTED_DATASETS = {
    "onepassword_signin": ("Authentication", "Authentication"),
    "onepassword_signin_privileged": ("Authentication", "Privileged_Authentication"),
    "onepassword_item_usage": ("Data_Access", "Data_Access"),
    "onepassword_audit_account": ("Change", "Account_Management"),
    "onepassword_audit_change": ("Change", "All_Changes"),
}


def _cim_paths():
    import splunk_cim_models

    return splunk_cim_models.DATA_MODELS_PATH, splunk_cim_models.COMMON_FIELDS_PATH


def _model_fields(model):
    path = os.path.join(_cim_paths()[0], model + ".json")
    names = set()

    def walk(obj):
        names.update(field["name"] for field in obj.get("fields", []))
        for child in obj.get("child_dataset", []):
            walk(child)

    for obj in json.load(open(path, encoding="utf-8"))["objects"]:
        walk(obj)
    return names


def _addon_fields():
    text = open(os.path.join(ROOT, "docs", "fields.md"), encoding="utf-8").read()
    section = text.split("## Add-on fields", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE))


def _assigned_fields():
    """{sourcetype: {field: setting}} for every FIELDALIAS target, EVAL and LOOKUP output."""
    props = read_conf(os.path.join(PACKAGE, "default", "props.conf"))
    assigned = {}
    for sourcetype in MODEL_OF_SOURCETYPE:
        fields = {}
        for key, value in props[sourcetype].items():
            if key.startswith("EVAL-"):
                fields[key[5:]] = key
            elif key.startswith("FIELDALIAS-"):
                for target in re.findall(r"\S+\s+AS\s+(\S+)", value, re.IGNORECASE):
                    fields[target] = key
            elif key.startswith("LOOKUP-"):
                outputs = re.split(r"\bOUTPUT(?:NEW)?\b", value)[1]
                tokens = outputs.replace(",", " ").split()
                index = 0
                while index < len(tokens):
                    if index + 2 < len(tokens) and tokens[index + 1].upper() == "AS":
                        fields[tokens[index + 2]] = key
                        index += 3
                    else:
                        fields[tokens[index]] = key
                        index += 1
        assigned[sourcetype] = fields
    return assigned


def test_each_eventtype_maps_to_exactly_one_data_model_and_the_intended_dataset():
    from pytest_splunk_addon.addon_parser import AddonParser
    from pytest_splunk_addon.cim_tests import DataModelHandler

    handler = DataModelHandler(_cim_paths()[0])
    mapped = {}
    for stanza, lineage in handler.get_mapped_data_models(AddonParser(PACKAGE)):
        eventtype = stanza.split("=", 1)[1].strip('"')
        mapped.setdefault(eventtype, []).append(lineage[-1])
    assert set(mapped) == set(EXPECTED_DATASETS), "every eventtype reaches a data model"
    for eventtype, datasets in mapped.items():
        models = {str(dataset.data_model) for dataset in datasets}
        assert len(models) == 1, "%s maps to %s" % (eventtype, models)
        model, dataset = EXPECTED_DATASETS[eventtype]
        assert models == {model}, eventtype
        assert dataset in {dataset.name for dataset in datasets}, (eventtype, [d.name for d in datasets])


def test_every_assigned_field_is_a_cim_field_of_its_model_or_a_documented_addon_field():
    addon = _addon_fields()
    assert {"src_ip", "change_dataset"} <= addon, "docs/fields.md lists the add-on fields"
    used_addon = set()
    for sourcetype, fields in _assigned_fields().items():
        allowed = _model_fields(MODEL_OF_SOURCETYPE[sourcetype])
        for field, setting in fields.items():
            assert field in allowed or field in addon, (
                "%s %s sets %s, neither a %s field nor documented in docs/fields.md"
                % (sourcetype, setting, field, MODEL_OF_SOURCETYPE[sourcetype]))
            if field not in allowed:
                used_addon.add(field)
    assert used_addon == addon, "docs/fields.md lists add-on fields nobody sets: %s" % (addon - used_addon)


def test_no_field_that_only_enterprise_security_may_set():
    common = json.load(open(_cim_paths()[1], encoding="utf-8"))["fields"]
    forbidden = {field["name"] for field in common if "props" in field["type"]}
    assert "user_category" in forbidden
    for sourcetype, fields in _assigned_fields().items():
        assert not forbidden & set(fields), (sourcetype, forbidden & set(fields))


@pytest.mark.parametrize("sourcetype", sorted(MODEL_OF_SOURCETYPE))
def test_required_cim_fields_are_all_set(sourcetype):
    """Every field the model requires is set for every event (object_size excepted: the
    API has no item size, see docs/fields.md)."""
    path = os.path.join(_cim_paths()[0], MODEL_OF_SOURCETYPE[sourcetype] + ".json")
    root = json.load(open(path, encoding="utf-8"))["objects"][0]
    required = {field["name"] for field in root["fields"] if field["type"] == "required"}
    assert required, path
    missing = required - set(_assigned_fields()[sourcetype]) - {"object_size"}
    assert not missing, "%s does not set required %s fields %s" % (sourcetype, MODEL_OF_SOURCETYPE[sourcetype], missing)


def test_docs_describe_every_field_and_macro():
    text = open(os.path.join(ROOT, "docs", "fields.md"), encoding="utf-8").read()
    for fields in _assigned_fields().values():
        for field in fields:
            assert "`%s`" % field in text, "docs/fields.md does not mention %s" % field
    # detection thresholds, windows and filters are documented with their rules
    docs = text + open(os.path.join(ROOT, "docs", "detections.md"), encoding="utf-8").read()
    for macro in read_conf(os.path.join(PACKAGE, "default", "macros.conf")):
        assert "`%s`" % macro in docs, "%s is in neither docs/fields.md nor docs/detections.md" % macro
