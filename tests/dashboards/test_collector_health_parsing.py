"""The Collector Health dashboard parses the lines the input really writes.

The input helper's own logging functions write a run into a log file with solnlib's
format; every `rex` of the dashboard's searches is then applied (translated from
PCRE to Python) to those lines, so a change of the log format breaks this test,
not the dashboard in production.
"""

import io
import logging
import re
from types import SimpleNamespace

import pytest
from solnlib import log as solnlib_log

import dashboard_queries as dq
import onepassword_events_helper as helper
from onepassword_events.errors import AuthError

SPL = {q["id"]: q["query"] for q in dq.queries(with_defaults=False) if q["dashboard"] == "onepassword_collector_health"}


def rexes(query):
    """(field or None, Python regex) of every `| rex [field=x] "..."` in a search."""
    found = []
    for field, body in re.findall(r'^\| rex (?:field=(\w+) )?"((?:[^"\\]|\\.)*)"', query, flags=re.M):
        pattern = body.replace('\\"', '"').replace("\\\\", "\\").replace("(?<", "(?P<")
        found.append((field or None, re.compile(pattern)))
    return found


@pytest.fixture(scope="module")
def input_log():
    """What one run of input acme_in (account acme) writes: summaries, one stream error, a retry."""
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
                AuthError("the token is invalid, expired or revoked"))]
    client = SimpleNamespace(host="events.1password.com", requests_made=7, status_counts={200: 5, 429: 1, 401: 1})
    logger.warning("event=retry category=%s attempt=%d delay_s=%.1f path=%s message=%r",
                   "rate_limit", 1, 2.0, "/api/v2/signinattempts", "429 Too Many Requests")
    helper._log_summary(logger, "onepassword://acme_in", "acme", "main", runs, client)
    text = stream.getvalue()
    # one Splunk event per log record: a line that starts with a timestamp begins a new one
    return re.split(r"\n(?=\d{4}-\d{2}-\d{2} )", text.strip())


def apply(query, event, source="/opt/splunk/var/log/splunk/ta_1password_events_acme_in.log"):
    fields = {"_raw": event, "source": source}
    for field, pattern in rexes(query):
        match = pattern.search(fields.get(field or "_raw") or "")
        if match:
            fields.update({k: v for k, v in match.groupdict().items() if v is not None})
    return fields


def test_the_input_writes_what_the_dashboard_expects(input_log):
    assert any("event=run_summary" in e for e in input_log)
    assert sum("event=stream_summary" in e for e in input_log) == 2
    assert any('exc_l="Authentication Error"' in e and "event=stream_failed" in e for e in input_log)


def test_stream_rows_get_input_account_stream_status_and_counts(input_log):
    query = SPL["ds_streams"]
    rows = [apply(query, e) for e in input_log]
    signin = next(r for r in rows if r.get("log_event") == "stream_summary" and r.get("stream") == "signinattempts")
    assert signin["input"] == "acme_in"
    assert (signin["status"], signin["events"], signin["duplicates"], signin["newest"], signin["lag_s"]) == (
        "caught_up", "1500", "1", "1795750000", "42")
    audit = next(r for r in rows if r.get("log_event") == "stream_summary" and r.get("stream") == "auditevents")
    assert audit["status"] == "error" and audit["newest"] == "None"
    failed = next(r for r in rows if r.get("log_event") == "stream_failed")
    assert failed["stream"] == "auditevents"
    assert failed["error_message"].endswith("AuthError: the token is invalid, expired or revoked")
    summary = next(r for r in rows if r.get("log_event") == "run_summary")
    assert summary["account"] == "acme"


def test_run_rows_get_requests_and_each_status(input_log):
    run = next(e for e in input_log if "event=run_summary" in e)
    fields = apply(SPL["ds_runs"], run)
    assert (fields["account"], fields["api_host"], fields["requests"], fields["events"]) == (
        "acme", "events.1password.com", "7", "1500")
    pairs = fields["statuses"].split(",")
    status_rex = [p for f, p in rexes(SPL["ds_runs"]) if f == "pair"][0]
    counts = {m.group("status"): int(m.group("n")) for m in map(status_rex.search, pairs)}
    assert counts == {"200": 5, "401": 1, "429": 1}
    assert apply(SPL["ds_status_time"], run)["statuses"] == fields["statuses"]


def test_errors_and_retries_are_labelled(input_log):
    rows = [apply(SPL["ds_errors"], e) for e in input_log if "exc_l=" in e or "event=retry" in e]
    error = next(r for r in rows if r.get("error_label"))
    assert (error["error_label"], error["log_event"], error["stream"], error["category"]) == (
        "Authentication Error", "stream_failed", "auditevents", "authentication")
    assert "AuthError: the token is invalid" in error["message"]
    retry = next(r for r in rows if r.get("log_event") == "retry")
    assert retry["category"] == "rate_limit" and "429 Too Many Requests" in retry["retry_message"]


def test_events_per_stream_and_ingested_per_account(input_log):
    summary = next(e for e in input_log if "event=stream_summary stream=signinattempts" in e)
    assert apply(SPL["ds_events_time"], summary)["events"] == "1500"
    ingested = next(e for e in input_log if "action=events_ingested" in e)
    fields = apply(SPL["ds_ingested"], ingested)
    assert fields["n_events"] == "1500" and fields["event_account"] == "acme"
