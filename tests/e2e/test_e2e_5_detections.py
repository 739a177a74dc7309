"""5. Detections: the real SPL of every rule over its replayed scenarios, against the
expectation written by hand in samples/scenarios/manifest.json (docs/detections.md,
"Scenarios and replay"): an attack gives exactly its number of result rows, each naming its
entity; a benign twin gives none; and a rule dispatched again one interval later (its next
scheduled run) does not report the same incident twice."""

import pytest

from . import scenario_runner
from .conftest import CIM_MISSING

VARIANTS = scenario_runner.replay.variants()


def _dispatch(splunk, plan, now):
    sid = splunk.dispatch_saved_search(plan.saved_search, now=now)
    result = splunk.finish(sid)
    assert result.errors == [], result.errors
    return result.rows


@pytest.mark.parametrize("rule_id,variant,expect", VARIANTS, ids=["%s-%s" % v[:2] for v in VARIANTS])
def test_rule_over_its_scenario(splunk, scenarios, saved_searches, cim, rule_id, variant, expect):
    plan = scenarios[(rule_id, variant)]
    rule = saved_searches[plan.saved_search]
    if not cim and scenario_runner.needs_cim(rule.get("search", ""), saved_searches):
        pytest.skip(CIM_MISSING)
    assert scenarios.indexed_by < scenario_runner.slice_end(plan, saved_searches), (
        "the replay was indexed after the end of the rule's slice: it took too long to judge it as new")
    with scenario_runner.Fixtures(splunk) as fixtures:
        fixtures.apply(plan.macros(), plan.run.lookups)
        scenario_runner.seed_baselines(splunk, plan, fixtures, saved_searches)
        rows = _dispatch(splunk, plan, plan.now)
        ok, why = scenario_runner.verdict(expect, rows, plan.entity, plan.attack, plan.own_inputs, plan.strict,
                                          expected_rows=plan.rows)
        assert ok, "%s %s (%s): %s" % (plan.saved_search, variant, expect, why)
        if expect == "fire" and plan.interval:
            again = _dispatch(splunk, plan, plan.now + plan.interval)
            ok, why = scenario_runner.verdict("silent", again, plan.entity, plan.attack, plan.own_inputs,
                                              plan.strict)
            assert ok, "%s %s: the next run reports the incident again: %s" % (plan.saved_search, variant, why)
