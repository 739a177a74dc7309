"""5. Detections: each rule over its replayed attack scenario returns results; over its
benign twin, none (docs/detections.md, "Scenarios and replay")."""

import pytest

from . import scenario_runner
from .conftest import CIM_MISSING

VARIANTS = scenario_runner.replay.variants()


@pytest.mark.parametrize("rule_id,variant,expect", VARIANTS, ids=["%s-%s" % v[:2] for v in VARIANTS])
def test_rule_over_its_scenario(splunk, scenarios, saved_searches, cim, rule_id, variant, expect):
    plan = scenarios[(rule_id, variant)]
    rule = saved_searches[plan.saved_search]
    if not cim and scenario_runner.needs_cim(rule.get("search", ""), saved_searches):
        pytest.skip(CIM_MISSING)
    with scenario_runner.Fixtures(splunk) as fixtures:
        fixtures.apply(plan.macros(), plan.run.lookups)
        sid = splunk.dispatch_saved_search(plan.saved_search, now=plan.run.dispatch["dispatch.now"])
        result = splunk.finish(sid)
    assert result.errors == [], result.errors
    ok, why = scenario_runner.verdict(expect, result.rows, plan.entity, plan.attack, plan.own_inputs, plan.strict)
    assert ok, "%s %s (%s): %s" % (plan.saved_search, variant, expect, why)
