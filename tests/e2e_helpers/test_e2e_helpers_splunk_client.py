"""tests/e2e/splunk_client.py against a mocked splunkd (responses): the REST calls the
suite makes, their parameters, paging, failures and waits."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from e2e.splunk_client import (SearchFailed, SplunkClient, SplunkError, WaitTimeout, error_text, message_texts,
                               normalize_spl, wait_for, wait_stable)

BASE = "https://splunk.test:8089"
HEC = "https://splunk.test:8088"


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def client(clock):
    return SplunkClient(BASE, "admin", "pw", sleep=clock.sleep, clock=clock.clock)


def _form(call):
    return {k: v[0] for k, v in parse_qs(call.request.body if isinstance(call.request.body, str)
                                          else call.request.body.decode()).items()}


def _query(call):
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def _feed(*contents, name="x"):
    return {"entry": [{"name": name, "content": content} for content in contents]}


# -- small functions ---------------------------------------------------------------------------
@pytest.mark.parametrize("spl,expected", [
    ("index=main | stats count", "search index=main | stats count"),
    ("  `onepassword_signin_events` | head 1", "search `onepassword_signin_events` | head 1"),
    ("| tstats count", "| tstats count"),
    ("search index=x", "search index=x"),
    ("\n| savedsearch \"r\"", "| savedsearch \"r\""),
])
def test_normalize_spl(spl, expected):
    assert normalize_spl(spl) == expected


def test_message_texts_reads_both_shapes():
    as_list = [{"type": "INFO", "text": "fine"}, {"type": "ERROR", "text": "bad"}, {"type": "fatal", "text": "worse"}]
    assert message_texts(as_list) == ["bad", "worse"]
    assert message_texts({"error": ["bad"], "warn": ["meh"], "FATAL": "worse"}) == ["bad", "worse"]
    assert message_texts(None) == []


def test_error_text_prefers_splunkd_messages():
    response = requests.Response()
    response.status_code = 400
    response._content = json.dumps({"messages": [{"type": "ERROR", "text": "Account not saved: nope"}]}).encode()
    assert error_text(response) == "Account not saved: nope"
    response._content = b"<html>oops</html>"
    assert error_text(response) == "<html>oops</html>"


def test_wait_for_retries_through_exceptions_and_returns_the_value(clock):
    answers = iter([ConnectionError("down"), None, 0, {"ok": 1}])

    def probe():
        value = next(answers)
        if isinstance(value, Exception):
            raise value
        return value

    assert wait_for(probe, 60, 5, sleep=clock.sleep, clock=clock.clock) == {"ok": 1}
    assert clock.sleeps == [5, 5, 5]


def test_wait_for_times_out_with_the_last_answer(clock):
    with pytest.raises(WaitTimeout, match=r"the thing \(last: \[\]\)"):
        wait_for(lambda: [], 20, 5, "the thing", sleep=clock.sleep, clock=clock.clock)
    assert clock.now == 20


def test_wait_stable_needs_ready_and_an_unchanged_value(clock):
    answers = iter([(False, 10), (True, 20), (True, 30), (False, 30), (True, 30), (True, 30)])
    assert wait_stable(lambda: next(answers), 600, 10, sleep=clock.sleep, clock=clock.clock) == 30
    assert len(clock.sleeps) == 5


def test_wait_stable_times_out(clock):
    counter = iter(range(1000))
    with pytest.raises(WaitTimeout, match="settle"):
        wait_stable(lambda: (True, next(counter)), 50, 10, sleep=clock.sleep, clock=clock.clock)


# -- REST --------------------------------------------------------------------------------------
@responses.activate
def test_requests_use_basic_auth_json_output_and_raise_on_errors(client):
    responses.get(BASE + "/services/server/info", json=_feed({"startup_time": 1}))
    responses.get(BASE + "/services/apps/local/nope", status=404,
                  json={"messages": [{"type": "ERROR", "text": "Could not find object id=nope"}]})
    assert client.server_info() == {"startup_time": 1}
    call = responses.calls[0]
    assert call.request.headers["Authorization"].startswith("Basic ")
    assert _query(call)["output_mode"] == "json"
    with pytest.raises(SplunkError, match="HTTP 404: Could not find object id=nope") as info:
        client.entry("/services/apps/local/nope")
    assert info.value.status == 404
    assert client.exists("/services/apps/local/nope") is False


@responses.activate
def test_ready_needs_the_kv_store(client):
    responses.get(BASE + "/services/server/info", json=_feed({"startup_time": 1}))
    responses.get(BASE + "/services/kvstore/status", json=_feed({"current": {"status": "starting"}}))
    responses.get(BASE + "/services/kvstore/status", json=_feed({"current": {"status": "ready"}}))
    assert client.ready() is None
    assert client.ready() == {"startup_time": 1}


@responses.activate
def test_restart_waits_for_a_new_splunkd(client, clock):
    responses.get(BASE + "/services/server/info", json=_feed({"startup_time": 100}))
    responses.post(BASE + "/services/server/control/restart", json={})
    responses.get(BASE + "/services/server/info", body=requests.ConnectionError("refused"))
    responses.get(BASE + "/services/server/info", json=_feed({"startup_time": 100}))  # not yet down
    responses.get(BASE + "/services/server/info", json=_feed({"startup_time": 250}))
    responses.get(BASE + "/services/kvstore/status", json=_feed({"current": {"status": "ready"}}))
    assert client.restart(timeout=300, interval=5) == (100, 250)
    assert [c.request.method for c in responses.calls].count("POST") == 1
    assert len(clock.sleeps) == 2


@responses.activate
def test_create_addon_entity_posts_the_form_and_returns_any_answer(client):
    url = BASE + "/servicesNS/nobody/TA-1password-events/ta_1password_events_account"
    responses.post(url, status=500, json={"messages": [{"type": "ERROR", "text": "Account not saved: x"}]})
    response = client.create_addon_entity("ta_1password_events_account", "acme",
                                          {"region": "custom", "token": "t", "ca_bundle": None})
    assert response.status_code == 500
    assert _form(responses.calls[0]) == {"name": "acme", "region": "custom", "token": "t"}


@responses.activate
def test_create_index_is_idempotent(client):
    url = BASE + "/servicesNS/nobody/search/data/indexes"
    responses.post(url, status=201, json={})
    responses.post(url, status=409, json={"messages": [{"type": "ERROR", "text": "exists"}]})
    responses.post(url, status=400, json={"messages": [{"type": "ERROR", "text": "bad name"}]})
    assert client.create_index("op_e2e_x") is True
    assert client.create_index("op_e2e_x") is False
    with pytest.raises(SplunkError, match="bad name"):
        client.create_index("Bad")
    assert _form(responses.calls[0]) == {"name": "op_e2e_x"}


@responses.activate
def test_set_macro_updates_or_creates_and_returns_the_previous_definition(client):
    base = BASE + "/servicesNS/nobody/TA-1password-events/configs/conf-macros"
    responses.get(base + "/1password_index", json=_feed({"definition": "index=*"}))
    responses.post(base + "/1password_index", json={})
    responses.get(base + "/new_macro", status=404, json={})
    responses.post(base, json={})
    assert client.set_macro("1password_index", "index=op_e2e_1") == "index=*"
    assert client.set_macro("new_macro", "true()") is None
    posts = [c for c in responses.calls if c.request.method == "POST"]
    assert posts[0].request.url.startswith(base + "/1password_index")
    assert _form(posts[0]) == {"definition": "index=op_e2e_1"}
    assert _form(posts[1]) == {"name": "new_macro", "definition": "true()"}


@responses.activate
def test_search_runs_a_job_to_the_end(client, clock):
    jobs = BASE + "/servicesNS/admin/TA-1password-events/search/jobs"
    responses.post(jobs, json={"sid": "sid1"})
    responses.get(jobs + "/sid1", json=_feed({"isDone": False, "dispatchState": "RUNNING"}))
    responses.get(jobs + "/sid1", json=_feed({"isDone": True, "dispatchState": "DONE",
                                              "messages": [{"type": "WARN", "text": "w"}]}))
    responses.get(jobs + "/sid1/results", json={"fields": [{"name": "a"}, {"name": "_raw"}],
                                                "results": [{"a": "1"}, {"a": "2"}], "messages": []})
    result = client.search("index=x", earliest="-24h", latest="now", now=1700000000.9, timeout=60)
    assert _form(responses.calls[0]) == {"search": "search index=x", "exec_mode": "normal",
                                         "earliest_time": "-24h", "latest_time": "now", "now": "1700000000"}
    assert [r["a"] for r in result.rows] == ["1", "2"]
    assert result.fields == ["a", "_raw"]
    assert result.errors == [] and result.messages == [{"type": "WARN", "text": "w"}]
    assert clock.sleeps == [1.0]


@responses.activate
def test_results_reads_every_page(client):
    results = BASE + "/servicesNS/admin/TA-1password-events/search/jobs/s2/results"
    responses.get(results, json={"fields": [{"name": "a"}], "results": [{"a": "1"}, {"a": "2"}]})
    responses.get(results, json={"fields": [{"name": "a"}, {"name": "b"}], "results": [{"a": "3"}],
                                 "messages": [{"type": "ERROR", "text": "lookup missing"}]})
    rows, messages, fields = client.results("s2", page=2)
    assert [r["a"] for r in rows] == ["1", "2", "3"]
    assert fields == ["a", "b"]
    assert [_query(c)["offset"] for c in responses.calls] == ["0", "2"]
    assert [_query(c)["count"] for c in responses.calls] == ["2", "2"]
    assert message_texts(messages) == ["lookup missing"]


@responses.activate
def test_a_failed_job_raises_at_once(client, clock):
    jobs = BASE + "/servicesNS/admin/TA-1password-events/search/jobs"
    responses.post(jobs, json={"sid": "bad"})
    responses.get(jobs + "/bad", json=_feed({"isDone": True, "isFailed": True, "dispatchState": "FAILED",
                                             "messages": [{"type": "FATAL", "text": "Unknown search command 'x'"}]}))
    with pytest.raises(SearchFailed, match="Unknown search command"):
        client.search("| x")
    assert clock.sleeps == []


@responses.activate
def test_count_reads_the_first_row(client):
    jobs = BASE + "/servicesNS/admin/TA-1password-events/search/jobs"
    responses.post(jobs, json={"sid": "c"})
    responses.get(jobs + "/c", json=_feed({"isDone": True}))
    responses.get(jobs + "/c/results", json={"results": [{"count": "42"}]})
    responses.post(jobs, json={"sid": "e"})
    responses.get(jobs + "/e", json=_feed({"isDone": True}))
    responses.get(jobs + "/e/results", json={"results": []})
    assert client.count("| tstats count where index=x") == 42
    assert client.count("| tstats count where index=y") == 0


@responses.activate
def test_dispatch_saved_search_quotes_the_name_and_pins_now(client):
    url = BASE + "/servicesNS/nobody/TA-1password-events/saved/searches/1Password%20-%20Brute%20Force%20From%20One%20IP%20-%20Rule/dispatch"
    responses.post(url, json={"sid": "rule1"})
    assert client.dispatch_saved_search("1Password - Brute Force From One IP - Rule", now=1767225600.7) == "rule1"
    assert _form(responses.calls[0]) == {"trigger_actions": "0", "dispatch.now": "1767225600"}


@responses.activate
def test_dispatch_saved_search_with_alert_actions_and_an_index_window(client):
    url = BASE + "/servicesNS/nobody/TA-1password-events/saved/searches/B/dispatch"
    responses.post(url, json={"sid": "fold1"})
    overrides = {"dispatch.index_earliest": "1767225000", "dispatch.index_latest": "1767226000"}
    assert client.dispatch_saved_search("B", now=1767225600, trigger_actions=True, **overrides) == "fold1"
    assert _form(responses.calls[0]) == dict(overrides, trigger_actions="1", **{"dispatch.now": "1767225600"})


@responses.activate
def test_enable_and_disable_a_saved_search(client):
    base = BASE + "/servicesNS/nobody/TA-1password-events/saved/searches/1Password%20-%20R%20-%20Rule"
    responses.post(base + "/enable", json={})
    responses.post(base + "/disable", json={})
    client.enable_saved_search("1Password - R - Rule")
    client.disable_saved_search("1Password - R - Rule")
    assert [urlsplit(c.request.url).path for c in responses.calls] == [
        urlsplit(base).path + "/enable", urlsplit(base).path + "/disable"]
    assert all(c.request.method == "POST" for c in responses.calls)


@responses.activate
def test_hec_events_batches_and_checks_the_answer(client):
    responses.post(HEC + "/services/collector/event", json={"text": "Success", "code": 0})
    responses.post(HEC + "/services/collector/event", json={"text": "Success", "code": 0})
    responses.post(HEC + "/services/collector/event", status=400, json={"text": "Incorrect index", "code": 7})
    payloads = [{"event": "é%d" % i, "index": "x"} for i in range(3)]
    assert client.hec_events(HEC, "tok", payloads, batch=2) == 3
    first = responses.calls[0].request
    assert first.headers["Authorization"] == "Splunk tok"
    assert first.body.decode("utf-8") == '{"event": "é0", "index": "x"}{"event": "é1", "index": "x"}'
    with pytest.raises(SplunkError, match="Incorrect index"):
        client.hec_events(HEC, "tok", payloads[:1])


@responses.activate
def test_hec_raw_sends_metadata_as_parameters(client):
    responses.post(HEC + "/services/collector/raw", json={"text": "Success", "code": 0})
    client.hec_raw(HEC, "tok", '{"a":1}', "idx", "st", "/src", host="h")
    call = responses.calls[0]
    assert _query(call) == {"index": "idx", "sourcetype": "st", "source": "/src", "host": "h"}
    assert call.request.body == b'{"a":1}'
