"""The rules rely only on Splunk behaviour that Splunk documents (docs/detections.md,
"Splunk behaviour the rules rely on"), checked here against the real savedsearches.conf
and macros.conf:

- a rule judges as new the events indexed in its window before the search's own latest
  time (addinfo's info_max_time, which follows the dispatch "now" of a scheduled or
  catch-up run), never before now(), which Splunk documents only as the time the search
  started; for that, the neighbourhood a subsearch returns sets no latest time;
- the neighbourhood subsearch returns one row (stats without BY) and bounds the number of
  key terms it writes into the outer search, so no subsearch limit truncates it, and at
  the documented rates of a 10,000-user company the bound is never reached;
- throttle fields hold one value per result, and one taken by stats from a field is set in
  every group;
- every search and macro is well formed: quotes, parentheses and brackets balance, and no
  line of a search lost its backslash continuation."""

import os
import re

import pytest

import cost_model
import detections_lib as lib

SAVED = lib.savedsearches()
MACROS = lib.macros()
RULES = lib.rules()
MARKED = sorted(name for name, spec in RULES.items() if lib.new_events_seconds(spec["search"]))
NEIGHBOURHOOD = sorted(name for name, spec in RULES.items() if lib.new_slice_seconds(spec["search"]))
SUBSEARCH_MAXOUT = 10000  # limits.conf [subsearch] maxout default: the OR Splunk itself builds from a subsearch
PEAK = 3  # sign-ins and item use crowd into working hours: the busiest hour carries up to 3 times the average


def _definition(name):
    return MACROS[name]["definition"]


def _eval_assignment(text, field):
    """The expression assigned to field by the last eval of text that assigns it."""
    found = None
    for command in text.split("|"):
        command = command.strip()
        if command.startswith("eval "):
            match = re.search(r"(?:^eval |,\s*)%s=(.*)$" % re.escape(field), command)
            if match:
                found = match.group(1)
    assert found, "no eval assigns %s in %r" % (field, text[:80])
    return found


def _string_literals(expression):
    return [re.sub(r"\\(.)", r"\1", literal) for literal in re.findall(r'"((?:\\.|[^"\\])*)"', expression)]


@pytest.mark.parametrize("name", MARKED)
def test_new_events_are_those_indexed_in_the_window_before_the_searchs_latest_time(name):
    spec = RULES[name]
    expanded = lib.expand_macros(spec["search"], MACROS)
    assert not re.search(r"\bnow\(\)|\btime\(\)", expanded), "%s measures its window from the wall clock" % name
    marker = _definition("onepassword_new_events(1)")
    assert re.match(r"addinfo \|", marker) and "info_max_time - $window_s$" in _eval_assignment(marker, "is_new")
    assert spec["dispatch.latest_time"] == "now", "info_max_time is the run's now only when the range ends at now"


@pytest.mark.parametrize("name", NEIGHBOURHOOD)
def test_the_neighbourhood_leaves_the_latest_time_at_now(name):
    """A search string that sets earliest but not latest ends at now (SPL reference, Time
    modifiers); a latest= returned by the subsearch would move info_max_time, and the
    window of new events with it."""
    definition = lib.expand_macros(_definition("onepassword_neighbourhood(2)"), MACROS)
    assert definition.rstrip().endswith("| fields search"), "one field, named search: rendered verbatim"
    terms = [t for t in _string_literals(_eval_assignment(definition, "search")) if "earliest=" in t or "latest=" in t]
    assert terms and all("latest=" not in t or t == "earliest=1 latest=2" for t in terms), terms
    # the empty range is used only when there is no new event
    assert re.search(r'case\(isnull\(earliest\), "earliest=1 latest=2"', definition)
    assert "latest" not in re.sub(r'"earliest=1 latest=2"', "", definition.split("stats count AS key_count", 1)[1]
                                   .split("| eval", 1)[1]), "no latest time computed from the events"


def test_the_neighbourhood_is_one_row_and_bounds_its_key_terms():
    definition = _definition("onepassword_neighbourhood(2)")
    stats = re.findall(r"\|\s*stats ([^|]*)", definition)
    assert stats and " by " not in stats[-1].lower() and "count AS key_count" in stats[-1], (
        "stats without BY returns one row, whatever the number of keys: the subsearch's result limit cannot cut it")
    search = _eval_assignment(definition, "search")
    assert "key_count > `onepassword_neighbourhood_max_keys`" in search
    assert "mvcount(key_terms) < key_count" in search, "keys values() left out are not silently dropped"
    cap = int(_definition("onepassword_neighbourhood_max_keys"))
    assert 0 < cap <= SUBSEARCH_MAXOUT


@pytest.mark.parametrize("name", NEIGHBOURHOOD)
def test_at_ten_thousand_users_a_run_stays_under_the_key_bound(name):
    """At the documented rates the key terms are used (the cost figures assume them): even
    if every new event of the busiest hour had its own key, a run sees fewer keys than
    the bound."""
    search = RULES[name]["search"]
    _, sub = cost_model.parts(search)
    keys = cost_model._rate(sub) * PEAK * lib.new_slice_seconds(search)
    assert keys < int(_definition("onepassword_neighbourhood_max_keys")), (name, round(keys))


MULTIVALUE = r"(?:values|list)\([^()]*\)\s+AS\s+{f}\b|\b{f}\s*=\s*(?:mvappend|split|mvdedup|mvfilter)\("


@pytest.mark.parametrize("name", sorted(RULES))
def test_throttle_fields_hold_one_value(name):
    """A multivalue throttle field makes the suppression key depend on the set of values a
    run happened to see; every throttle field comes from a BY clause, a single-value eval
    or a single-value function."""
    spec = RULES[name]
    expanded = lib.expand_macros(spec["search"], MACROS)
    for field in [f.strip() for f in spec["alert.suppress.fields"].split(",")]:
        assert not re.search(MULTIVALUE.format(f=re.escape(field)), expanded), "%s: %s is multivalue" % (name, field)


def _set_on_some_rows(expanded, field):
    """True when an eval gives field a value only on some rows (if(..., x, null()))."""
    return re.search(r"(?:eval |,\s*)%s=if\([^|]*?null\(\)\)" % re.escape(field), expanded) is not None


@pytest.mark.parametrize("name", sorted(RULES))
def test_throttle_fields_aggregated_by_stats_are_set_in_every_group(name):
    """A throttle field that stats takes from a field set only on some rows (the grant
    event of a self-grant) is null for a group without such a row, and the suppression
    key of that incident loses it; every such field is carried to every row first."""
    spec = RULES[name]
    expanded = lib.expand_macros(spec["search"], MACROS)
    commands = [c.strip() for c in expanded.split("|")]
    for field in [f.strip() for f in spec["alert.suppress.fields"].split(",")]:
        for command in commands:
            if not command.startswith("stats "):
                continue
            for source in re.findall(r"\w+\((\w+)\)\s+AS\s+%s\b" % re.escape(field), command):
                assert not _set_on_some_rows(expanded, source), "%s: %s comes from %s, null on some rows" % (
                    name, field, source)


def test_set_on_some_rows_finds_what_it_must():
    assert _set_on_some_rows('eval a=1, grant_event=if(phase="grant", uuid, null()) | stats', "grant_event")
    assert not _set_on_some_rows("eval grant_event=coalesce(x, y)", "grant_event")


def _balance(text):
    """None when quotes, parentheses and brackets balance outside string literals."""
    stack, in_string, index = [], False, 0
    while index < len(text):
        char = text[index]
        if in_string:
            if char == "\\":
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "([":
            stack.append(char)
        elif char in ")]":
            if not stack or {"(": ")", "[": "]"}[stack.pop()] != char:
                return "unbalanced %r at %d: %r" % (char, index, text[max(0, index - 60):index + 10])
        index += 1
    if in_string:
        return "unclosed string"
    return "unclosed %s" % stack if stack else None


def test_balance_finds_what_it_must():
    assert _balance('a [search b | eval c="x]" | where in(d, "(")]') is None
    assert _balance('a [search b | eval c=if(x, 1, 0]') is not None
    assert _balance('eval c="\\"') is not None


@pytest.mark.parametrize("name", sorted(SAVED))
def test_search_is_well_formed(name):
    spec = SAVED[name]
    for key in [k for k in spec if k == "search" or k.endswith(".drilldown_search")]:
        problem = _balance(lib.expand_macros(spec[key], MACROS))
        assert problem is None, "%s %s: %s" % (name, key, problem)


def test_macros_are_well_formed():
    for name, spec in MACROS.items():
        assert _balance(spec["definition"]) is None, name
        if "(" in name:
            args = [a.strip() for a in spec["args"].split(",")]
            assert len(args) == int(name.split("(")[1].rstrip(")")), name
            assert set(re.findall(r"\$(\w+)\$", spec["definition"])) == set(args), name


def test_no_search_line_lost_its_continuation():
    """A pipeline line after a line without a trailing backslash would end the search there
    (and be read as a broken setting)."""
    previous = ""
    with open(os.path.join(lib.DEFAULT, "savedsearches.conf"), encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.lstrip().startswith("|"):
                assert previous.rstrip("\n").endswith("\\"), "savedsearches.conf:%d follows a line without \\" % number
            previous = line
