"""Faults of the real API, through the CLI (a subprocess) and the modular input
(collect_input in-process): each one is either recovered from, or stops the
run with a clear categorized error; either way no event is lost, duplicates
stay within one page, and the checkpoints stay whole and usable.
"""

import pytest

from functional_helpers import check_checkpoints, check_delivery, rfc3339, run_cli, run_input

COUNTS = {"signinattempts": 250, "itemusages": 250, "auditevents": 250}
LIMIT = 100
SPAN = 2 * 86400
# The input path runs in-process: its retries wait tens of milliseconds instead
# of seconds (the CLI path keeps the shipped RetryPolicy and timeouts).
FAST_RETRY = {"retry": {"budget": 30.0, "base_delay": 0.05, "max_delay": 0.5}}


class Collector:
    """Runs the CLI or the modular input against a simulator, keeping state."""

    def __init__(self, kind, tmp_path, scanner, monkeypatch):
        self.kind = kind
        self.state_dir = tmp_path / ("state-" + kind)
        self.state_dir.mkdir()
        self.scanner = scanner
        self.monkeypatch = monkeypatch
        self.input_name = "cli" if kind == "cli" else "fn_input"
        self.account = "cli" if kind == "cli" else "acme"

    def run(self, sim, start, token=None, client_settings=None, limit=LIMIT, event_types=None, fmt="jsonl"):
        if self.kind == "cli":
            settings = dict(client_settings or {})
            extra = []
            if "retry" in settings:  # the CLI's own option
                extra = ["--retry-budget", str(settings.pop("retry")["budget"])]
            return run_cli(sim, self.scanner, self.state_dir, fmt=fmt, limit=limit, start=start, token=token,
                           event_types=event_types, client_settings=settings, extra=extra)
        settings = dict(FAST_RETRY)
        settings.update(client_settings or {})
        return run_input(sim, self.scanner, self.monkeypatch, self.state_dir, token=token, page_size=limit,
                         start=start, event_types=event_types or "", client_settings=settings)

    def checkpoints(self, sim, streams=("signinattempts", "itemusages", "auditevents")):
        return check_checkpoints(sim, str(self.state_dir), self.input_name, streams, account=self.account)

    def error_text(self, run, category):
        """The categorized error line(s) of a failed run."""
        if self.kind == "cli":
            lines = [line for line in run.log.splitlines() if line.startswith("error:")]
            assert any("[%s]" % category in line for line in lines), run.log[-2000:]
        else:
            lines = [r for r in run.records if '"category":"%s"' % category in r and '"event":"stream_failed"' in r]
            assert lines, run.log[-2000:]
        return "\n".join(lines)


@pytest.fixture(params=["cli", "input"])
def collector(request, tmp_path, scanner, monkeypatch):
    return Collector(request.param, tmp_path, scanner, monkeypatch)


def scenario(make_sim, seed=7, **kwargs):
    options = dict(COUNTS)
    options.update(kwargs)
    sim = make_sim(seed=seed, span_seconds=SPAN, **options)
    return sim, rfc3339(sim.anchor - SPAN - 60)


def retried_request_repeats(sim, stream, fault_kind):
    """The request a fault hit was sent again, unchanged (same cursor)."""
    requests = sim.stream_requests(stream)
    hit = [i for i, r in enumerate(requests) if r.fault == fault_kind]
    assert hit, "the fault never fired"
    last = hit[-1]
    assert last + 1 < len(requests), "the faulted request was never retried"
    assert requests[last + 1].body == requests[hit[0]].body
    assert requests[last + 1].status == 200


RETRIED = [
    pytest.param({"kind": "rate_limit", "retry_after": 1, "times": 2}, "rate_limit", "HTTP 429",
                 id="429-with-retry-after"),
    pytest.param({"kind": "rate_limit", "retry_after": None}, "rate_limit", "HTTP 429", id="429-without-retry-after"),
    pytest.param({"kind": "http_error", "status": 500, "shape": "error", "message": "database is on fire"},
                 "server", "HTTP 500) (API message: 'database is on fire')", id="500-Error-Message-body"),
    pytest.param({"kind": "http_error", "status": 500, "shape": "status", "message": "upstream shard 7 timed out"},
                 "server", "HTTP 500) (API message: 'upstream shard 7 timed out')",
                 id="500-status-message-body"),
    pytest.param({"kind": "http_error", "status": 502, "shape": "html"}, "server", "HTTP 502)",
                 id="502-html-page"),
    pytest.param({"kind": "http_error", "status": 503, "shape": "text", "message": "maintenance", "retry_after": 1},
                 "server", "HTTP 503)", id="503-text-retry-after"),
    pytest.param({"kind": "http_error", "status": 504, "shape": "empty"}, "server", "HTTP 504", id="504-empty"),
    pytest.param({"kind": "reset"}, "connection", "cannot reach", id="connection-reset"),
    pytest.param({"kind": "disconnect"}, "connection", "cannot reach", id="connection-closed-without-answer"),
    # the body is shorter than its Content-Length: caught while reading it
    pytest.param({"kind": "truncated", "fraction": 0.4}, "malformed_response",
                 "was cut short (the connection closed before the whole answer arrived)", id="truncated-body"),
    pytest.param({"kind": "invalid_json", "mode": "cut"}, "malformed_response", "not a valid Events API page",
                 id="200-invalid-json"),
    pytest.param({"kind": "invalid_json", "mode": "html"}, "malformed_response", "not a valid Events API page",
                 id="200-html-page"),
]


@pytest.mark.parametrize("fault, category, message", RETRIED)
def test_transient_fault_is_retried_without_loss_or_duplicate(collector, make_sim, fault, category, message):
    sim, start = scenario(make_sim)
    injected = sim.inject(stream="itemusages", after=1, **fault)
    run = collector.run(sim, start)
    assert not run.failed, run.log[-3000:]
    assert run.exit_code in (None, 0)
    assert injected.fired == injected.times
    retried_request_repeats(sim, "itemusages", fault["kind"])
    # what happened is logged once per retry, categorized, with the API's own words (documented error
    # shapes only) and nothing of an HTML or plain-text body
    retry_lines = [line for line in run.log.splitlines() if "event=retry" in line]
    assert len(retry_lines) == injected.times
    assert all("category=%s" % category in line and message in line for line in retry_lines), retry_lines
    assert not any("<title>" in line or "<html" in line or "Bad Gateway" in line for line in retry_lines)
    assert check_delivery(sim, run.events, start, max_duplicates=0) == 0
    collector.checkpoints(sim)


def test_response_slower_than_the_read_timeout_is_retried(collector, make_sim):
    sim, start = scenario(make_sim)
    slow = sim.inject("slow", stream="auditevents", after=1, delay=2.5)
    run = collector.run(sim, start, client_settings={"read_timeout": 1.0})
    assert not run.failed, run.log[-3000:]
    assert slow.fired == 1
    retried_request_repeats(sim, "auditevents", "slow")
    assert "event=retry category=connection" in run.log
    assert "did not answer within 1s" in run.log
    check_delivery(sim, run.events, start, max_duplicates=0)
    collector.checkpoints(sim)


def test_persistent_server_errors_end_the_stream_with_a_categorized_error_and_a_usable_checkpoint(
        collector, make_sim):
    sim, start = scenario(make_sim)
    sim.inject("http_error", stream="signinattempts", after=1, times=None, status=503, shape="html")
    short = {"retry": {"budget": 2.0, "base_delay": 0.1, "max_delay": 0.4, "max_attempts": 4}}
    first = collector.run(sim, start, client_settings=short)
    assert first.failed and first.exit_code in (None, 1)
    error = collector.error_text(first, "server")
    assert "HTTP 503" in error and "gave up after" in error and "<html" not in error
    # the other streams were not held back by the sick one
    for stream in ("itemusages", "auditevents"):
        assert set(sim.expected(stream, start)) <= set(first.events)
    states = collector.checkpoints(sim)
    assert "signinattempts" in states  # the page before the outage was saved
    sim.clear_faults()
    second = collector.run(sim, start)
    assert not second.failed, second.log[-3000:]
    check_delivery(sim, first.events + second.events, start, max_duplicates=LIMIT)


@pytest.mark.parametrize("shape, message", [("error", "Unauthorized"), ("status", "token has been revoked")])
def test_token_revoked_mid_run_stops_the_account_and_the_next_run_resumes(collector, make_sim, shape, message):
    sim, start = scenario(make_sim)
    if shape == "error":
        fault = sim.inject("revoke", stream="itemusages", after=1)
    else:  # the other documented error shape, on a 401
        fault = sim.inject("http_error", stream="itemusages", after=1, times=None, status=401, shape="status",
                           message=message)
    first = collector.run(sim, start)
    assert fault.fired == 1
    assert first.failed and first.exit_code in (None, 1)
    error = collector.error_text(first, "authentication")
    assert "(HTTP 401)" in error and "API message: '%s'" % message in error and "revoked" in error
    # a revoked token fails every stream alike: the run stops at once, never asks again with it
    # (requests already under way may still arrive: per stream, the page being answered and,
    # with the collector's read-ahead, the next one it asked for meanwhile)
    requests = sim.requests
    refused = [i for i, r in enumerate(requests) if r.status == 401]
    assert len({requests[i].endpoint for i in refused}) == len(refused)
    assert len(requests) - refused[0] <= 2 * len(COUNTS)
    assert "event=retry" not in first.log
    assert set(first.events) <= {t for s in COUNTS for t in sim.expected(s, start)}
    assert len(first.events) == len(set(first.events))
    collector.checkpoints(sim)
    # the admin issues a new token; the next run continues where the last one stopped
    sim.clear_faults()
    new_token = sim.add_token()
    second = collector.run(sim, start, token=new_token)
    assert not second.failed, second.log[-3000:]
    check_delivery(sim, first.events + second.events, start, max_duplicates=LIMIT)


def test_expired_cursor_is_recovered_from_the_newest_saved_second(collector, make_sim):
    sim, start = scenario(make_sim, late_fraction=0)
    fault = sim.inject("expire_cursor", stream="signinattempts", after=1)
    run = collector.run(sim, start)
    assert fault.fired == 1
    assert not run.failed, run.log[-3000:]
    assert "event=cursor_reset" in run.log and "stream=signinattempts" in run.log
    resets = [r for r in sim.stream_requests("signinattempts") if r.is_reset]
    assert len(resets) == 2  # the first run's reset, and the recovery
    duplicates = check_delivery(sim, run.events, start, max_duplicates=LIMIT)
    assert duplicates == 0  # UUIDs of the newest second were skipped
    collector.checkpoints(sim)


def test_cursor_saved_by_the_last_run_expired_before_this_run(collector, make_sim):
    sim, start = scenario(make_sim, late_fraction=0)
    first = collector.run(sim, start)
    assert not first.failed
    # new events at the very second of the newest one, and later; then the saved cursors expire
    newest = sim.newest_second("auditevents")
    sim.append("auditevents", 3, at=newest)
    sim.append("auditevents", 5)
    sim.expire_cursors()
    second = collector.run(sim, start)
    assert not second.failed, second.log[-3000:]
    assert second.log.count("event=cursor_reset") == 3
    check_delivery(sim, first.events + second.events, start, max_duplicates=0)
    collector.checkpoints(sim)


def test_expired_cursor_recovery_keeps_late_arriving_events(collector, make_sim):
    sim, start = scenario(make_sim, late_fraction=0)
    first = collector.run(sim, start)
    assert not first.failed
    # an event with a timestamp 30 s before the newest one arrives late, then the cursor expires
    sim.append("itemusages", 1, late_by=30)
    sim.expire_cursors()
    second = collector.run(sim, start)
    assert not second.failed
    check_delivery(sim, first.events + second.events, start, max_duplicates=LIMIT)


def test_bad_request_that_persists_ends_only_that_stream(collector, make_sim):
    sim, start = scenario(make_sim)
    sim.inject("http_error", stream="auditevents", after=1, times=None, status=400, shape="error",
               message="Bad Request")
    first = collector.run(sim, start)
    assert first.failed
    error = collector.error_text(first, "bad_request")
    assert "(HTTP 400)" in error and "API message: 'Bad Request'" in error and "auditevents" in error
    assert "event=retry" not in first.log  # a 400 is never retried as is
    for stream in ("signinattempts", "itemusages"):
        assert set(sim.expected(stream, start)) <= set(first.events)
    collector.checkpoints(sim)
    sim.clear_faults()
    second = collector.run(sim, start)
    assert not second.failed
    check_delivery(sim, first.events + second.events, start, max_duplicates=LIMIT)


@pytest.mark.parametrize("same_cursor", [True, False], ids=["same-cursor", "new-cursor-each-time"])
def test_endless_has_more_with_empty_pages_ends_the_run(collector, make_sim, same_cursor):
    sim, start = scenario(make_sim)
    sim.inject("empty", stream="signinattempts", after=1, times=None, same_cursor=same_cursor)
    first = collector.run(sim, start)
    empties = [r for r in sim.stream_requests("signinattempts") if r.fault == "empty"]
    if same_cursor:
        # the cursor it was asked with, with has_more=true: no progress, so that stream stops at once, visibly
        assert len(empties) == 1
        failures = [line for line in first.log.splitlines() if "signinattempts" in line and
                    ('"event":"stream_failed"' in line or line.startswith("error:"))]
        assert failures and "malformed_response" in failures[0] and "would not progress" in first.log
    else:
        assert not first.failed, first.log[-3000:]
        assert 1 <= len(empties) <= 3  # the run did not spin
    for stream in ("itemusages", "auditevents"):
        assert set(sim.expected(stream, start)) <= set(first.events)
    collector.checkpoints(sim)
    sim.clear_faults()
    second = collector.run(sim, start)
    assert not second.failed
    check_delivery(sim, first.events + second.events, start, max_duplicates=0)


def test_rate_limited_backlog_drains_without_failing(collector, make_sim):
    # the documented windows (600/min, 30,000/h) scaled down to keep the test short
    sim, start = scenario(make_sim, signinattempts=500, itemusages=500, auditevents=500,
                          rate_limits=[(5, 1.0), (200, 3600.0)])
    run = collector.run(sim, start)
    assert not run.failed, run.log[-3000:]
    assert sim.count(status=429) >= 2
    assert "event=retry category=rate_limit" in run.log
    check_delivery(sim, run.events, start, max_duplicates=0)
    # after each 429 the collector waited the Retry-After (1 s) before asking again
    for stream in COUNTS:
        requests = sim.stream_requests(stream)
        for before, after in zip(requests, requests[1:]):
            if before.status == 429:
                assert after.at - before.at >= 0.95
    collector.checkpoints(sim)


def test_idle_poll_makes_one_request_per_stream(collector, make_sim):
    sim, start = scenario(make_sim)
    first = collector.run(sim, start)
    assert not first.failed
    sim.clear_log()
    second = collector.run(sim, start)
    assert not second.failed and second.events == []
    assert [sim.count(stream) for stream in COUNTS] == [1, 1, 1]
    # a late event (older timestamp than events already read) is still picked up by the cursor
    late = sim.append("signinattempts", 1, late_by=3600)
    third = collector.run(sim, start)
    assert third.events == late


def test_untrusted_certificate_is_a_tls_error_not_retried(tmp_path, scanner, make_sim):
    sim = make_sim(seed=3, signinattempts=20, tls=True, cert_dir=str(tmp_path / "tls"))
    start = rfc3339(sim.anchor - 8 * 86400)
    refused = run_cli(sim, scanner, tmp_path / "a", start=start, event_types="signinattempts")
    assert refused.exit_code == 1
    assert "error: [tls] signinattempts: TLS verification of 127.0.0.1:%d failed" % sim.port in refused.log
    assert "event=retry" not in refused.log and refused.events == []
    trusted = run_cli(sim, scanner, tmp_path / "b", start=start, event_types="signinattempts",
                      extra=["--ca-bundle", sim.cert_file])
    assert trusted.exit_code == 0, trusted.log
    check_delivery(sim, trusted.events, start, 0, streams=("signinattempts",))


def test_errors_of_the_input_path_reach_splunk_with_the_api_message(tmp_path, scanner, monkeypatch, make_sim):
    """A 401 with an {"Error":{"Message"}} body: the input logs an Authentication Error
    naming the account's fix, once per stream, and writes no event."""
    sim, start = scenario(make_sim)
    sim.revoke()
    run = run_input(sim, scanner, monkeypatch, tmp_path / "s", start=start, page_size=LIMIT)
    assert run.events == []
    failures = [line for line in run.log.splitlines() if '"event":"stream_failed"' in line]
    assert len(failures) == 3
    assert all('"label":"Authentication Error"' in line and '"category":"authentication"' in line
               for line in failures)
    assert "issue a new Events Reporting token" in run.log and "(HTTP 401)" in run.log
    assert "API message: 'Unauthorized'" in run.log
    assert sim.count() == 1 and sim.requests[0].body["limit"] == LIMIT
