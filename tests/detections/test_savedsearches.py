"""savedsearches.conf: every rule ships disabled, judges the events indexed in a window of at
least twice its cron period plus the ingestion lag (a skipped or late run is covered by the
next), reaches back far enough in _time to judge a backfill, throttles on a key that names the
incident (never a clock bucket) for at least its window, has no e-mail, is a plain alert with
Enterprise Security correlation-search metadata (MITRE, notable, risk); the baselines upsert
the records their new events touch and ship enabled; every report follows the same
scheduling rules. AppInspect's own saved-search checks are mirrored here."""

import json
import os
import re

import pytest

import detections_lib as lib
import replay

RULES = lib.rules()
REPORTS = lib.reports()
BASELINES = lib.baselines()
PRUNES = lib.prunes()
DAY = 86400
FOLD_RUN = 600  # the longest a fold or a prune of a baseline collection is expected to run
LAG = 300  # expected ingestion lag and scheduler delay (docs/detections.md, "Scheduling")
BACKFILL_REACH = 7 * DAY  # how old (by _time) an event may be when it is indexed and still be judged
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
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", lib.expand_macros(search)))
    return words | {part for word in words for part in word.split(".")}  # Authentication.user -> user (rename)


def test_every_stanza_is_a_named_rule_baseline_or_report():
    for name in lib.savedsearches():
        assert name.startswith(lib.NAME_PREFIX), name
        assert name.endswith((lib.RULE_SUFFIX, lib.REPORT_SUFFIX, lib.BASELINE_SUFFIX, lib.PRUNE_SUFFIX)), name
        assert len(name) <= 80, "%s: ES clones need room for a prefix (99 characters in all)" % name
    assert {name[:-len(lib.PRUNE_SUFFIX)] for name in PRUNES} == {
        name[:-len(lib.BASELINE_SUFFIX)] for name in BASELINES}, "one prune search per baseline"


def test_rule_ids_are_unique_and_match_the_filter_macros():
    ids = [lib.rule_id(spec["search"]) for spec in RULES.values()]
    assert None not in ids, "every rule ends with its onepassword_<id>_filter macro"
    assert len(ids) == len(set(ids))
    filters = {name[len("onepassword_"):-len("_filter")] for name in lib.macros()
               if name.startswith("onepassword_") and name.endswith("_filter")}
    assert filters == set(ids), "one filter macro per rule, no orphan: %s" % (filters ^ set(ids))


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_window_covers_a_missed_run_and_its_range_a_backfill(name):
    """The window (index time) is at least twice the longest gap between two runs plus the
    lag, so the run after a skipped, failed or delayed one still sees every event the
    skipped one would have judged; the _time range reaches back far enough that events
    backfilled after a collector outage are judged when they are indexed."""
    spec = RULES[name]
    assert spec["disabled"] == "1" and spec["enableSched"] == "1"
    assert lib.cron_runs_per_hour(spec["cron_schedule"]) <= 12, "AppInspect warns above 12 runs an hour"
    from splunk_appinspect.cron_expression import CronExpression

    assert CronExpression(spec["cron_schedule"]).is_valid()
    assert not CronExpression(spec["cron_schedule"]).is_high_occurring()
    earliest, latest = spec["dispatch.earliest_time"], spec["dispatch.latest_time"]
    assert "rt" not in earliest + latest, "no real-time searches"
    assert spec["realtime_schedule"] == "0", "a delayed or skipped run is run later, not dropped"
    rule_id = lib.rule_id(spec["search"])
    if rule_id == "collector_stream_silent":
        assert lib.window_seconds(spec) is None  # judges the lookup's silence, not new events
        return
    window = lib.window_seconds(spec)
    assert window and window >= 2 * lib.cron_max_gap(spec["cron_schedule"]) + LAG, (name, window)
    if lib.new_slice_seconds(spec["search"]):
        # the subsearch selects at least the new events (more when a new event may join an
        # older key: a use of a vault self-granted up to an hour before the window)
        assert lib.new_slice_seconds(spec["search"]) >= window
        assert "dispatch.index_earliest" not in spec, "the neighbourhood search reads events indexed before the window"
    for now in lib.NOWS:
        end = replay.relative_time(now, latest)
        assert end >= now, "%s: an event indexed with a _time up to now is inside the range" % name
        if rule_id in INTERNAL_RULES:
            assert now - replay.relative_time(now, earliest) >= window  # log lines are indexed as they are written
        else:
            assert now - replay.relative_time(now, earliest) >= BACKFILL_REACH, name


def _record_key(search):
    """The field whose value a baseline or prune search makes each record's _key."""
    keys = re.findall(r"\|\s*eval _key=(\w+)\s", search)
    assert len(keys) == 1, "one eval _key=<field> before the outputlookup: %s" % keys
    return keys[0]


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baseline_upserts_the_records_its_window_touches(name):
    spec = BASELINES[name]
    assert spec["disabled"] == "0" and spec["enableSched"] == "1", "baselines learn from install time on"
    assert "alert.track" not in spec and not any(k.startswith("action.") and spec[k] == "1" for k in spec)
    assert spec["realtime_schedule"] == "0"
    search = spec["search"]
    outputs = re.findall(r"\|\s*outputlookup\s+(.*)$", search, re.MULTILINE)
    assert len(outputs) == 1, name
    # the documented upsert: _key carried in the results, key_field=_key (SPL reference,
    # outputlookup, "Update field values for a single KV store collection record"); the
    # record key stays an ordinary field of the record too, which the rules look up by
    match = re.fullmatch(r"append=true key_field=_key (\w+)", outputs[0].strip())
    assert match, "%s: upsert (append=true key_field=_key), never a rewrite: %s" % (name, outputs[0])
    lookup = match.group(1)
    key_field = _record_key(search)
    assert "inputlookup" not in search, "%s reads its stored records by key (lookup), not the whole collection" % name
    transforms = lib.transforms()[lookup]
    columns = [c.strip() for c in transforms["fields_list"].split(",")]
    assert transforms["external_type"] == "kvstore" and {"_key", key_field} <= set(columns)
    kept = re.findall(r"\|\s*fields\s+([^|\\]+)", search)[-1].split()
    assert {"_key", key_field} <= set(kept) and set(kept) <= set(columns), (kept, columns)
    assert re.search(r"\|\s*lookup\s+%s\s" % lookup, search), "%s merges with the stored record (idempotent fold)" % name
    if search.lstrip().startswith("| tstats"):
        return  # index summaries: the newest event per stream, folded with max()
    window = lib.window_seconds(spec)
    assert window >= 2 * lib.cron_max_gap(spec["cron_schedule"]) + LAG, "overlapping folds heal a missed one"
    assert spec["dispatch.index_latest"] == "now"


@pytest.mark.parametrize("name", sorted(PRUNES))
def test_prune_rewrites_its_collection_once_a_day(name):
    spec = PRUNES[name]
    assert spec["disabled"] == "0" and spec["enableSched"] == "1"
    baseline = BASELINES[name[:-len(lib.PRUNE_SUFFIX)] + lib.BASELINE_SUFFIX]
    lookup = re.search(r"key_field=\w+ (\w+)", baseline["search"]).group(1)
    search = spec["search"].strip()
    key_field = _record_key(baseline["search"])
    assert _record_key(search) == key_field, "the rewritten records keep the key the baseline upserts by"
    # inputlookup without strict=true turns a KV store error into a warning and no rows
    # (SPL reference, inputlookup), and outputlookup with no results empties the
    # collection unless override_if_empty=false (SPL reference, outputlookup)
    assert search.startswith("| inputlookup strict=true %s " % lookup), "a KV store error fails the prune"
    # append=false empties the collection before writing (outputlookup, example "Overwrite
    # KV store collections"); key_field=_key with _key set to the baseline's record key keeps
    # each record's key, or the next fold would add a second record for the same key
    assert search.endswith("| outputlookup append=false override_if_empty=false key_field=_key %s" % lookup), (
        "the rewritten records keep the key the baseline upserts by, and no result leaves the collection as it is")
    kept = re.findall(r"\|\s*fields\s+([^|\\]+)", search)[-1].split()
    assert {"_key", key_field} <= set(kept), "the key is written with the records"
    assert re.search(r"\|\s*where\s", search), "it keeps only the records inside the horizon"
    from croniter import croniter

    itr = croniter(spec["cron_schedule"], lib.BASE_NOW)
    first = itr.get_next(float)
    assert itr.get_next(float) - first == DAY, "daily"
    minute = int(spec["cron_schedule"].split()[0])
    folds = {int(BASELINES[b]["cron_schedule"].split()[0]) for b in BASELINES}
    assert minute not in folds, "no fold starts with the rewrite"
    # The scheduler may start the prune up to schedule_window minutes late
    # (savedsearches.conf.spec), and the fold before it may still be running: the rewrite
    # of a collection starts at least FOLD_RUN after the fold of that collection and, at
    # its latest start, leaves the prune FOLD_RUN before the next fold, or that fold's
    # upserts could be overwritten by the prune's older copy of the records.
    start = itr.get_next(float)
    latest_start = start + 60 * int(spec["schedule_window"])
    fold_ticks = lib.cron_ticks(baseline["cron_schedule"], start - 2 * 3600, start + 2 * 3600)
    previous_fold = max(t for t in fold_ticks if t <= start)
    next_fold = min(t for t in fold_ticks if t > start)
    assert start - previous_fold >= FOLD_RUN, (name, (start - previous_fold) / 60)
    assert next_fold - latest_start >= FOLD_RUN, (name, (next_fold - latest_start) / 60)


def test_no_mvexpand_and_no_mvzip_anywhere():
    """A million-row mvexpand truncates silently at its memory limit, and mvzip assumes two
    multivalue lookup outputs stay aligned: neither is used by any search or macro."""
    texts = [spec["search"] for spec in lib.savedsearches().values()]
    texts += [spec["definition"] for spec in lib.macros().values()]
    for text in texts:
        assert not re.search(r"\bmvexpand\b|\bmvzip\s*\(", text), text[:120]


def test_no_cron_minute_starts_more_than_four_searches():
    """Crons are staggered: in any minute of a week at most 4 rules, baselines and prune
    searches start (reports run monthly or quarterly at minute 5 of the day)."""
    starts = {}
    for spec in list(RULES.values()) + list(BASELINES.values()) + list(PRUNES.values()):
        for tick in lib.cron_ticks(spec["cron_schedule"], lib.BASE_NOW, lib.BASE_NOW + 7 * DAY):
            starts[tick] = starts.get(tick, 0) + 1
    assert max(starts.values()) <= 4, sorted(starts.items(), key=lambda kv: -kv[1])[:3]


def test_every_baseline_lookup_a_rule_reads_is_kept_by_a_baseline():
    written = {re.search(r"outputlookup\s+(?:\w+=\S+\s+)*(\w+)", spec["search"]).group(1) for spec in BASELINES.values()}
    read = set()
    for spec in RULES.values():
        for _, lookup, _, _ in lib.lookup_refs(lib.expand_macros(spec["search"])):
            if lib.transforms().get(lookup, {}).get("external_type") == "kvstore" and lookup != "onepassword_checkpoints":
                read.add(lookup)
    assert read == written


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
    window = lib.window_seconds(spec) or lib.cron_max_gap(spec["cron_schedule"])
    reach = lib.BASE_NOW - replay.relative_time(lib.BASE_NOW, spec["dispatch.earliest_time"])
    assert _seconds(spec["alert.suppress.period"]) >= max(window, min(reach, DAY)), (
        "an incident judged again by the overlapping next run stays suppressed")
    entity_only = {"user", "src", "src_user", "input", "source", "sourcetype", "command", "object_type"}
    assert set(fields) - entity_only, "%s: the throttle names the incident, not just the entity: %s" % (name, fields)
    assert spec.get("action.email", "0") == "0"
    for key in spec:
        assert not key.startswith("action.email.to"), "no e-mail recipient"
        assert key not in ("action.script.filename", "action.populate_lookup"), "AppInspect cloud failure"
    assert not spec.get("actions"), "no alert action enabled"
    assert len(spec["description"]) >= 150, "a description an analyst understands"


CLOCK = re.compile(r"relative_time|now\(\)|floor\([^)]*(crossed_at|_time|info_)[^)]*/\s*\d+|\bbin\b|\bbucket\b")


def _definitions(search, field):
    """The eval / AS clauses of the expanded search that give the field its value."""
    text = lib.expand_macros(search)
    found = re.findall(r"(?:eval|,)\s*%s\s*=\s*(.+?)(?=,\s*[A-Za-z_]+\s*=|\s*\\?\n|\s*\||$)" % re.escape(field), text)
    found += re.findall(r"(\w+\([^()]*\))\s+AS\s+%s\b" % re.escape(field), text)
    return found


@pytest.mark.parametrize("name", sorted(RULES))
def test_throttle_keys_name_the_incident_not_a_clock_bucket(name):
    """A burst that runs across HH:00 alerts once and two bursts in a day are two rows: the
    keys come from the events (a uuid, the session, the first event of a burst), never
    from a time rounded to an hour or the time the rule ran."""
    spec = RULES[name]
    fields = [f.strip() for f in spec["alert.suppress.fields"].split(",")]
    search = spec["search"]
    for field in fields:
        assert not field.endswith(("_hour", "_day", "_bucket")), field
        for definition in _definitions(search, field):
            if field in ("surge_start",):
                # the hourly surge rules measure hours: the key is the first hour of a run of
                # consecutive surging hours, so a surge across HH:00 is one incident
                assert "previous_surged=0" in search
                continue
            assert not CLOCK.search(definition), "%s: %s = %s" % (name, field, definition)
    if "burst_id" in fields:
        assert re.search(r"streamstats last\(burst_first\) AS burst_id by", search), "the burst id comes from the events"
        assert "burst_hour" not in search


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
    assert "datamodel" not in search, "rules read the add-on's events: no CIM app needed, _indextime and uuid at hand"
    if first.startswith("| tstats"):
        assert "(`1password_index`)" in first, "tstats searches are scoped by the index macro"
    else:
        assert re.match(r"\(*`(onepassword_(signin|itemusage|audit)_events|onepassword_input_logs)`", first), first
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


def test_no_search_of_the_addon_needs_the_cim_app():
    """The add-on's minimum CIM version is "none" (docs/fields.md, "CIM version"): no saved
    search and no dashboard reads a data model."""
    for name, spec in lib.savedsearches().items():
        assert not re.search(r"datamodel|from\s+datamodel|\|\s*tstats[^|]*\bnodename\b", spec["search"]), name
    views = os.path.join(lib.DEFAULT, "data", "ui", "views")
    for view in os.listdir(views):
        assert "datamodel" not in open(os.path.join(views, view), encoding="utf-8").read(), view
