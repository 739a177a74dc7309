"""6. Dashboards: every data-source search of every dashboard (drilldowns included) runs
without error and, over the sample data, returns rows.

The sample data: the simulator's backlog collected by the real input (and its logs), every
"fire" scenario replayed into one index for one `now` (the searches run with that `now`,
so relative ranges land where the scenarios put their events), the lookup rows and macros
those scenarios need, the detection baselines seeded from that data, an access-review
record, and one alert fired by the scheduler. Run inline, a rule lists every incident of
the panel's range (docs/detections.md)."""

import time
from dataclasses import dataclass, field

import pytest

from . import dashboard_runner, scenario_runner, spl
from .conftest import CIM_MISSING, REVIEW_ENDPOINT, replay_into_splunk
from .settings import ADDON
from .splunk_client import WaitTimeout, error_text, wait_for

QUERIES = dashboard_runner.queries()
ALERT_RULE = "1Password - Brute Force From One IP - Rule"


@dataclass
class DashboardData:
    now: float
    cim: bool
    definitions: dict
    notes: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)


def _record_review(splunk, names, notes):
    now = time.gmtime()
    name = "e2e_%s_review" % names.run
    response = splunk.create_addon_entity(REVIEW_ENDPOINT, name, {
        "quarter": "%d-Q%d" % (now.tm_year, (now.tm_mon - 1) // 3 + 1), "reviewer": "E2E Reviewer",
        "review_date": time.strftime("%Y-%m-%d", now), "scope": "1Password accounts of the e2e stack",
        "outcome": "no_exceptions", "findings": "Recorded by tests/e2e."})
    assert response.status_code in (200, 201), error_text(response)
    for macro, key in (("onepassword_review_change_log", "review_history"),
                       ("onepassword_review_conf_changes", "review_conf_changes")):
        try:
            wait_for(lambda: splunk.count('search `%s` | stats count' % macro, earliest="-2h") > 0, 300, 10,
                     "`%s` to show the new review record" % macro)
        except WaitTimeout as exc:
            notes[key] = str(exc)


def _fire_an_alert(splunk, stack, e2e_settings, names, notes):
    """Replay the brute-force attack at the real now and let the scheduler run its rule
    (every minute, over the last 24 h) until it fires; then put the rule back."""
    plans = scenario_runner.plan_variants(names.prefix, time.time(), run_id="a" + names.run,
                                          selection={("brute_force_ip", "attack")},
                                          index_for=lambda *_: names.alert_index)
    replay_into_splunk(splunk, stack, e2e_settings, plans)
    original = splunk.saved_search(ALERT_RULE)
    keys = ("cron_schedule", "schedule_window", "dispatch.earliest_time", "dispatch.latest_time")
    with scenario_runner.Fixtures(splunk) as fixtures:
        fixtures.set_macro(scenario_runner.INDEX_MACRO, "index=%s" % names.alert_index)
        splunk.update_saved_search(ALERT_RULE, {"cron_schedule": "* * * * *", "schedule_window": "0",
                                                "dispatch.earliest_time": "-24h", "dispatch.latest_time": "now"})
        splunk.enable_saved_search(ALERT_RULE)
        try:
            wait_for(lambda: splunk.count(spl.alert_fired(ADDON, ALERT_RULE), earliest="-2h") > 0,
                     600, 15, "the scheduler to fire %r" % ALERT_RULE)
        except WaitTimeout as exc:
            notes["fired"] = str(exc)
        finally:
            splunk.disable_saved_search(ALERT_RULE)
            splunk.update_saved_search(ALERT_RULE, {key: original.get(key, "") for key in keys})


@pytest.fixture(scope="module")
def dashboard_data(splunk, stack, e2e_settings, names, ingested, cim):
    notes = {}
    _record_review(splunk, names, notes)
    _fire_an_alert(splunk, stack, e2e_settings, names, notes)
    now = time.time()
    fire = {(rule_id, variant) for rule_id, variant, expect in scenario_runner.replay.variants() if expect == "fire"}
    plans = scenario_runner.plan_variants(names.prefix, now, run_id="d" + names.run, selection=fire,
                                          index_for=lambda *_: names.dash_index)
    replay_into_splunk(splunk, stack, e2e_settings, plans)
    lookups, macros = scenario_runner.merged_fixtures(plans)
    macros[scenario_runner.INDEX_MACRO] = "(index=%s OR index=%s)" % (names.ingest_index, names.dash_index)
    fixtures = scenario_runner.Fixtures(splunk)
    saved = scenario_runner.read_savedsearches()
    try:
        fixtures.apply(macros, lookups)
        for name in sorted(n for n in saved if n.endswith(" - Baseline")):
            fixtures.clear_lookup(scenario_runner.baseline_lookup(saved[name]["search"]))
            seeded = splunk.search('| savedsearch "%s"' % name, earliest=scenario_runner.replay.BASELINE_SEED_EARLIEST,
                                   latest="now", now=now)
            assert seeded.errors == [], (name, seeded.errors)
        yield DashboardData(now=now, cim=cim, definitions=dashboard_runner.definitions(), notes=notes)
    finally:
        fixtures.restore()


def _run(splunk, data, entry, spl=None):
    key = (entry["dashboard"], entry["id"], spl)
    if key not in data.cache:
        data.cache[key] = splunk.search(spl or entry["spl"], earliest=entry["earliest"] or "0",
                                        latest=entry["latest"], now=data.now)
    return data.cache[key]


def _entry(dashboard, ds_id):
    for entry in QUERIES:
        if entry["dashboard"] == dashboard and entry["id"] == ds_id:
            return entry
    raise KeyError((dashboard, ds_id))


@pytest.mark.parametrize("entry", QUERIES, ids=[dashboard_runner.entry_id(e) for e in QUERIES])
def test_dashboard_search_runs_and_returns_rows(splunk, dashboard_data, saved_searches, entry):
    key = (entry["dashboard"], entry["id"])
    spl = entry["spl"]
    if not dashboard_data.cim and scenario_runner.needs_cim(spl, saved_searches):
        pytest.skip(CIM_MISSING)
    tokens = dashboard_runner.row_tokens(spl)
    if tokens:  # a drilldown: the clicked row comes from the visualization's primary data source
        source = _entry(entry["dashboard"], dashboard_runner.drilldown_source(dashboard_data.definitions, entry))
        source_result = _run(splunk, dashboard_data, source)
        row = dashboard_runner.first_usable_row(source_result.rows, tokens)
        assert row is not None, "%s has no row with %s to click" % (source["id"], tokens)
        spl = dashboard_runner.fill_row_tokens(spl, row)
    assert dashboard_runner.unresolved_tokens(spl) == []
    result = _run(splunk, dashboard_data, entry, spl)
    assert result.errors == [], result.errors
    if key in dashboard_runner.EMPTY_ALLOWED:
        return
    assert result.rows, "no rows from %s %s %s" % (dashboard_runner.entry_id(entry), spl[:300],
                                                   dashboard_data.notes or "")
