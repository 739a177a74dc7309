"""Installed beside 1Password's own app (onepassword_events_api), which uses the same three
sourcetypes: its props.conf and ours meet under Splunk's precedence rules (app_precedence.py).
What comes out: our line breaking, timestamps and TRUNCATE at index time; at search time,
in whichever app a search runs, every field and CIM value the add-on sets, with two of its
aliases added beside them (docs/admin.md, "Beside 1Password's own app")."""

import json
import os

import pytest

from app_precedence import merged, precedence
from cim_mapping import PACKAGE, SOURCETYPES, Mapping, SourcetypeProps, read_conf
from test_samples import DATA_CONF, _sample_events

HERE = os.path.dirname(os.path.abspath(__file__))
OURS = "TA-1password-events"
with open(os.path.join(HERE, "fixtures", "onepassword_app_settings.json"), encoding="utf-8") as _handle:
    THEIRS = json.load(_handle)
APPS = {
    OURS: read_conf(os.path.join(PACKAGE, "default", "props.conf")),
    THEIRS["app_folder"]: THEIRS["props"],
}
# props.conf attributes applied when data is parsed (global context) rather than searched
INDEX_TIME = {"LINE_BREAKER", "SHOULD_LINEMERGE", "TRUNCATE", "TIME_PREFIX", "TIME_FORMAT", "MAX_TIMESTAMP_LOOKAHEAD",
              "TZ", "DATETIME_CONFIG", "MAX_DAYS_AGO", "MAX_DAYS_HENCE"}
# where a search may run: our app, theirs, or any other (Search & Reporting, Enterprise Security)
CONTEXTS = [OURS, THEIRS["app_folder"], "search", "SplunkEnterpriseSecuritySuite"]
# fields their aliases add that we do not set (read from their props.conf): harmless, not CIM fields we set
ADDED_BY_THEIRS = {
    "1password:insights:signin_attempts": set(),
    "1password:insights:item_usages": {"result_id", "command"},
    "1password:insights:audit_events": {"result_id"},
}


def test_the_rules_the_merge_follows():
    apps = {"Zeta": {"s": {"k": "Z", "z_only": "1"}}, "alpha": {"s": {"k": "a"}}, "Alpha": {"s": {"k": "A"}}}
    assert precedence(apps) == ["Alpha", "Zeta", "alpha"]  # uppercase before lowercase
    assert merged(apps, "s") == {"k": "A", "z_only": "1"}
    assert merged(apps, "s", context="search") == {"k": "a", "z_only": "1"}  # reverse order at search time
    assert merged(apps, "s", context="Zeta") == {"k": "Z", "z_only": "1"}  # the running app first
    assert merged(apps, "s", context="search", exported=lambda app: app != "alpha")["k"] == "Z"


def test_our_folder_sorts_before_theirs_so_ours_wins_at_index_time():
    assert precedence(APPS) == [OURS, "onepassword_events_api"]
    assert precedence(APPS, context="search") == ["onepassword_events_api", OURS]


@pytest.mark.parametrize("sourcetype", SOURCETYPES)
def test_index_time_settings_are_ours_whoever_else_sets_them(sourcetype):
    result = merged(APPS, sourcetype)
    ours = APPS[OURS][sourcetype]
    for key in INDEX_TIME & (set(ours) | set(THEIRS["props"][sourcetype])):
        assert key in ours, "%s of 1Password's app would apply to our events: set it in our props.conf" % key
        assert result[key] == ours[key]
    # their TIME_FORMAT (whole seconds, for the timestamps their Go client rewrites) is
    # replaced by an empty one: Splunk's own recognition, which keeps the API's fractions
    assert result["TIME_FORMAT"] == "" and result["TIME_PREFIX"] == ours["TIME_PREFIX"]
    assert int(result["TRUNCATE"]) >= 100000 and result["LINE_BREAKER"] == "([\\r\\n]+)"


def _mapping_in(context):
    mapping = Mapping()
    transforms = read_conf(os.path.join(PACKAGE, "default", "transforms.conf"))
    exports = {OURS: True, THEIRS["app_folder"]: THEIRS["exports"]["props"] == "system"}
    mapping.props = {st: SourcetypeProps(merged(APPS, st, context=context, exported=exports.get), transforms)
                     for st in SOURCETYPES}
    return mapping


ALONE = Mapping()
BESIDE = {context: _mapping_in(context) for context in CONTEXTS}


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("name, event", list(_sample_events()))
def test_every_field_we_set_holds_beside_their_app_in_every_app_context(context, name, event):
    settings = DATA_CONF[name]
    sourcetype, raw, source = settings["sourcetype"], event["raw"], settings["source"]
    alone = ALONE.all_fields(sourcetype, raw, source)
    beside = BESIDE[context].all_fields(sourcetype, raw, source)
    changed = {key: (value, beside.get(key)) for key, value in alone.items() if beside.get(key) != value}
    assert changed == {}, "field: (ours alone, beside 1Password's app)"
    added = set(beside) - set(alone)
    assert added <= ADDED_BY_THEIRS[sourcetype]
    assert BESIDE[context].model(sourcetype, beside) == ALONE.model(sourcetype, alone)


def test_their_dashboards_find_our_index_macros_and_ours_meet_none_of_theirs():
    macros = read_conf(os.path.join(PACKAGE, "default", "macros.conf"))
    assert THEIRS["macros_defined"] == {}
    for name in THEIRS["macros_called_by_its_dashboards"]:
        assert macros[name]["definition"] == "`1password_index`"
    meta = read_conf(os.path.join(PACKAGE, "metadata", "default.meta"))
    assert meta["macros"]["export"] == "system" and meta["props"]["export"] == "system"
