"""tests/e2e/scenario_runner.py: per-variant indexes, the fire/silent verdicts, the lookup
and macro fixtures (applied and restored through a fake client), and which rules need
the CIM app."""

import calendar
import copy
import csv
import json
import os
import re
import time

import pytest

from e2e import scenario_runner as sr
from conf_reader import read_conf
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
    assert benign.attack == [{"input": "scn_errors_attack", "error_category": "authentication"},
                             {"input": "scn_errors_at_threshold", "error_category": "server"}]
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


def _utc(text):
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M:%S")))


def test_every_replayed_event_happened_before_the_replay_indexes_it(plans):
    start = 1767225600.0
    for plan in plans:
        assert plan.now == start
        for payload in plan.hec_payloads:
            assert float(payload["time"]) < start, (plan.id, payload["time"])
        for event in plan.run.events:
            assert event["time"] < start, (plan.id, event["time"])


@pytest.mark.parametrize("cron,after,expected", [
    ("*/10 * * * *", "2026-01-01 12:03:20", "2026-01-01 12:10:00"),
    ("*/10 * * * *", "2026-01-01 12:10:00", "2026-01-01 12:20:00"),   # strictly after
    ("25 * * * *", "2026-01-01 12:25:00", "2026-01-01 13:25:00"),
    ("25 * * * *", "2026-01-01 23:30:00", "2026-01-02 00:25:00"),
    ("* * * * *", "2026-01-01 12:03:59", "2026-01-01 12:04:00"),
    ("5,35 */6 * * *", "2026-01-01 12:40:00", "2026-01-01 18:05:00"),
    ("10-20/5 * * * *", "2026-01-01 12:16:00", "2026-01-01 12:20:00"),
])
def test_next_run_follows_cron(cron, after, expected):
    assert sr.next_run(cron, _utc(after)) == _utc(expected)


def test_next_run_refuses_what_the_suite_cannot_schedule():
    for cron in ("0 5 1 * *", "*/10 * * *", "61 * * * *"):
        with pytest.raises(ValueError):
            sr.next_run(cron, 0)


def test_a_rule_is_dispatched_at_its_first_scheduled_run_whose_range_ends_after_the_replay():
    settings = {"cron_schedule": "*/10 * * * *", "dispatch.latest_time": "-5m@m"}
    # 12:10 ends its range at 12:05, before the replay was indexed (12:07:30): 12:20 is the first
    assert sr.scheduled_now(settings, _utc("2026-01-01 12:07:30")) == _utc("2026-01-01 12:20:00")
    assert sr.scheduled_now(settings, _utc("2026-01-01 12:04:59")) == _utc("2026-01-01 12:10:00")
    for name, rule in sr.read_savedsearches().items():
        if not name.endswith(" - Rule"):
            continue
        indexed = _utc("2026-01-01 12:07:30")
        at = sr.scheduled_now(rule, indexed)
        assert sr.replay.relative_time(at, rule["dispatch.latest_time"]) > indexed, name
        earlier = [m for m in range(int(indexed), int(at), 60)
                   if sr.next_run(rule["cron_schedule"], m - 60) == m]
        assert all(sr.replay.relative_time(m, rule["dispatch.latest_time"]) <= indexed for m in earlier), name


def test_baselines_fold_each_hour_of_history_at_two_consecutive_runs():
    settings = {"cron_schedule": "55 * * * *", "dispatch.latest_time": "-5m@m"}
    events = [_utc("2026-01-01 03:10:00"), _utc("2026-01-02 10:20:00"), _utc("2026-01-02 10:40:00"),
              _utc("2026-01-02 10:52:00")]   # 10:52 is past the 10:55 run's range end (10:50)
    assert sr.fold_times(settings, events, until=_utc("2026-01-02 12:00:00")) == [
        _utc("2026-01-01 03:55:00"), _utc("2026-01-01 04:55:00"), _utc("2026-01-02 10:55:00"),
        _utc("2026-01-02 11:55:00")]
    # no fold after the rule's own run
    assert sr.fold_times(settings, events, until=_utc("2026-01-02 11:00:00"))[-1] == _utc("2026-01-02 10:55:00")


def test_baseline_lookup_skips_outputlookup_options():
    assert sr.baseline_lookup("... | outputlookup onepassword_x") == "onepassword_x"
    assert sr.baseline_lookup("... | outputlookup append=true key_field=_key onepassword_x") == "onepassword_x"
    with pytest.raises(ValueError):
        sr.baseline_lookup("| inputlookup onepassword_x")
    saved = sr.read_savedsearches()
    transforms = read_conf(os.path.join(ROOT, "package", "default", "transforms.conf"))
    for name, spec in saved.items():
        if name.endswith(" - Baseline"):
            assert sr.baseline_lookup(spec["search"]) in transforms, name


def test_baselines_are_emptied_then_folded_by_their_own_searches_and_restored(plans):
    client = FakeClient()
    client.lookups["onepassword_item_usage_hourly"] = [{"user": "kept", "hour": "1", "items": "2"}]
    plan = {p.id: p for p in plans}["item_access_surge-attack"]
    saved = sr.read_savedsearches()
    name = "1Password - Item Usage Hourly - Baseline"
    until = plan.now + 1800
    replayed = (plan.now, plan.now + 300)
    with sr.Fixtures(client) as fixtures:
        folded = sr.fold_baselines(client, plan, fixtures, saved, until, replayed)
        assert client.lookups["onepassword_item_usage_hourly"] == []
        dispatched = [c for c in client.calls if c[0] == "dispatch"]
        assert folded == {name: sorted(folded[name])} and len(folded[name]) >= 2
        assert [c[1] for c in dispatched] == [name] * len(folded[name])
        assert [c[2]["now"] for c in dispatched] == folded[name]
        for call in dispatched:
            # a past run of a baseline that folds by index time is told the replay's indexing is in its window
            if saved[name].get("dispatch.index_earliest"):
                assert call[2]["dispatch.index_earliest"] == str(int(plan.now) - 60)
                assert call[2]["dispatch.index_latest"] == str(int(plan.now) + 360)
            assert "trigger_actions" not in call[2]
        # every hour holding history is folded, none after the rule's run
        moments = [e["time"] for e in plan.run.events]
        assert all(at <= until for at in folded[name])
        for moment in moments:
            assert any(sr.replay.relative_time(at, saved[name]["dispatch.latest_time"]) > moment for at in folded[name])
    assert client.lookups["onepassword_item_usage_hourly"] == [{"user": "kept", "hour": "1", "items": "2"}]


def test_alert_counts_read_the_audit_trail_per_job():
    client = FakeClient()
    client.audit = [{"sid": "a", "count": "2"}, {"sid": "other", "count": "5"}]
    assert sr.alert_counts(client, "1Password - R - Rule", ["a", "b"]) == {"a": 2, "b": 0}
    spl_text = [c[1] for c in client.calls if "alert_fired" in c[1]][0]
    assert 'ss_name="1Password - R - Rule"' in spl_text and '(sid="a" OR sid="b")' in spl_text
    assert spl_text.endswith("| stats count by sid")


def test_wait_alerts_waits_for_the_audit_trail_to_catch_up():
    client = FakeClient()
    client.audit_later = [{"sid": "a", "count": "1"}]
    assert sr.wait_alerts(client, "R", ["a", "b"], 1, timeout=60, interval=5) == {"a": 1, "b": 0}
    assert client.slept >= 5


def test_wait_alerts_counts_a_repeat_alert_indexed_after_the_first():
    client = FakeClient()
    client.audit = [{"sid": "a", "count": "1"}]
    client.audit_later = [{"sid": "b", "count": "1"}]
    assert sr.wait_alerts(client, "R", ["a", "b"], 1, timeout=60, interval=5) == {"a": 1, "b": 1}


def test_scheduled_runs_are_oldest_first():
    client = FakeClient()
    client.scheduler = [{"sid": "s2", "scheduled_time": "1767225660", "result_count": "1"},
                        {"sid": "s1", "scheduled_time": "1767225600", "result_count": "1"}]
    assert [r["sid"] for r in sr.scheduled_runs(client, "1Password - R - Rule", 1767225000)] == ["s1", "s2"]
    spl_text, kwargs = [(c[1], c[2]) for c in client.calls if "sourcetype=scheduler" in c[1]][0]
    assert 'savedsearch_name="1Password - R - Rule"' in spl_text and "status=success" in spl_text
    assert kwargs["earliest"] == "1767225000"


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
    transforms = read_conf(os.path.join(ROOT, "package", "default", "transforms.conf"))
    for plan in plans:
        for lookup, rows in plan.run.lookups.items():
            assert lookup in transforms, lookup
            path = os.path.join(ROOT, "package", "lookups", transforms[lookup]["filename"])
            with open(path, encoding="utf-8", newline="") as handle:
                header = next(csv.reader(handle))
            for row in rows:
                assert set(row) <= set(header), (plan.id, lookup, set(row) - set(header))


def test_every_macro_the_runner_sets_exists_in_the_add_on(plans):
    macros = read_conf(os.path.join(ROOT, "package", "default", "macros.conf"))
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

    audit, audit_later, scheduler, slept = (), (), (), 0

    def sleep(self, seconds):
        self.slept += seconds

    def clock(self):
        return self.slept

    def dispatch_saved_search(self, name, **kwargs):
        self.calls.append(("dispatch", name, kwargs))
        return "sid%d" % len(self.calls)

    def finish(self, sid):
        return FakeResult()

    def search(self, spl, app=None, **kwargs):
        self.calls.append(("search", spl))
        if "action=alert_fired" in spl:
            return FakeResult(list(self.audit) + (list(self.audit_later) if self.slept else []))
        if "sourcetype=scheduler" in spl:
            self.calls[-1] = ("search", spl, kwargs)
            return FakeResult(list(self.scheduler))
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
    indexed_by = sr.replay_into_splunk(client, stack, "https://hec", "tok", "splunk", chosen, timeout=60, interval=5,
                                       wall_clock=lambda: 1767225999.0)
    assert indexed_by == 1767225999.0     # an epoch, to schedule the rules' runs from (not the client's wait clock)
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


class FakeSplunk(FakeClient):
    """splunkd as judge_variant sees it: saved searches dispatched (a rule gives the rows
    `results` says; a baseline folds one row per user into its lookup, or, `cumulative`,
    adds to it at every run as a non-idempotent fold would), and the audit trail of the
    alerts, throttled on the row's values unless `throttle` is off."""

    def __init__(self, results, throttle=True, cumulative=False):
        super().__init__()
        self.results, self.throttle, self.cumulative = results, throttle, cumulative
        self.dispatches, self.jobs, self.alerted, self.fired = [], {}, set(), {}
        self.saved = sr.read_savedsearches()

    @property
    def audit(self):
        return [{"sid": sid, "count": str(n)} for sid, n in self.fired.items() if n]

    def dispatch_saved_search(self, name, now=None, trigger_actions=False, **extra):
        self.dispatches.append((name, now, trigger_actions, extra))
        sid = "sid%d" % len(self.dispatches)
        rows = []
        if name.endswith(" - Baseline"):
            lookup = sr.baseline_lookup(self.saved[name]["search"])
            current = self.lookups.setdefault(lookup, [])
            row = {"_key": "kate|%d" % (len(current) if self.cumulative else 0), "items": "4"}
            if self.cumulative or row not in current:
                current.append(row)
        else:
            rows = self.results(name, now)
        if trigger_actions:
            fresh = [r for r in rows if not (self.throttle and json.dumps(r, sort_keys=True) in self.alerted)]
            self.alerted.update(json.dumps(r, sort_keys=True) for r in rows)
            self.fired[sid] = len(fresh)
        self.jobs[sid] = FakeResult(rows)
        self.jobs[sid].sid = sid
        return sid

    def finish(self, sid):
        return self.jobs[sid]

    def search(self, spl, app=None, **kwargs):
        read = re.fullmatch(r"\| inputlookup (\w+)", spl)
        if read:
            self.lookups.setdefault(read.group(1), [])
        return super().search(spl, app=app, **kwargs)


def _plan(plans, plan_id):
    return {p.id: p for p in plans}[plan_id]


INDEXED_BY = 1767225600.0 + 95     # the replay, begun at 1767225600, searchable 95 s later


def test_a_firing_variant_is_dispatched_at_two_consecutive_runs_with_alert_actions_and_alerts_once(plans):
    plan = _plan(plans, "brute_force_ip-attack")
    client = FakeSplunk(lambda name, now: [dict(plan.entity, burst="b1")])
    sr.judge_variant(client, plan, sr.read_savedsearches(), INDEXED_BY)
    rule = sr.read_savedsearches()[plan.saved_search]
    first = sr.scheduled_now(rule, INDEXED_BY)
    assert client.dispatches == [(plan.saved_search, first, True, {}),
                                 (plan.saved_search, sr.next_run(rule["cron_schedule"], first), True, {})]
    assert client.fired == {"sid1": 1, "sid2": 0}
    assert client.macros["1password_index"] == "index=*"       # restored


def test_a_repeat_alert_at_the_next_run_fails_the_variant(plans):
    plan = _plan(plans, "brute_force_ip-attack")
    client = FakeSplunk(lambda name, now: [dict(plan.entity, burst="b1")], throttle=False)
    with pytest.raises(AssertionError, match=r"never again at a later run .*: \[1, 1\]"):
        sr.judge_variant(client, plan, sr.read_savedsearches(), INDEXED_BY)


def test_one_incident_reported_twice_fails_the_variant(plans):
    plan = _plan(plans, "brute_force_ip-straddle_hour")
    client = FakeSplunk(lambda name, now: [dict(plan.entity, burst="b1"), dict(plan.entity, burst="b2")])
    with pytest.raises(AssertionError, match=r"expected 1 result\(s\)"):
        sr.judge_variant(client, plan, sr.read_savedsearches(), INDEXED_BY)


def test_two_incidents_are_two_results_and_two_alerts(plans):
    plan = _plan(plans, "brute_force_ip-two_bursts")
    client = FakeSplunk(lambda name, now: [dict(plan.entity, burst="b1"), dict(plan.entity, burst="b2")])
    sr.judge_variant(client, plan, sr.read_savedsearches(), INDEXED_BY)
    assert client.fired == {"sid1": 2, "sid2": 0}


def test_a_silent_variant_is_dispatched_once_and_any_result_fails_it(plans):
    plan = _plan(plans, "brute_force_ip-below_threshold")
    quiet = FakeSplunk(lambda name, now: [])
    sr.judge_variant(quiet, plan, sr.read_savedsearches(), INDEXED_BY)
    assert [(d[0], d[2]) for d in quiet.dispatches] == [(plan.saved_search, False)]
    noisy = FakeSplunk(lambda name, now: [{"src": "203.0.113.66"}])
    with pytest.raises(AssertionError, match="silent"):
        sr.judge_variant(noisy, plan, sr.read_savedsearches(), INDEXED_BY)


def test_baselines_are_folded_before_the_rule_and_a_fold_that_adds_on_a_rerun_fails(plans):
    plan = _plan(plans, "item_access_surge-attack")
    saved = sr.read_savedsearches()
    client = FakeSplunk(lambda name, now: [dict(plan.entity)])
    sr.judge_variant(client, plan, saved, INDEXED_BY)
    names = [d[0] for d in client.dispatches]
    baseline = "1Password - Item Usage Hourly - Baseline"
    assert names[-2:] == [plan.saved_search] * 2 and set(names[:-2]) == {baseline}
    assert all(d[2] is False for d in client.dispatches[:-2])
    assert [d[1] for d in client.dispatches[:-3]] == sorted(d[1] for d in client.dispatches[:-3])
    assert all(d[1] <= client.dispatches[-2][1] for d in client.dispatches[:-2])
    with pytest.raises(AssertionError, match="idempotent"):
        sr.judge_variant(FakeSplunk(lambda name, now: [dict(plan.entity)], cumulative=True), plan, saved, INDEXED_BY)


def test_the_scheduler_judgement_wants_results_at_every_run_and_one_alert():
    client = FakeClient()
    client.scheduler = [{"sid": "s0", "scheduled_time": "1767225540", "result_count": "0"},
                        {"sid": "s1", "scheduled_time": "1767225600", "result_count": "1"},
                        {"sid": "s2", "scheduled_time": "1767225660", "result_count": "1"}]
    client.audit = [{"sid": "s1", "count": "1"}]
    runs = sr.judge_scheduled_runs(client, "1Password - R - Rule", 1, 2, 1767225000, timeout=60, interval=5)
    assert [r["sid"] for r in runs] == ["s1", "s2"]
    client.audit = [{"sid": "s1", "count": "1"}, {"sid": "s2", "count": "1"}]
    with pytest.raises(AssertionError, match="alert once"):
        sr.judge_scheduled_runs(client, "1Password - R - Rule", 1, 2, 1767225000, timeout=60, interval=5)
    client.scheduler = client.scheduler[:2]
    from e2e.splunk_client import WaitTimeout
    with pytest.raises(WaitTimeout, match="2 scheduled runs"):
        sr.judge_scheduled_runs(client, "1Password - R - Rule", 1, 2, 1767225000, timeout=20, interval=5)


class DeliveringSplunk(FakeSplunk):
    """A rule that sees the held-back half only once it is delivered; `bucket` names the
    incident by the hour of the last event it sees (a clock bucket) instead of the burst."""

    def __init__(self, plan, bucket=False):
        self.delivered = False
        entity = dict(plan.entity)
        super().__init__(lambda name, now: [dict(entity, key="h2" if bucket and self.delivered else "h1")])

    def deliver(self, plan):
        self.delivered = True
        plan.hec_payloads, plan.held_back = plan.hec_payloads + plan.held_back, []
        return INDEXED_BY + 600


def test_an_incident_across_the_hour_is_judged_before_and_after_its_second_half_arrives(plans):
    plan = copy.copy(_plan(plans, "brute_force_ip-straddle_hour")).hold_back_after_the_hour()
    assert plan.held_back and plan.hec_payloads
    boundary = (int(float(plan.hec_payloads[0]["time"])) // 3600 + 1) * 3600
    assert all(float(p["time"]) < boundary for p in plan.hec_payloads)
    assert all(float(p["time"]) >= boundary for p in plan.held_back)
    client = DeliveringSplunk(plan)
    sr.judge_variant(client, plan, sr.read_savedsearches(), INDEXED_BY, deliver=client.deliver)
    rule = sr.read_savedsearches()[plan.saved_search]
    before = sr.scheduled_now(rule, INDEXED_BY)
    after = sr.scheduled_now(rule, INDEXED_BY + 600)
    assert [d[1:3] for d in client.dispatches] == [(before, True), (after, True),
                                                   (sr.next_run(rule["cron_schedule"], after), True)]
    assert sum(client.fired.values()) == 1 and not plan.held_back


def test_a_clock_bucketed_key_that_alerts_again_after_the_hour_fails(plans):
    plan = copy.copy(_plan(plans, "brute_force_ip-straddle_hour")).hold_back_after_the_hour()
    client = DeliveringSplunk(plan, bucket=True)
    with pytest.raises(AssertionError, match=r"alerts by run, in order: \[1, 1, 0\]"):
        sr.judge_variant(client, plan, sr.read_savedsearches(), INDEXED_BY, deliver=client.deliver)


def test_holding_back_needs_events_on_both_sides_of_an_hour(plans):
    with pytest.raises(ValueError, match="do not cross an hour"):
        copy.copy(_plan(plans, "brute_force_ip-attack")).hold_back_after_the_hour()
