"""samples/scenarios: one attack variant that must fire and one benign twin that must not per
rule; every record and every replayed event validates against its JSON schema; fixtures name
real lookups (with their columns) and macros; every event lies inside its rule's dispatch
range for any "now" (snapping included)."""

import json
import os

import jsonschema
import pytest

import detections_lib as lib
import replay

MANIFEST = lib.manifest()
RULES = lib.rules()
BASELINES = lib.baselines()
SEED_EARLIEST = "-30d"  # tests/e2e/scenario_runner.py seeds baselines over the last 30 days
VARIANTS = [(rule_id, spec["name"]) for rule_id, rule in MANIFEST["rules"].items() for spec in rule["variants"]]
ITEM_SCHEMA = {"signin": "signin_attempt", "item": "item_usage", "audit": "audit_event", "log": "input_log"}


def _schema(name):
    with open(os.path.join(lib.SCHEMAS, name + ".schema.json"), encoding="utf-8") as handle:
        schema = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _variant(rule_id, name):
    return next(v for v in MANIFEST["rules"][rule_id]["variants"] if v["name"] == name)


def test_manifest_is_valid():
    _schema("manifest").validate(MANIFEST)


def test_every_rule_has_a_scenario_pair_and_every_scenario_a_rule():
    by_id = {lib.rule_id(spec["search"]): name for name, spec in RULES.items()}
    assert set(MANIFEST["rules"]) == set(by_id), set(MANIFEST["rules"]) ^ set(by_id)
    for rule_id, rule in MANIFEST["rules"].items():
        assert rule["savedsearch"] == by_id[rule_id]
        expects = [v["expect"] for v in rule["variants"]]
        assert "fire" in expects and "silent" in expects, rule_id
        names = [v["name"] for v in rule["variants"]]
        assert "attack" in names and "benign" in names and len(names) == len(set(names)), rule_id


def test_no_orphan_scenario_files():
    listed = {v["file"] for rule in MANIFEST["rules"].values() for v in rule["variants"]}
    found = set()
    for directory in os.listdir(lib.SCENARIOS):
        path = os.path.join(lib.SCENARIOS, directory)
        if os.path.isdir(path) and directory not in ("schemas", "__pycache__"):
            found |= {directory + "/" + name for name in os.listdir(path)}
    assert found == listed, found ^ listed


@pytest.mark.parametrize("rule_id,variant", VARIANTS)
def test_records_validate(rule_id, variant):
    validator = _schema("scenario_record")
    for record in replay.read_records(os.path.join(lib.SCENARIOS, _variant(rule_id, variant)["file"])):
        record = {k: v for k, v in record.items() if k != "_line"}
        validator.validate(record)
        replay.relative_time(lib.BASE_NOW, record["offset"])
        if "repeat" in record:
            replay.duration_seconds(record["repeat"]["every"])


@pytest.mark.parametrize("rule_id,variant", VARIANTS)
def test_replayed_events_validate_against_their_event_type_schema(rule_id, variant):
    validators = {kind: _schema(name) for kind, name in ITEM_SCHEMA.items()}
    for now in lib.NOWS[:3]:
        run = replay.materialize(rule_id, variant, now=now)
        assert run.events
        for event in run.events:
            if event["type"] == "log":
                validators["log"].validate({k: event[k] for k in ("input", "level", "message")})
            else:
                validators[event["type"]].validate(event["item"])
        uuids = [e["item"]["uuid"] for e in run.events if e["type"] != "log"]
        assert len(uuids) == len(set(uuids))


@pytest.mark.parametrize("rule_id,variant", VARIANTS)
def test_fixtures_name_real_lookups_columns_and_macros(rule_id, variant):
    spec = _variant(rule_id, variant)
    transforms = lib.transforms()
    macros = lib.macros()
    for lookup, rows in spec.get("lookups", {}).items():
        header = lib.lookup_columns(lookup)
        for row in rows:
            assert list(row) == header, "%s %s: fixture row %s, lookup columns %s" % (rule_id, lookup, list(row), header)
    rule = MANIFEST["rules"][rule_id]
    searches = [RULES[rule["savedsearch"]]["search"]] + [BASELINES[name]["search"] for name in rule.get("baselines", [])]
    used = lib.used_macros(searches, macros)
    for macro in spec.get("macros", {}):
        assert macro in used, "%s/%s overrides %s, which the rule does not use" % (rule_id, variant, macro)


@pytest.mark.parametrize("rule_id,variant", VARIANTS)
def test_events_lie_inside_the_rule_range_or_its_baselines_seeding_for_any_now(rule_id, variant):
    """Every event is in the rule's own range, or older but within the 30 days the suite seeds
    the rule's baselines from (events the rule itself can no longer see count only through
    the baseline lookups)."""
    rule = MANIFEST["rules"][rule_id]
    settings = RULES[rule["savedsearch"]]
    for now in lib.NOWS:
        earliest = replay.relative_time(now, settings["dispatch.earliest_time"])
        latest = replay.relative_time(now, settings["dispatch.latest_time"])
        oldest = replay.relative_time(now, SEED_EARLIEST) if rule.get("baselines") else earliest
        for event in replay.materialize(rule_id, variant, now=now).events:
            assert oldest <= event["time"] < latest, "%s/%s at now=%d: event at %s outside [%s, %s)" % (
                rule_id, variant, now, replay.format_rfc3339(event["time"]),
                replay.format_rfc3339(oldest), replay.format_rfc3339(latest))


def test_baselines_named_by_scenarios_exist_and_every_baseline_is_exercised():
    named = {name for rule in MANIFEST["rules"].values() for name in rule.get("baselines", [])}
    assert named == set(BASELINES)


@pytest.mark.parametrize("rule_id", sorted(MANIFEST["rules"]))
def test_entities_are_result_fields(rule_id):
    search = RULES[MANIFEST["rules"][rule_id]["savedsearch"]]["search"]
    for variant in MANIFEST["rules"][rule_id]["variants"]:
        for field in variant.get("entity", {}):
            assert field in search, "%s: entity field %s is not in the search's output" % (rule_id, field)


def test_schema_enumerations_are_the_api_reference():
    enums = json.load(open(os.path.join(lib.KNOWLEDGE, "api_enums.json"), encoding="utf-8"))
    signin = json.load(open(os.path.join(lib.SCHEMAS, "signin_attempt.schema.json"), encoding="utf-8"))["properties"]
    item = json.load(open(os.path.join(lib.SCHEMAS, "item_usage.schema.json"), encoding="utf-8"))["properties"]
    audit = json.load(open(os.path.join(lib.SCHEMAS, "audit_event.schema.json"), encoding="utf-8"))["properties"]
    assert signin["category"]["enum"] == enums["signin_category"]
    assert signin["type"]["enum"] == enums["signin_type"]
    assert item["action"]["enum"] == enums["item_action"]
    assert audit["action"]["enum"] == enums["audit_action"]
    assert audit["object_type"]["enum"] == enums["audit_object_type"]


def test_schemas_reject_typos():
    validator = _schema("signin_attempt")
    run = replay.materialize("brute_force_ip", "attack", now=lib.BASE_NOW)
    item = dict(run.events[0]["item"])
    validator.validate(item)
    for broken in (dict(item, category="credential_failed"), dict(item, tpye="x"),
                   dict(item, timestamp="2026-11-25 12:00:00"), {k: v for k, v in item.items() if k != "target_user"}):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(broken)
