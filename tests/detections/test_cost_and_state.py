"""What the rules cost and who may read what they learn: the events all scheduled searches
read in a day at 10,000 users, computed from the real crons, windows and neighbourhoods,
stay within 10 times the events ingested, and docs/detections.md states that figure; the
baseline collections and lookups (each employee's sign-in profile, item use, exports) are
readable only by the roles that run detections."""

import os
import re

import cost_model
import detections_lib as lib

META = os.path.join(lib.PACKAGE, "metadata", "default.meta")
DETECTION_ROLES = {"admin", "sc_admin", "ess_admin", "ess_analyst"}


def test_all_rules_read_at_most_ten_times_what_is_ingested():
    rows = cost_model.table()
    total = sum(events for _, _, _, events in rows)
    assert total <= 10 * cost_model.ingested(), "%d events read a day for %d ingested" % (total, cost_model.ingested())


def test_a_rule_that_read_a_day_every_run_would_break_the_budget():
    """The estimate reacts to the ranges: the old design (every rule reading 24 hours of its
    sourcetypes every run) is far above the budget."""
    total = 0
    for spec in lib.rules().values():
        head = spec["search"].split("\n", 1)[0]
        rate = sum(cost_model.RATES[s] for s in cost_model.sources(head))
        total += rate * cost_model.runs_per_day(spec["cron_schedule"])
    assert total > 10 * cost_model.ingested()


def test_docs_state_the_computed_cost():
    doc = open(lib.DOCS, encoding="utf-8").read()
    section = doc.split("## Cost", 1)[1].split("\n## ", 1)[0]
    rows = cost_model.table()
    for name, runs, window, events in rows:
        line = [l for l in section.splitlines() if l.startswith("| %s |" % name)]
        assert len(line) == 1, name
        assert "| {:,} |".format(events) in line[0], (name, events, line[0])
    total = sum(events for _, _, _, events in rows)
    assert "**{:,}**".format(total) in section
    assert "{:.1f}×".format(total / cost_model.ingested()) in section


def _meta():
    return lib.conf.read_conf(META)


def _readers(access):
    match = re.search(r"read\s*:\s*\[([^\]]*)\]", access)
    return {role.strip() for role in match.group(1).split(",")}


def test_baseline_collections_and_lookups_are_not_readable_by_everyone():
    meta = _meta()
    baselines = set()
    for spec in lib.baselines().values():
        baselines.add(re.search(r"outputlookup\s+(?:\w+=\S+\s+)*(\w+)", spec["search"]).group(1))
    assert baselines, "no baseline writes a lookup"
    for lookup in baselines:
        collection = lib.transforms()[lookup]["collection"]
        for stanza in ("transforms/%s" % lookup, "collections/%s" % collection):
            assert stanza in meta, "%s inherits the app's read : [ * ]" % stanza
            readers = _readers(meta[stanza]["access"])
            assert "*" not in readers and readers <= DETECTION_ROLES, (stanza, readers)
            assert "admin" in readers and "sc_admin" in readers


def test_the_input_writes_where_the_index_macro_reads():
    """Out of the box the rules find the events: the input's default index is the index the
    1password_index macro searches."""
    import json

    config = json.load(open(os.path.join(lib.ROOT, "globalConfig.json"), encoding="utf-8"))
    inputs = [entity for service in config["pages"]["inputs"]["services"] for entity in service["entity"]
              if entity["field"] == "index"]
    assert inputs and all(entity["defaultValue"] == "main" for entity in inputs)
    assert lib.macros()["1password_index"]["definition"] == "index=%s" % inputs[0]["defaultValue"]
