"""The edge cases the dockerized suite judges (samples/scenarios/README.md, "Edge variants"),
checked offline against the shipped conf files: which rules have a count threshold or a
sliding window is read from package/default/savedsearches.conf and macros.conf, the
threshold values from the macros' shipped defaults; the scenarios must sit exactly at each
threshold and one below, straddle an hour, arrive late, and happen before they are indexed."""

import os
import re

import pytest

from e2e import scenario_runner as sr
from conf_reader import read_conf
from e2e.settings import ROOT

MANIFEST = sr.replay.load_manifest()
SAVED = sr.read_savedsearches()
MACROS = read_conf(os.path.join(ROOT, "package", "default", "macros.conf"))
RULES = {name: spec for name, spec in SAVED.items() if name.endswith(" - Rule")}
BY_SEARCH = {rule["savedsearch"]: rule_id for rule_id, rule in MANIFEST["rules"].items()}
MACRO_REF = re.compile(r"`([A-Za-z0-9_]+)(?:\(([^`]*)\))?`")
# A count a rule fires at: "..._threshold", "..._min", "..._min_<things>" with an integer
# default; "_km", "_kmh", "_days", "_s" name distances, speeds, ages and durations instead.
COUNT_NAME = re.compile(r"(_threshold|_min|_min_[a-z]+)$")
UNIT_SUFFIX = re.compile(r"_(km|kmh|days|s)$")
WINDOW_NAME = re.compile(r"_window(_s)?$")
NOWS = [1767225600.0, 1767225630.0, 1767229199.0, 1767229170.5, 1767259800.0, 1767312345.6]  # HH:00 and around it


def used_macros(text, seen=None):
    """Every macro stanza a search uses, through nested macros (`name(a, b)` is [name(2)])."""
    seen = set() if seen is None else seen
    for match in MACRO_REF.finditer(text):
        name, args = match.group(1), match.group(2)
        stanza = name if args is None else "%s(%d)" % (name, len(args.split(",")))
        if stanza in MACROS and stanza not in seen:
            seen.add(stanza)
            used_macros(MACROS[stanza].get("definition", ""), seen)
    return seen


def macro_value(name):
    """The macro's shipped default, through macros that name another macro."""
    definition = MACROS[name]["definition"].strip()
    match = re.fullmatch(r"`([A-Za-z0-9_]+)`", definition)
    return macro_value(match.group(1)) if match else definition


def count_thresholds(search):
    return sorted(name for name in used_macros(search)
                  if COUNT_NAME.search(name) and not UNIT_SUFFIX.search(name) and macro_value(name).isdigit())


def windows(search):
    return sorted(name for name in used_macros(search) if WINDOW_NAME.search(name))


THRESHOLDED = {name: count_thresholds(spec["search"]) for name, spec in RULES.items()
               if count_thresholds(spec["search"])}
WINDOWED = {name: windows(spec["search"]) for name, spec in RULES.items() if windows(spec["search"])}


def _variants(rule_id):
    return {spec["name"]: spec for spec in MANIFEST["rules"][rule_id]["variants"]}


def test_the_conf_files_have_thresholded_and_windowed_rules():
    # the checks below are only as good as this reading of the conf: an empty reading would
    # pass them all
    assert len(THRESHOLDED) >= 5 and len(WINDOWED) >= 5, (THRESHOLDED, WINDOWED)


@pytest.mark.parametrize("name", sorted(THRESHOLDED))
def test_a_thresholded_rule_fires_exactly_at_its_threshold_and_not_one_below(name):
    rule_id = BY_SEARCH[name]
    variants = _variants(rule_id)
    assert "at_threshold" in variants and "below_threshold" in variants, (rule_id, sorted(variants))
    at, below = variants["at_threshold"], variants["below_threshold"]
    assert at["expect"] == "fire" and at["rows"] >= 1 and below["expect"] == "silent"
    for spec in (at, below):
        assert spec["threshold"]["macro"] in THRESHOLDED[name], (rule_id, spec["threshold"], THRESHOLDED[name])
    assert at["threshold"]["macro"] == below["threshold"]["macro"]
    default = int(macro_value(at["threshold"]["macro"]))
    assert at["threshold"]["value"] == default, "%s: at_threshold sits at %d, the shipped default is %d" % (
        rule_id, at["threshold"]["value"], default)
    assert below["threshold"]["value"] == default - 1, "%s: below_threshold sits at %d, not %d" % (
        rule_id, below["threshold"]["value"], default - 1)


def test_only_thresholded_rules_have_threshold_variants():
    thresholded = {BY_SEARCH[name] for name in THRESHOLDED}
    for rule_id, rule in MANIFEST["rules"].items():
        names = {spec["name"] for spec in rule["variants"]}
        if rule_id not in thresholded:
            assert not names & {"at_threshold", "below_threshold"}, rule_id
        for spec in rule["variants"]:
            assert ("threshold" in spec) == (spec["name"] in ("at_threshold", "below_threshold")), (rule_id, spec["name"])


@pytest.mark.parametrize("name", sorted(WINDOWED))
def test_a_windowed_rule_has_an_hour_straddling_and_a_late_variant_that_fire(name):
    variants = _variants(BY_SEARCH[name])
    for variant in ("straddle_hour", "late_indexed"):
        assert variant in variants and variants[variant]["expect"] == "fire", (name, variant)
        assert variants[variant]["rows"] >= 1


def _straddlers():
    return [(rule_id, spec) for rule_id, rule in MANIFEST["rules"].items()
            for spec in rule["variants"] if spec["name"] == "straddle_hour"]


@pytest.mark.parametrize("rule_id,spec", _straddlers(), ids=[r for r, _ in _straddlers()])
def test_straddling_events_lie_on_both_sides_of_an_hour_for_any_now(rule_id, spec):
    for now in NOWS:
        times = [event["time"] for event in sr.replay.materialize(rule_id, spec["name"], now=now).events]
        boundary = (int(min(times)) // 3600 + 1) * 3600
        assert min(times) < boundary <= max(times), (rule_id, now)


def _late():
    return [(rule_id, spec) for rule_id, rule in MANIFEST["rules"].items()
            for spec in rule["variants"] if spec["name"] == "late_indexed"]


@pytest.mark.parametrize("rule_id,spec", _late(), ids=[r for r, _ in _late()])
def test_late_events_are_indexed_long_after_they_happened(rule_id, spec):
    """Later than two cron periods plus the rule's lag: no run whose window starts when the
    events happened can see them; only a run that judges by arrival can."""
    rule = SAVED[MANIFEST["rules"][rule_id]["savedsearch"]]
    late = sr.replay.duration_seconds(spec["indexed_late_by"])
    tick = sr.next_run(rule["cron_schedule"], NOWS[0])
    period = sr.next_run(rule["cron_schedule"], tick) - tick
    lag = tick - sr.replay.relative_time(tick, rule["dispatch.latest_time"])
    assert late >= 2 * period + lag, (rule_id, late, period, lag)
    for now in NOWS:
        run = sr.replay.materialize(rule_id, spec["name"], now=now)
        assert max(event["time"] for event in run.events) <= now - late, (rule_id, now)


def _all_variants():
    return [(rule_id, spec["name"]) for rule_id, rule in MANIFEST["rules"].items() for spec in rule["variants"]]


@pytest.mark.parametrize("rule_id,variant", _all_variants())
def test_every_event_happens_before_the_replay_indexes_it(rule_id, variant):
    """The suite replays a variant materialized for the clock at which it starts sending, so
    _time < _indextime for every event, as in production."""
    for now in NOWS:
        run = sr.replay.materialize(rule_id, variant, now=now)
        assert all(event["time"] < now for event in run.events), (rule_id, variant, now)
        assert all(float(payload["time"]) < now for payload in run.hec_events("i")), (rule_id, variant, now)


def test_baselines_are_real_baseline_searches_the_suite_can_fold():
    named = {name for rule in MANIFEST["rules"].values() for name in rule.get("baselines", [])}
    assert named
    for name in named:
        assert name in SAVED and name.endswith(" - Baseline"), name
        settings = SAVED[name]
        sr.baseline_lookup(settings["search"])
        first = sr.next_run(settings["cron_schedule"], NOWS[0])
        assert sr.next_run(settings["cron_schedule"], first) - first <= 3600, "%s folds at least hourly" % name


def test_every_rule_reading_a_baseline_lookup_names_its_baseline():
    written = {sr.baseline_lookup(SAVED[name]["search"]): name for name in SAVED if name.endswith(" - Baseline")}
    for rule_id, rule in MANIFEST["rules"].items():
        search = SAVED[rule["savedsearch"]]["search"]
        expanded = search + " ".join(MACROS[m].get("definition", "") for m in used_macros(search))
        read = {baseline for lookup, baseline in written.items() if re.search(r"\b%s\b" % lookup, expanded)}
        assert read <= set(rule.get("baselines", [])), (rule_id, read)


def test_the_scheduler_test_names_a_real_throttled_rule_and_a_firing_variant():
    scheduler = MANIFEST["scheduler"]
    rule = MANIFEST["rules"][scheduler["rule"]]
    settings = RULES[rule["savedsearch"]]
    variant = _variants(scheduler["rule"])[scheduler["variant"]]
    assert variant["expect"] == "fire" and variant["rows"] >= 1
    assert settings.get("alert.suppress") == "1" and settings.get("alert.suppress.fields", "").strip()
    assert settings.get("alert.track") == "1", "the scheduler's alerts must be recorded to be counted"
    first = sr.next_run(scheduler["cron"], NOWS[0])
    assert sr.next_run(scheduler["cron"], first) - first <= 300, "two runs within minutes"
    assert scheduler["runs"] >= 2


def test_firing_variants_expect_their_own_number_of_incidents():
    rows = [spec["rows"] for rule in MANIFEST["rules"].values() for spec in rule["variants"] if spec["expect"] == "fire"]
    assert all(n >= 1 for n in rows) and max(rows) >= 2


INDEXING_ALLOWANCE = 15 * 60   # the replay of every variant is searchable within this (the suite's budget)


@pytest.mark.parametrize("rule_id,variant", _all_variants())
def test_the_rule_run_that_judges_a_variant_still_holds_its_events(rule_id, variant):
    """The suite dispatches the rule at its first scheduled run after the replay is indexed,
    up to a cron period and the lag later than the replay: the events the rule itself reads
    are still inside that run's range (older history counts only through the baselines,
    folded at runs of their own)."""
    rule = MANIFEST["rules"][rule_id]
    settings = SAVED[rule["savedsearch"]]
    for now in NOWS:
        for indexed_by in (now + 30, now + INDEXING_ALLOWANCE):
            at = sr.scheduled_now(settings, indexed_by)
            earliest = sr.replay.relative_time(at, settings["dispatch.earliest_time"])
            latest = sr.replay.relative_time(at, settings["dispatch.latest_time"])
            for event in sr.replay.materialize(rule_id, variant, now=now).events:
                if rule.get("baselines") and event["time"] < earliest:
                    continue
                assert earliest <= event["time"] < latest, "%s/%s: event at %s outside the run at %s" % (
                    rule_id, variant, sr.replay.format_rfc3339(event["time"]), sr.replay.format_rfc3339(at))
