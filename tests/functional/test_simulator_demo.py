"""The simulator's data stays out of the example rows the add-on ships, so a demo
does not light up detections by accident (issue 13, item 6)."""

import csv
import fnmatch
import ipaddress
import json
import os
import re

import pytest
from addonfactory_splunk_conf_parser_lib import TABConfigParser

from functional_helpers import ROOT
from simulator import STREAMS, EventsApiSimulator

LOOKUPS = os.path.join(ROOT, "package", "lookups")
TRANSFORMS = os.path.join(ROOT, "package", "default", "transforms.conf")


# -- item 6: nothing of the demo's data is in a shipped example row ----------------------
def _lookup_definitions():
    parser = TABConfigParser()
    parser.read(TRANSFORMS)
    return {stanza["filename"]: stanza for stanza in parser.item_dict().values() if "filename" in stanza}


def _rows(filename):
    with open(os.path.join(LOOKUPS, filename), newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _matcher(definition, key_column):
    """How Splunk matches a value against the lookup's key column (transforms.conf:
    match_type CIDR(...) / WILDCARD(...), case_sensitive_match, default exact and
    case-sensitive)."""
    match_type = definition.get("match_type", "")
    case_sensitive = definition.get("case_sensitive_match", "true").lower() not in ("false", "0")
    if "CIDR(%s)" % key_column in match_type:
        def cidr(value, key):
            try:
                return ipaddress.ip_address(value) in ipaddress.ip_network(key, strict=False)
            except ValueError:
                return False
        return cidr
    wildcard = "WILDCARD(%s)" % key_column in match_type

    def compare(value, key):
        if not case_sensitive:
            value, key = value.lower(), key.lower()
        return fnmatch.fnmatchcase(value, key) if wildcard else value == key
    return compare


def _strings(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def _default_data(seed):
    """What the command-line simulator serves by default (1000 events per stream),
    plus new events from its --rate production."""
    sim = EventsApiSimulator(seed=seed, signinattempts=1000, itemusages=1000, auditevents=1000)
    for stream in STREAMS:
        sim.append(stream, 200)
    return [json.loads(text) for stream in STREAMS for text in sim.items(stream)]


@pytest.fixture(scope="module")
def default_items():
    return {seed: _default_data(seed) for seed in (1, 2, 3)}


def test_simulated_values_match_no_example_row_of_any_shipped_list(default_items):
    definitions = _lookup_definitions()
    example_lists = {}
    for filename in sorted(os.listdir(LOOKUPS)):
        rows = _rows(filename)
        examples = [row for row in rows if (row.get("comment") or "").startswith("Example row")]
        if examples:
            key_column = next(iter(rows[0]))
            example_lists[filename] = (key_column, [row[key_column] for row in examples],
                                       _matcher(definitions[filename], key_column))
    # the lists the issue names are among them (a renamed comment must not empty this test)
    assert {"onepassword_trusted_networks.csv", "onepassword_admin_users.csv"} <= set(example_lists)
    for seed, items in default_items.items():
        values = {value for item in items for value in _strings(item)}
        addresses = {v for v in values if re.fullmatch(r"[0-9a-fA-F:.]+", v) and _is_ip(v)}
        assert any(":" in a for a in addresses) and any("." in a for a in addresses)
        for filename, (key_column, keys, matches) in example_lists.items():
            hits = sorted({(value, key) for value in values for key in keys if matches(value, key)})
            assert not hits, "seed %d: %s example row(s) match simulated values: %s" % (seed, filename, hits[:5])


def _is_ip(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def test_every_simulated_client_app_is_in_the_allowed_list(default_items):
    filename = "onepassword_allowed_client_apps.csv"
    matches = _matcher(_lookup_definitions()[filename], "app_name")
    allowed = [row["app_name"] for row in _rows(filename)]
    for seed, items in default_items.items():
        apps = {item["client"]["app_name"] for item in items if isinstance(item.get("client"), dict)}
        assert len(apps) >= 8
        unknown = sorted(app for app in apps if not any(matches(app, key) for key in allowed))
        assert not unknown, "seed %d: the demo would fire Unusual Client App for %s" % (seed, unknown)
