"""5. Detections: the real SPL of every rule over its replayed scenarios, against the
expectation written by hand in samples/scenarios/manifest.json (samples/scenarios/README.md,
"How the suite runs them"): the rule's baselines folded by their own "- Baseline" searches
hour by hour; the rule dispatched at its first scheduled run after the replay was indexed,
alert actions on; an attack gives exactly its number of result rows, each naming its entity,
and as many alerts; the rule's next scheduled run adds no alert (the throttle names the
incident); an incident across HH:00 whose second half arrives after a first run alerts once
in all; a benign twin or a variant one under the threshold gives nothing. One rule is then
left to Splunk's own scheduler for two runs, to show the same on a real schedule."""

import time

import pytest

from . import scenario_runner
from .conftest import CIM_MISSING, replay_into_splunk

MANIFEST = scenario_runner.replay.load_manifest()
VARIANTS = scenario_runner.replay.variants(MANIFEST)
SCHEDULER = MANIFEST["scheduler"]


@pytest.mark.parametrize("rule_id,variant,expect", VARIANTS, ids=["%s-%s" % v[:2] for v in VARIANTS])
def test_rule_over_its_scenario(splunk, scenarios, saved_searches, cim, e2e_settings, rule_id, variant, expect):
    plan = scenarios[(rule_id, variant)]
    if not cim and scenario_runner.needs_cim(saved_searches[plan.saved_search].get("search", ""), saved_searches):
        pytest.skip(CIM_MISSING)

    def deliver(held):
        return scenario_runner.deliver_held_back(splunk, e2e_settings.hec_url, e2e_settings.hec_token, held)

    scenario_runner.judge_variant(splunk, plan, saved_searches, scenarios.indexed_by, deliver=deliver)


@pytest.fixture
def scheduled_rule(splunk, stack, e2e_settings, names):
    """The manifest's scheduler variant replayed into its own index, the rule enabled with a
    short cron; disabled and put back afterwards."""
    name = MANIFEST["rules"][SCHEDULER["rule"]]["savedsearch"]
    start = time.time()
    plans = scenario_runner.plan_variants(names.prefix, start, run_id="s" + names.run,
                                          selection={(SCHEDULER["rule"], SCHEDULER["variant"])},
                                          index_for=lambda *_: names.prefix + "sched")
    replay_into_splunk(splunk, stack, e2e_settings, plans)
    original = splunk.saved_search(name)
    keys = ("cron_schedule", "schedule_window")
    with scenario_runner.Fixtures(splunk) as fixtures:
        fixtures.apply(plans[0].macros(), plans[0].run.lookups)
        splunk.update_saved_search(name, {"cron_schedule": SCHEDULER["cron"], "schedule_window": "0"})
        splunk.enable_saved_search(name)
        try:
            yield name, plans[0], start
        finally:
            splunk.disable_saved_search(name)
            splunk.update_saved_search(name, {key: original.get(key, "") for key in keys})


def test_the_scheduler_alerts_an_incident_once_over_consecutive_runs(splunk, scheduled_rule):
    name, plan, start = scheduled_rule
    scenario_runner.judge_scheduled_runs(splunk, name, plan.rows, SCHEDULER["runs"], start)
