"""5. Detections: the real SPL of every rule over its replayed scenarios, against the
expectation written by hand in samples/scenarios/manifest.json (samples/scenarios/README.md,
"How the suite runs them"): the rule's baselines folded by their own "- Baseline" searches
hour by hour; the rule dispatched at its first scheduled run after the replay was indexed,
alert actions on; an attack gives exactly its number of result rows, each naming its entity,
and as many alerts; the rule's next scheduled run adds no alert (the throttle names the
incident); a benign twin or a variant one under the threshold gives nothing. One rule is then
left to Splunk's own scheduler for two runs, to show the same on a real schedule."""

import time

import pytest

from . import scenario_runner
from .conftest import CIM_MISSING, replay_into_splunk

MANIFEST = scenario_runner.replay.load_manifest()
VARIANTS = scenario_runner.replay.variants(MANIFEST)
SCHEDULER = MANIFEST["scheduler"]


def _dispatch(splunk, name, now, trigger_actions):
    result = splunk.finish(splunk.dispatch_saved_search(name, now=now, trigger_actions=trigger_actions))
    assert result.errors == [], result.errors
    return result


@pytest.mark.parametrize("rule_id,variant,expect", VARIANTS, ids=["%s-%s" % v[:2] for v in VARIANTS])
def test_rule_over_its_scenario(splunk, scenarios, saved_searches, cim, rule_id, variant, expect):
    plan = scenarios[(rule_id, variant)]
    rule = saved_searches[plan.saved_search]
    if not cim and scenario_runner.needs_cim(rule.get("search", ""), saved_searches):
        pytest.skip(CIM_MISSING)
    first_run = scenario_runner.scheduled_now(rule, scenarios.indexed_by)
    with scenario_runner.Fixtures(splunk) as fixtures:
        fixtures.apply(plan.macros(), plan.run.lookups)
        folded = scenario_runner.fold_baselines(splunk, plan, fixtures, saved_searches, first_run,
                                                (plan.now, scenarios.indexed_by))
        for name, runs in folded.items():
            # an hourly re-fold of the last hour changes nothing (upserted, idempotent)
            lookup = scenario_runner.baseline_lookup(saved_searches[name]["search"])
            before = scenario_runner.lookup_rows(splunk, lookup)
            splunk.finish(splunk.dispatch_saved_search(
                name, now=runs[-1], **scenario_runner.fold_overrides(saved_searches[name],
                                                                     (plan.now, scenarios.indexed_by))))
            assert scenario_runner.lookup_rows(splunk, lookup) == before, "re-folding %s changed it" % name
        if expect == "silent":
            rows = _dispatch(splunk, plan.saved_search, first_run, trigger_actions=False).rows
            ok, why = scenario_runner.verdict(expect, rows, plan.entity, plan.attack, plan.own_inputs, plan.strict)
            assert ok, "%s %s (silent): %s" % (plan.saved_search, variant, why)
            return
        first = _dispatch(splunk, plan.saved_search, first_run, trigger_actions=True)
        ok, why = scenario_runner.verdict(expect, first.rows, plan.entity, plan.attack, plan.own_inputs, plan.strict,
                                          expected_rows=plan.rows)
        assert ok, "%s %s (fire): %s" % (plan.saved_search, variant, why)
        next_run = scenario_runner.next_run(rule["cron_schedule"], first_run)
        second = _dispatch(splunk, plan.saved_search, next_run, trigger_actions=True)
        alerts = scenario_runner.wait_alerts(splunk, plan.saved_search, [first.sid, second.sid], plan.rows)
        assert alerts == {first.sid: plan.rows, second.sid: 0}, (
            "%s %s: the incident must alert %d time(s) at its first run and never again at the next one, "
            "whose window still holds it; alerts by run: %s" % (plan.saved_search, variant, plan.rows, alerts))


@pytest.fixture
def scheduled_rule(splunk, stack, e2e_settings, names, saved_searches):
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
    from .splunk_client import wait_for

    name, plan, start = scheduled_rule
    runs_wanted = SCHEDULER["runs"]

    def runs_that_see_it():
        runs = [run for run in scenario_runner.scheduled_runs(splunk, name, start)
                if int(float(run.get("result_count") or 0)) > 0]
        return runs if len(runs) >= runs_wanted else None

    runs = wait_for(runs_that_see_it, 1200, 20, "%d scheduled runs of %s that see the incident" % (runs_wanted, name),
                    splunk.sleep, splunk.clock)[:runs_wanted]
    for run in runs:
        assert int(float(run["result_count"])) == plan.rows, run
    sids = [run["sid"] for run in runs]
    alerts = scenario_runner.wait_alerts(splunk, name, sids, plan.rows)
    assert alerts == dict({sids[0]: plan.rows}, **{sid: 0 for sid in sids[1:]}), (
        "%s: %d scheduled runs saw the incident; it must alert once, at the first: %s" % (name, len(runs), alerts))
