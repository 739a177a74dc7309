"""The Collector Health dashboard reads the records the input really writes.

The input helper's own logging functions write a run into a log in solnlib's format;
each panel's search (macros expanded, spl_fields.py) is then applied to those lines,
so a change of the log format or of a search breaks this test, not the dashboard in
production. What a server wrote is only ever a value of one of those records.
"""

import io
import json
import logging
import re
from types import SimpleNamespace

import pytest
from solnlib import log as solnlib_log

import dashboard_queries as dq
import onepassword_events_helper as helper
from onepassword_events.errors import AuthError, ServerError
from onepassword_splunk import SplunkEdge
from spl_fields import fields_of

SPL = {q["id"]: q["query"] for q in dq.queries(with_defaults=False) if q["dashboard"] == "onepassword_collector_health"}
FORGED = "event=run_summary account=victim_co host=events.1password.com requests=1 statuses=200:1 events=987654"
FORGED_JSON = json.dumps({"event": "run_summary", "input": "victim_in", "account": "victim_co", "host": "x",
                          "requests": 1, "statuses": "200:1", "events": 987654})


def events_of(text):
    """One Splunk event per log record: a line that starts with a timestamp begins a new one."""
    return re.split(r"\n(?=\d{4}-\d{2}-\d{2} )", text.strip())


@pytest.fixture(scope="module")
def input_log():
    """What one run of input acme_in (account acme) writes: summaries, two stream errors (one quoting
    a server that imitates our records), a retry."""
    stream = io.StringIO()
    logger = logging.getLogger("dashboards.collector_health")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(solnlib_log.Logs._default_log_format))
    logger.handlers = [handler]
    logger.setLevel(logging.INFO)

    def run(name, sourcetype, status, events, newest, error=None):
        return SimpleNamespace(stream=SimpleNamespace(name=name, sourcetype=sourcetype), status=status, events=events,
                               pages=2, duplicates_skipped=1, newest_second=newest,
                               lag_seconds=None if newest is None else 42, error=error)

    runs = [run("signinattempts", "1password:insights:signin_attempts", "caught_up", 1500, 1795750000),
            run("auditevents", "1password:insights:audit_events", "error", 0, None,
                AuthError("the token is invalid, expired or revoked")),
            run("itemusages", "1password:insights:item_usages", "error", 0, None,
                ServerError("events.1password.com had a server error (HTTP 500)", 500,
                            "API message: %r\n%s" % (FORGED, FORGED_JSON)))]
    client = SimpleNamespace(host="events.1password.com", requests_made=7, status_counts={200: 5, 429: 1, 401: 1})
    logger.warning("event=retry category=%s attempt=%d delay_s=%.1f path=%s message=%r",
                   "rate_limit", 1, 2.0, "/api/v2/signinattempts", "429 Too Many Requests " + FORGED)
    helper._log_summary(SplunkEdge(None), logger, "onepassword://acme_in", "acme", "main", runs, client)
    return events_of(stream.getvalue())


def rows(panel, log):
    return [row for row in (fields_of(SPL[panel], event) for event in log) if row is not None]


def test_the_input_writes_one_json_record_per_line(input_log):
    records = [json.loads(event.split(" | ", 1)[1]) for event in input_log if " | {" in event]
    assert [r["event"] for r in records].count("run_summary") == 1
    assert [r["event"] for r in records].count("stream_summary") == 3
    assert all("\n" not in event for event in input_log)
    assert all(r["input"] == "acme_in" and r["account"] == "acme" for r in records if r["event"] != "events_ingested")


def test_stream_rows_get_input_account_stream_status_and_counts(input_log):
    found = rows("ds_streams", input_log)
    signin = next(r for r in found if r["log_event"] == "stream_summary" and r["stream"] == "signinattempts")
    assert (signin["input"], signin["account"]) == ("acme_in", "acme")
    assert (signin["status"], signin["events"], signin["duplicates"], signin["newest"], signin["lag_s"]) == (
        "caught_up", "1500", "1", "1795750000", "42")
    audit = next(r for r in found if r["log_event"] == "stream_summary" and r["stream"] == "auditevents")
    assert audit["status"] == "error" and audit["newest"] is None
    failed = next(r for r in found if r["log_event"] == "stream_failed" and r["stream"] == "auditevents")
    assert failed["error_message"] == "the token is invalid, expired or revoked"


def test_run_rows_get_requests_and_each_status(input_log):
    (run,) = rows("ds_runs", input_log)  # the one real run, none from the server's words
    assert (run["input"], run["account"], run["api_host"], run["requests"], run["events"]) == (
        "acme_in", "acme", "events.1password.com", "7", "1500")
    pairs = run["statuses"].split(",")
    status_rex = re.compile(r"^(?P<status>\d+):(?P<n>\d+)")
    assert {m.group("status"): int(m.group("n")) for m in map(status_rex.search, pairs)} == {
        "200": 5, "401": 1, "429": 1}
    assert [r["statuses"] for r in rows("ds_status_time", input_log)] == [run["statuses"]]


def test_errors_and_retries_are_labelled(input_log):
    found = rows("ds_errors", input_log)
    auth = next(r for r in found if r.get("stream") == "auditevents")
    assert (auth["error_label"], auth["log_event"], auth["category"], auth["input"]) == (
        "Authentication Error", "stream_failed", "authentication", "acme_in")
    assert auth["message"] == "the token is invalid, expired or revoked"
    server = next(r for r in found if r.get("stream") == "itemusages")
    assert server["category"] == "server" and FORGED in server["message"]  # the server's words, one value
    (retry,) = [r for r in found if r["log_event"] == "retry"]
    assert retry["category"] == "rate_limit" and "429 Too Many Requests" in retry["message"]
    assert retry["input"] == "acme_in" and retry.get("stream") is None
    assert len(rows("ds_kpi_errors", input_log)) == 2


def test_events_per_stream_and_per_account(input_log):
    per_stream = {r["stream"]: r["events"] for r in rows("ds_events_time", input_log)}
    assert per_stream == {"signinattempts": "1500", "auditevents": "0", "itemusages": "0"}
    assert {(r["account"], r["events"]) for r in rows("ds_ingested", input_log)} == {("acme", "1500"), ("acme", "0")}


@pytest.mark.parametrize("panel", ["ds_runs", "ds_streams", "ds_errors", "ds_events_time", "ds_status_time",
                                   "ds_ingested", "ds_kpi_errors"])
def test_no_panel_reads_the_servers_imitation_of_our_records(input_log, panel):
    for row in rows(panel, input_log):
        assert row.get("account") in (None, "acme") and row.get("input") in (None, "acme_in")
        assert "987654" not in (row.get("events"), row.get("requests"))
    assert any(FORGED in event for event in input_log)  # it was there to be read
