"""savedsearches.conf: every rule ships disabled, scheduled sparingly over a range that
allows for late events, throttled on its entities, without e-mail, as a plain alert and
with Enterprise Security correlation-search metadata (MITRE, notable, risk); every report
follows the same scheduling rules. AppInspect's own saved-search checks are mirrored here."""

import json
import os
import re

import pytest

import detections_lib as lib
import replay

RULES = lib.rules()
REPORTS = lib.reports()
MITRE_ID = re.compile(r"^T\d{4}(\.\d{3})?$")
RISK_OBJECT_TYPES = {"user", "system"}
THREAT_OBJECT_TYPES = {
    "certificate_common_name", "certificate_organization", "certificate_serial", "certificate_unit", "command",
    "domain", "email_address", "email_subject", "file_hash", "file_name", "file_path", "http_user_agent",
    "ip_address", "process", "process_name", "parent_process", "parent_process_name", "process_hash",
    "registry_path", "registry_value_name", "registry_value_text", "service", "signature", "system", "tls_hash", "url",
}  # splunk/contentctl docs/RBA_Types.md
SECURITY_DOMAINS = {"access", "endpoint", "network", "threat", "identity", "audit"}
NOTABLE_SEVERITIES = {"informational", "low", "medium", "high", "critical"}
INTERNAL_RULES = {"collector_stream_silent", "collector_api_errors"}  # read _internal or index metadata, not late event data


def _seconds(spec):
    match = re.fullmatch(r"(\d+)([smhd])", spec)
    assert match, "not a duration: %r" % spec
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def _cron_period(cron):
    from croniter import croniter

    itr = croniter(cron, lib.BASE_NOW)
    first = itr.get_next(float)
    return itr.get_next(float) - first


def _output_fields(search):
    """Words of the search: a field the rule outputs appears in it (by-clause, AS, table)."""
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", search))
    return words | {part for word in words for part in word.split(".")}  # Authentication.user -> user (rename)


def test_conf_parses_without_repeated_stanzas_or_keys():
    path = os.path.join(lib.DEFAULT, "savedsearches.conf")
    stanzas, keys, stanza = set(), set(), None
    for line in open(path, encoding="utf-8"):
        if line.startswith("#") or not line.strip() or not re.match(r"^[\[A-Za-z]", line):
            continue
        if line.startswith("["):
            stanza = line.strip()
            assert stanza not in stanzas, stanza
            stanzas.add(stanza)
            continue
        key = (stanza, line.split("=", 1)[0].strip())
        assert key not in keys, key
        keys.add(key)
    assert len(lib.savedsearches()) == len(stanzas) >= 30


def test_every_stanza_is_a_named_rule_or_report():
    for name in lib.savedsearches():
        assert name.startswith(lib.NAME_PREFIX), name
        assert name.endswith(lib.RULE_SUFFIX) or name.endswith(lib.REPORT_SUFFIX), name
        assert len(name) <= 80, "%s: ES clones need room for a prefix (99 characters in all)" % name
    assert len(RULES) >= 30 and len(REPORTS) == 3


def test_rule_ids_are_unique_and_match_the_filter_macros():
    ids = [lib.rule_id(spec["search"]) for spec in RULES.values()]
    assert None not in ids, "every rule ends with its onepassword_<id>_filter macro"
    assert len(ids) == len(set(ids))
    filters = {name[len("onepassword_"):-len("_filter")] for name in lib.macros()
               if name.startswith("onepassword_") and name.endswith("_filter")}
    assert filters == set(ids), "one filter macro per rule, no orphan: %s" % (filters ^ set(ids))


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_schedule_and_time_range(name):
    spec = RULES[name]
    assert spec["disabled"] == "1" and spec["enableSched"] == "1"
    assert lib.cron_runs_per_hour(spec["cron_schedule"]) <= 12, "AppInspect warns above 12 runs an hour"
    from splunk_appinspect.cron_expression import CronExpression

    assert CronExpression(spec["cron_schedule"]).is_valid()
    assert not CronExpression(spec["cron_schedule"]).is_high_occurring()
    earliest, latest = spec["dispatch.earliest_time"], spec["dispatch.latest_time"]
    assert "rt" not in earliest + latest, "no real-time searches"
    period = _cron_period(spec["cron_schedule"])
    for now in lib.NOWS:
        start, end = replay.relative_time(now, earliest), replay.relative_time(now, latest)
        assert end - start >= period + 300, "%s: the range must cover the schedule interval with room for late events" % name
        if lib.rule_id(spec["search"]) not in INTERNAL_RULES:
            assert end <= now - 300, "%s: the range must end at least 5 minutes in the past (late events)" % name
    assert spec.get("schedule_window") == "auto"


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_is_a_throttled_alert_without_email(name):
    spec = RULES[name]
    assert spec["alert.track"] == "1"
    assert (spec["counttype"], spec["relation"], spec["quantity"]) == ("number of events", "greater than", "0")
    assert spec["alert.digest_mode"] == "0", "one alert per result, so throttling works per entity"
    assert spec["alert.severity"] in {"1", "2", "3", "4", "5", "6"}
    assert spec["alert.suppress"] == "1"
    fields = [f.strip() for f in spec["alert.suppress.fields"].split(",")]
    assert fields and all(f in _output_fields(spec["search"]) for f in fields), fields
    assert _seconds(spec["alert.suppress.period"]) >= 3600
    assert spec.get("action.email", "0") == "0"
    for key in spec:
        assert not key.startswith("action.email.to"), "no e-mail recipient"
        assert key not in ("action.script.filename", "action.populate_lookup"), "AppInspect cloud failure"
    assert not spec.get("actions"), "no alert action enabled"
    assert len(spec["description"]) >= 150, "a description an analyst understands"


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_has_es_correlation_search_metadata(name):
    spec = RULES[name]
    assert spec["action.correlationsearch.enabled"] == "1"
    assert spec["action.correlationsearch.label"] == name
    assert spec["action.correlationsearch.detection_type"] == "ebd"
    annotations = json.loads(spec["action.correlationsearch.annotations"])
    assert annotations["mitre_attack"] and all(MITRE_ID.match(t) for t in annotations["mitre_attack"]), annotations
    assert annotations["type"] in ("TTP", "Anomaly")
    assert annotations["analytic_story"]
    metadata = json.loads(spec["action.correlationsearch.metadata"])
    assert re.fullmatch(r"[0-9a-f-]{36}", metadata["detection_id"])
    # shipped off: an ES admin switches them on
    assert spec["action.notable"] == "0" and spec["action.risk"] == "0"
    assert spec["action.notable.param.rule_title"] and spec["action.notable.param.rule_description"]
    assert spec["action.notable.param.security_domain"] in SECURITY_DOMAINS
    assert spec["action.notable.param.severity"] in NOTABLE_SEVERITIES
    words = _output_fields(spec["search"])
    for field in spec["action.notable.param.nes_fields"].split(","):
        assert field in words, field
    drilldowns = json.loads(spec["action.notable.param.drilldown_searches"])
    assert drilldowns and all({"name", "search", "earliest_offset", "latest_offset"} <= set(d) for d in drilldowns)
    for token in re.findall(r"\$([a-z_]+)\$", spec["action.notable.param.rule_title"] + spec["action.risk.param._risk_message"]
                            + spec["action.notable.param.drilldown_search"]):
        assert token in words, "%s: token $%s$ is not a field of the results" % (name, token)


def test_detection_ids_are_unique():
    ids = [json.loads(spec["action.correlationsearch.metadata"])["detection_id"] for spec in RULES.values()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_risk_objects_and_threat_objects(name):
    spec = RULES[name]
    risk = json.loads(spec["action.risk.param._risk"])
    assert isinstance(risk, list) and risk
    words = _output_fields(spec["search"])
    risk_objects = 0
    for entry in risk:
        if "risk_object_field" in entry:
            risk_objects += 1
            assert set(entry) == {"risk_object_field", "risk_object_type", "risk_score"}, entry
            assert entry["risk_object_type"] in RISK_OBJECT_TYPES, entry
            assert isinstance(entry["risk_score"], int) and 1 <= entry["risk_score"] <= 100, entry
            assert entry["risk_object_field"] in words, entry
        else:
            assert set(entry) == {"threat_object_field", "threat_object_type"}, entry
            assert entry["threat_object_type"] in THREAT_OBJECT_TYPES, entry
            assert entry["threat_object_field"] in words, entry
    assert risk_objects >= 1
    assert spec["action.risk.param._risk_message"]


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_search_starts_with_the_addon_macros_and_ends_with_its_filter(name):
    search = RULES[name]["search"].strip()
    first = search.splitlines()[0]
    if first.startswith("| tstats"):
        assert "(`1password_index`)" in first, "tstats searches are scoped by the index macro"
        if "datamodel=" in first:
            assert "`onepassword_summariesonly`" in first
    else:
        assert re.match(r"`(onepassword_(signin|itemusage|audit)_events|onepassword_input_logs)`", first), first
    assert re.search(r"\|\s*`onepassword_[a-z0-9_]+_filter`$", search)
    assert search.count("_filter`") == 1


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_report_follows_the_saved_search_rules(name):
    spec = REPORTS[name]
    assert spec["disabled"] == "1" and spec["enableSched"] == "1"
    assert lib.cron_runs_per_hour(spec["cron_schedule"]) <= 12
    from splunk_appinspect.cron_expression import CronExpression

    assert CronExpression(spec["cron_schedule"]).is_valid()
    assert spec["dispatch.earliest_time"] and spec["dispatch.latest_time"]
    assert len(spec["description"]) >= 150
    assert spec.get("action.email", "0") == "0" and not any(k.startswith("action.email.to") for k in spec)
    assert not any(k.startswith("action.") and k != "action.email" and spec[k] == "1" for k in spec)
    assert "alert.track" not in spec and "_filter`" not in spec["search"], "evidence is not filtered or alerted on"
    start = replay.relative_time(lib.BASE_NOW, spec["dispatch.earliest_time"])
    end = replay.relative_time(lib.BASE_NOW, spec["dispatch.latest_time"])
    assert end <= lib.BASE_NOW and end - start >= 80 * 86400, "a complete quarter or year"
