"""tests/e2e/dashboard_runner.py over the real dashboards: every search can be made
runnable (tokens resolved; a drilldown's row comes from a search that has its fields)."""

import re

import pytest

from e2e import dashboard_runner as dr
from e2e import scenario_runner as sr

QUERIES = dr.queries()
DEFINITIONS = dr.definitions()


def test_there_are_searches_for_every_dashboard():
    assert DEFINITIONS and {e["dashboard"] for e in QUERIES} == set(DEFINITIONS)
    ids = [dr.entry_id(e) for e in QUERIES]
    assert len(ids) == len(set(ids))


def test_row_tokens_and_filling():
    spl = 'x source="*_$row.input.value$.log" user=$row.user.value$ $row.input.value$ q=$row.src.value|s$'
    assert dr.row_tokens(spl) == ["input", "src", "user"]
    row = {"input": "in1", "user": ["ada", "bob"], "src": 'say "hi"'}
    assert dr.fill_row_tokens(spl, row) == 'x source="*_in1.log" user=ada in1 q="say \\"hi\\""'
    assert dr.first_usable_row([{"input": ""}, {"input": "a"}, {"input": "b", "user": "u"}],
                               ["input", "user"]) == {"input": "b", "user": "u"}
    assert dr.first_usable_row([{"input": "a"}], ["user"]) is None


def test_unresolved_tokens_ignore_literal_dollars():
    assert dr.unresolved_tokens('eval x="$$5" | search a=$account$') == ["$account$"]
    assert dr.unresolved_tokens("eval price=\"$$\"") == []


@pytest.mark.parametrize("entry", QUERIES, ids=[dr.entry_id(e) for e in QUERIES])
def test_every_search_is_runnable(entry):
    spl = entry["spl"]
    assert spl.strip(), entry
    tokens = dr.row_tokens(spl)
    if tokens:
        source_id = dr.drilldown_source(DEFINITIONS, entry)
        source = [e for e in QUERIES if e["dashboard"] == entry["dashboard"] and e["id"] == source_id]
        assert len(source) == 1, (entry["id"], source_id)
        for token in tokens:  # the clicked row has the field: the source search names it
            assert re.search(r"\b%s\b" % re.escape(token), source[0]["spl"]), (source_id, token)
        spl = dr.fill_row_tokens(spl, {token: "value" for token in tokens})
    assert dr.unresolved_tokens(spl) == []
    for key in ("earliest", "latest"):
        assert entry[key] is None or "$" not in entry[key], entry


def test_the_allowed_empty_searches_exist():
    keys = {(e["dashboard"], e["id"]) for e in QUERIES}
    assert set(dr.EMPTY_ALLOWED) <= keys


def test_no_dashboard_search_needs_the_cim_app():
    """The rule panels run the rules inline; the rules read the add-on's events."""
    rules = sr.read_savedsearches()
    assert {(e["dashboard"], e["id"]) for e in QUERIES if sr.needs_cim(e["spl"], rules)} == set()
    assert any("savedsearch" in e["spl"] for e in QUERIES if e["dashboard"] == "onepassword_high_risk")
