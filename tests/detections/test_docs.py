"""docs/detections.md: a catalog row and a section per rule and report (id, MITRE ids,
macros with their current defaults, scenario files), every customer list with its columns,
and every macro the rules use with the default macros.conf ships."""

import json
import re

import pytest

import detections_lib as lib

DOC = open(lib.DOCS, encoding="utf-8").read()
SAVED = lib.savedsearches()
MANIFEST = lib.manifest()
MACROS = lib.macros()


def _section(title):
    match = re.search(r"^### %s\n(.*?)(?=^### |^## |\Z)" % re.escape(title), DOC, re.MULTILINE | re.DOTALL)
    assert match, "docs/detections.md has no section '### %s'" % title
    return match.group(1)


def _catalog():
    return DOC.split("## Catalog", 1)[1].split("\n## ", 1)[0]


EDGE_VARIANTS = ("at_threshold", "below_threshold", "straddle_hour", "late_indexed", "two_bursts", "two_exports")


@pytest.mark.parametrize("name", sorted(lib.rules()))
def test_rule_has_a_catalog_row_and_a_section(name):
    spec = SAVED[name]
    rule_id = lib.rule_id(spec["search"])
    row = [line for line in _catalog().splitlines() if line.startswith("| [%s]" % name)]
    assert len(row) == 1, name
    section = _section(name)
    assert "`%s`" % rule_id in section and "`%s`" % rule_id in row[0]
    for technique in json.loads(spec["action.correlationsearch.annotations"])["mitre_attack"]:
        assert technique in section and technique in row[0], technique
    for heading in ("**Catches.**", "**Logic.**", "**Defaults and tuning.**", "**False positives.**", "**Scenarios.**"):
        assert heading in section, (name, heading)
    for macro, _ in lib.macro_refs(spec["search"]):
        if macro.startswith("onepassword_") and macro not in ("onepassword_signin_events", "onepassword_itemusage_events",
                                                             "onepassword_audit_events", "onepassword_events"):
            assert "`%s`" % macro in section, "%s: section does not mention macro %s" % (name, macro)
    for variant in MANIFEST["rules"][rule_id]["variants"]:
        if variant["name"] in EDGE_VARIANTS:  # the e2e suite's edge cases: samples/scenarios/README.md
            continue
        assert "`samples/scenarios/%s`" % variant["file"] in section, variant["file"]
    assert spec["dispatch.earliest_time"] in section and spec["alert.suppress.period"] in section


@pytest.mark.parametrize("name", sorted(lib.reports()))
def test_report_has_a_section(name):
    section = _section(name)
    assert SAVED[name]["cron_schedule"] in section and SAVED[name]["dispatch.earliest_time"] in section


def test_macro_table_shows_the_shipped_defaults():
    table = DOC.split("## Macros", 1)[1].split("\n## ", 1)[0]
    documented = {name: nested or plain for name, nested, plain in
                  re.findall(r"^\| `([a-z0-9_]+(?:\(\d\))?)` \| (?:`` (.*?) ``|`(.*?)`) \|", table, re.MULTILINE)}
    used = set()
    for spec in list(lib.rules().values()) + list(lib.baselines().values()):
        used |= {m for m in lib.used_macros([spec["search"]]) if not m.endswith("_filter")}
    used -= {"onepassword_signin_events", "onepassword_itemusage_events", "onepassword_audit_events",
             "1password_index", "1password_signin_attempts_index", "1password_item_usages_index",
             "1password_audit_events_index"}
    assert used <= set(documented), used - set(documented)
    for name, default in documented.items():
        assert MACROS[name]["definition"] == default.replace("\\|", "|"), "%s: doc says %r" % (name, default)


def test_customer_lists_are_documented_with_their_columns():
    table = DOC.split("## Customer lists (lookups)", 1)[1].split("\n## ", 1)[0]
    transforms = lib.transforms()
    for lookup in ("onepassword_trusted_networks", "onepassword_allowed_client_apps", "onepassword_privileged_groups",
                   "onepassword_privileged_vaults", "onepassword_sensitive_items", "onepassword_departing_users",
                   "onepassword_provisioning_actors", "onepassword_grant_actions", "onepassword_admin_users"):
        row = [line for line in table.splitlines() if line.startswith("| `%s`" % lookup)]
        assert len(row) == 1, lookup
        for column in lib.csv_header(transforms[lookup]["filename"]):
            assert "`%s`" % column in row[0], (lookup, column)


def test_replay_interface_is_documented():
    section = DOC.split("## Scenarios and replay", 1)[1].split("\n## Tests", 1)[0]
    for needle in ("replay.materialize", "hec_events", "api_items", "log_files", "load_into_simulator", "dispatch.now",
                   "manifest.json", "1password_index", "splunk_searchtime_fields_savedsearches"):
        assert needle in section, needle
