"""tests/e2e/scenario_runner.py: per-variant indexes, the fire/silent verdicts, the lookup
and macro fixtures (applied and restored through a fake client), and which rules need
the CIM app."""

import csv
import json
import os
import re

import pytest

from e2e import scenario_runner as sr
from e2e.settings import ROOT, SPLUNK_LOG_DIR

INDEX_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
PREFIX = "op_e2e_abc123_"


@pytest.fixture(scope="module")
def plans():
    return sr.plan_variants(PREFIX, 1767225600.0, run_id="t1")


def test_every_variant_gets_its_own_valid_index(plans):
    indexes = [plan.index for plan in plans]
    assert len(set(indexes)) == len(indexes) == len(sr.replay.variants())
    for index in indexes:
        assert INDEX_NAME.match(index) and index.startswith(PREFIX) and len(index) <= 60, index
    assert sr.variant_index(PREFIX, "brute_force_ip", "attack") == sr.variant_index(PREFIX, "brute_force_ip", "attack")


def test_plans_carry_what_the_replay_needs(plans):
    by_id = {plan.id: plan for plan in plans}
    attack = by_id["brute_force_ip-attack"]
    assert attack.expect == "fire" and attack.entity == {"src": "203.0.113.66"} and attack.strict
    assert attack.saved_search == "1Password - Brute Force From One IP - Rule"
    assert attack.hec_payloads and {p["index"] for p in attack.hec_payloads} == {attack.index}
    assert attack.macros() == {"1password_index": "index=%s" % attack.index}
    errors = by_id["collector_api_errors-attack"]
    assert not errors.strict and errors.own_inputs == ["scn_errors_attack"]
    assert list(errors.log_paths()) == ["%s/ta_1password_events_scn_errors_attack.log" % SPLUNK_LOG_DIR]
    benign = by_id["collector_api_errors-benign"]
    assert benign.attack == [{"input": "scn_errors_attack", "error_category": "authentication"}]
    admin = by_id["suspicious_admin_signin-attack_off_hours"]
    assert admin.macros()["onepassword_business_hours"] == "false()"
    assert sr.expected_counts([attack])[attack.index] == len(attack.hec_payloads)
    assert sum(sr.expected_log_lines([errors]).values()) == sum(len(t.splitlines()) for t in errors.log_files.values())


def test_selection_and_a_shared_index(plans):
    chosen = sr.plan_variants(PREFIX, 1767225600.0, run_id="t2", selection={("brute_force_ip", "attack"),
                                                                           ("vault_export", "attack")},
                              index_for=lambda *_: PREFIX + "dash")
    assert sorted(p.id for p in chosen) == ["brute_force_ip-attack", "vault_export-attack"]
    assert {p.index for p in chosen} == {PREFIX + "dash"}
    assert sr.expected_counts(chosen) == {PREFIX + "dash": sum(len(p.hec_payloads) for p in chosen)}
    # another run id, other event ids: replaying twice into one index stays unique
    again = {p.id: p for p in sr.plan_variants(PREFIX, 1767225600.0, run_id="t3",
                                               selection={("brute_force_ip", "attack")})}
    first = {p.id: p for p in plans}
    assert again["brute_force_ip-attack"].hec_payloads[0]["event"] != first["brute_force_ip-attack"].hec_payloads[0]["event"]


def test_entity_matching_handles_multivalue_fields():
    row = {"user": ["ada@example.com", "bob@example.com"], "src": "203.0.113.66", "count": 3}
    assert sr.row_has_entity(row, {"user": "bob@example.com", "src": "203.0.113.66"})
    assert sr.row_has_entity(row, {"count": 3})
    assert not sr.row_has_entity(row, {"user": "carl@example.com"})
    assert not sr.row_has_entity(row, {"dest": "x"})
    assert sr.row_has_entity(row, {})


@pytest.mark.parametrize("expect,rows,kwargs,ok", [
    ("fire", [{"src": "1.2.3.4"}], {"entity": {"src": "1.2.3.4"}}, True),
    ("fire", [{"src": "9.9.9.9"}], {"entity": {"src": "1.2.3.4"}}, False),
    ("fire", [], {"entity": {}}, False),
    ("silent", [], {}, True),
    ("silent", [{"src": "9.9.9.9"}], {"strict": True}, False),
    ("silent", [{"input": "real_input"}], {"strict": False, "attack": [{"input": "scn_a"}],
                                           "own_inputs": ["scn_b"]}, True),
    ("silent", [{"input": "scn_a", "error_category": "x"}], {"strict": False, "attack": [{"input": "scn_a"}]}, False),
    ("silent", [{"input": ["scn_b", "z"]}], {"strict": False, "own_inputs": ["scn_b"]}, False),
])
def test_verdict(expect, rows, kwargs, ok):
    assert sr.verdict(expect, rows, **kwargs)[0] is ok


@pytest.mark.parametrize("rows,expected,ok", [
    ([{"user": "a"}], 1, True),
    ([{"user": "a"}, {"user": "a"}], 1, False),          # the same incident twice: two alerts
    ([{"user": "a"}, {"user": "b"}], 2, False),          # a row without the entity
    ([{"user": "a"}, {"user": "a"}], 2, True),
    ([], 1, False),
])
def test_a_firing_variant_gives_exactly_its_hand_written_number_of_rows(rows, expected, ok):
    assert sr.verdict("fire", rows, {"user": "a"}, expected_rows=expected)[0] is ok


def test_plans_carry_the_hand_written_rows_and_the_baselines(plans):
    by_id = {plan.id: plan for plan in plans}
    assert by_id["brute_force_ip-attack"].rows == 1 and by_id["brute_force_ip-benign"].rows is None
    assert by_id["item_access_surge-attack"].baselines == ["1Password - Item Usage Hourly - Baseline"]
    assert by_id["vault_export-attack"].baselines == []


def test_each_rule_is_dispatched_where_its_new_event_slice_holds_the_replay():
    start = 1767225623.5
    saved = sr.read_savedsearches()
    plans = sr.plan_variants(PREFIX, start, run_id="t4", per_rule_now=True, saved_searches=saved)
    for plan in plans:
        rule = saved[plan.saved_search]
        if plan.interval is None:
            assert plan.rule_id == "collector_stream_silent" and plan.now == int(start) + 60
            continue
        end = sr.slice_end(plan, saved)
        assert end - plan.interval <= start - 1, plan.id      # the slice starts before the replay
        assert end - start >= plan.interval - 120, plan.id    # and leaves the indexing most of it
        assert plan.interval == sr.replay.new_events_interval(rule["search"])
        # the events are placed for that now: the rule's own range still holds them
        earliest = sr.replay.relative_time(plan.now, rule["dispatch.earliest_time"])
        recent = [e["time"] for e in plan.run.events if e["time"] >= earliest]
        assert recent and max(recent) < end, plan.id


def test_baselines_are_emptied_then_seeded_from_the_variant_and_restored(plans):
    client = FakeClient()
    client.lookups["onepassword_item_usage_hourly"] = [{"user": "kept", "hour": "1", "items": "2"}]
    plan = {p.id: p for p in plans}["item_access_surge-attack"]
    saved = sr.read_savedsearches()
    with sr.Fixtures(client) as fixtures:
        sr.seed_baselines(client, plan, fixtures, saved)
        assert client.lookups["onepassword_item_usage_hourly"] == []
        seeded = [c for c in client.calls if c[1].startswith("| savedsearch")]
        assert seeded == [("search", '| savedsearch "1Password - Item Usage Hourly - Baseline"',
                           {"earliest": "-30d", "latest": "now", "now": plan.now})]
    assert client.lookups["onepassword_item_usage_hourly"] == [{"user": "kept", "hour": "1", "items": "2"}]


def test_verdict_refuses_an_unknown_expectation():
    with pytest.raises(ValueError):
        sr.verdict("maybe", [])


def test_merged_fixtures_union_rows_and_keep_the_first_macro(plans):
    chosen = [p for p in plans if p.rule_id == "suspicious_admin_signin"]
    lookups, macros = sr.merged_fixtures(chosen)
    assert lookups["onepassword_admin_users"] == [{"user": "grace@example.com", "user_role": "Owner",
                                                   "comment": "scenario fixture"}]
    assert macros == {"onepassword_business_hours": chosen[0].run.macros["onepassword_business_hours"]}


def test_every_fixture_lookup_exists_with_the_columns_the_rows_use(plans):
    transforms = sr.read_conf(os.path.join(ROOT, "package", "default", "transforms.conf"))
    for plan in plans:
        for lookup, rows in plan.run.lookups.items():
            assert lookup in transforms, lookup
            path = os.path.join(ROOT, "package", "lookups", transforms[lookup]["filename"])
            with open(path, encoding="utf-8", newline="") as handle:
                header = next(csv.reader(handle))
            for row in rows:
                assert set(row) <= set(header), (plan.id, lookup, set(row) - set(header))


def test_every_macro_the_runner_sets_exists_in_the_add_on(plans):
    macros = sr.read_conf(os.path.join(ROOT, "package", "default", "macros.conf"))
    assert sr.INDEX_MACRO in macros
    for plan in plans:
        for name in plan.macros():
            assert name in macros, (plan.id, name)


def _unquote_spl(literal):
    assert literal[0] == literal[-1] == '"'
    return re.sub(r'\\(.)', r"\1", literal[1:-1])


def test_write_lookup_spl_round_trips_rows_with_quotes():
    rows = [{"user": 'o"hara@example.com', "comment": "back\\slash, é"}, {"user": "x", "comment": None}]
    spl = sr.write_lookup_spl("onepassword_admin_users", ["user", "user_role", "comment"], rows)
    match = re.fullmatch(r'\| makeresults format=json data=("(?:[^"\\]|\\.)*") \| table "user" "user_role" '
                         r'"comment" \| outputlookup onepassword_admin_users', spl)
    assert match, spl
    assert json.loads(_unquote_spl(match.group(1))) == [
        {"user": 'o"hara@example.com', "user_role": "", "comment": "back\\slash, é"},
        {"user": "x", "user_role": "", "comment": ""}]


def test_lookup_columns_drop_internal_fields_and_add_new_ones():
    assert sr.lookup_columns(["_time", "user", "comment"], [{"user": "a", "extra": "b"}]) == ["user", "comment",
                                                                                              "extra"]


class FakeResult:
    def __init__(self, rows=(), fields=(), errors=()):
        self.rows, self.fields, self.errors = list(rows), list(fields), list(errors)


class FakeClient:
    def __init__(self):
        self.macros = {"1password_index": "index=*", "onepassword_business_hours": "in(hour, 9)"}
        self.lookups = {"onepassword_admin_users": [{"user": "admin@example.com", "user_role": "Owner",
                                                     "comment": "Example row"}]}
        self.calls = []

    def set_macro(self, name, definition, app=None):
        self.calls.append(("macro", name, definition))
        previous = self.macros.get(name)
        self.macros[name] = definition
        return previous

    def search(self, spl, app=None, **kwargs):
        self.calls.append(("search", spl))
        if spl.startswith("| savedsearch "):
            self.calls[-1] = ("search", spl, kwargs)
            return FakeResult()
        empty = re.fullmatch(r"\| makeresults \| where 1=0 \| outputlookup override_if_empty=true (\w+)", spl)
        if empty:
            self.lookups[empty.group(1)] = []
            return FakeResult()
        read = re.fullmatch(r"\| inputlookup (\w+)", spl)
        if read:
            rows = self.lookups[read.group(1)]
            return FakeResult(rows, list(rows[0]) if rows else ["user", "user_role", "comment"])
        write = re.fullmatch(r'\| makeresults format=json data=("(?:[^"\\]|\\.)*") \| table .* \| outputlookup (\w+)',
                             spl)
        assert write, spl
        self.lookups[write.group(2)] = json.loads(_unquote_spl(write.group(1)))
        return FakeResult()


def test_fixtures_apply_then_restore_everything():
    client = FakeClient()
    original_lookups = json.loads(json.dumps(client.lookups))
    row = {"user": "grace@example.com", "user_role": "Owner", "comment": "scenario fixture"}
    with sr.Fixtures(client) as fixtures:
        fixtures.apply({"1password_index": "index=a", "onepassword_business_hours": "true()"},
                       {"onepassword_admin_users": [row]})
        fixtures.set_macro("1password_index", "index=b")
        assert client.macros == {"1password_index": "index=b", "onepassword_business_hours": "true()"}
        assert client.lookups["onepassword_admin_users"] == original_lookups["onepassword_admin_users"] + [row]
    assert client.macros == {"1password_index": "index=*", "onepassword_business_hours": "in(hour, 9)"}
    assert client.lookups == original_lookups


def test_fixture_restore_reports_what_it_could_not_restore():
    client = FakeClient()
    fixtures = sr.Fixtures(client).apply({"1password_index": "index=a"})

    def broken(*args, **kwargs):
        raise RuntimeError("splunkd down")

    client.set_macro = broken
    with pytest.raises(AssertionError, match="1password_index: splunkd down"):
        fixtures.restore()


def test_needs_cim_follows_saved_search_calls():
    rules = sr.read_savedsearches()
    # no rule of the add-on reads a data model (docs/fields.md, "CIM version")
    assert not any(sr.needs_cim(spec["search"], rules) for spec in rules.values())
    assert not sr.needs_cim('| savedsearch "1Password - Brute Force From One IP - Rule" | head 100', rules)
    assert not sr.needs_cim('| savedsearch "no such rule"', rules)
    cim_rule = {"search": "| tstats count from datamodel=Authentication.Authentication by _time"}
    nested = dict(rules, cim_rule=cim_rule, outer={"search": '| savedsearch "cim_rule" | head 100'},
                  loop={"search": '| savedsearch "loop"'})
    assert sr.needs_cim(cim_rule["search"], nested)
    assert sr.needs_cim('| savedsearch "outer"', nested)
    assert not sr.needs_cim('| savedsearch "loop"', nested)


class ReplayClient:
    """A splunkd that indexes what it is sent a poll later, for replay_into_splunk."""

    def __init__(self, log_baseline=None):
        self.indexes, self.sent, self.polls = [], [], 0
        self.log_baseline = dict(log_baseline or {})
        self.appended = {}
        self.now = 0.0

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        self.polls += 1

    def create_index(self, name):
        self.indexes.append(name)

    def hec_events(self, url, token, payloads):
        assert (url, token) == ("https://hec", "tok")
        self.sent.extend(payloads)

    def search(self, spl_text, earliest=None, **kwargs):
        if spl_text.startswith("| tstats"):
            counts = {}
            if self.polls >= 1:  # searchable one poll after sending
                for payload in self.sent:
                    counts[payload["index"]] = counts.get(payload["index"], 0) + 1
            return FakeResult([{"index": k, "count": str(v)} for k, v in counts.items()])
        assert spl_text.startswith("search index=_internal (") and earliest == "-30d"
        counts = dict(self.log_baseline)
        if self.polls >= 2:
            for path, lines in self.appended.items():
                counts[path] = counts.get(path, 0) + lines
        return FakeResult([{"source": k, "count": str(v)} for k, v in counts.items()])


class ReplayStack:
    def __init__(self, client):
        self.client = client
        self.calls = []

    def append_file(self, service, path, text, user=None):
        self.calls.append((service, path, user))
        self.client.appended[path] = self.client.appended.get(path, 0) + len(text.splitlines())


def test_replay_into_splunk_sends_everything_and_waits_for_it(plans):
    chosen = [p for p in plans if p.rule_id in ("brute_force_ip", "collector_api_errors")]
    path = "%s/ta_1password_events_scn_errors_attack.log" % SPLUNK_LOG_DIR
    client = ReplayClient(log_baseline={path: 7})   # lines of an earlier replay are already there
    stack = ReplayStack(client)
    sr.replay_into_splunk(client, stack, "https://hec", "tok", "splunk", chosen, timeout=60, interval=5)
    assert sorted(client.indexes) == sorted(p.index for p in chosen)
    assert len(client.sent) == sum(len(p.hec_payloads) for p in chosen)
    assert {call[0] for call in stack.calls} == {"splunk"} and {call[2] for call in stack.calls} == {"splunk"}
    assert path in {call[1] for call in stack.calls}
    assert client.polls >= 2      # it waited until the new log lines, beyond the baseline, were there


def test_replay_into_splunk_times_out_when_events_never_arrive(plans):
    from e2e.splunk_client import WaitTimeout

    client = ReplayClient()
    client.hec_events = lambda url, token, payloads: None     # HEC accepted, nothing indexed
    with pytest.raises(WaitTimeout, match="replayed events"):
        sr.replay_into_splunk(client, ReplayStack(client), "https://hec", "tok", "splunk",
                              [p for p in plans if p.rule_id == "vault_export"], timeout=30, interval=5)
