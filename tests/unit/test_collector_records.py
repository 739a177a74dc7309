"""The collector's log lines as a Splunk admin reads them in the input's log: each one's exact words,
level and fields, at the moment it is written and not otherwise."""

import io
import json
import logging

import pytest
import responses

import onepassword_events_helper as helper
from onepassword_events import collector as collector_module
from onepassword_events import timeparse
from onepassword_events.checkpoint import MemoryCheckpointStore, checkpoint_key
from onepassword_events.collector import clamp_start_time
from onepassword_events.sinks import ModularInputStream
from onepassword_events.stopping import StopFlag
from onepassword_splunk import LocalEdge
from helpers import events
from helpers.fake_api import FakeEventsApi
from test_collector import START, api, collect  # noqa: F401 (api: the fixture)

LOGGER = "test_collector_records"


@pytest.fixture
def logged(caplog):
    """The collector's logger, and what it has written so far as (level, text)."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    logger = logging.getLogger(LOGGER)
    logger.lines = lambda: [(r.levelname, r.getMessage()) for r in caplog.records if r.name == LOGGER]
    yield logger
    del logger.lines  # the logger outlives the test; its caplog does not


def test_a_start_time_older_than_the_retention_is_moved_to_an_hour_inside_it_and_says_so(logged):
    now = 1_800_000_000  # 2027-01-15T08:00:00Z
    earliest = now - 120 * 86400 + 3600  # the Events API keeps 120 days; an hour's margin for the clocks
    assert clamp_start_time(earliest, now=now, logger=logged) == earliest
    assert logged.lines() == []
    assert clamp_start_time(earliest - 1, now=now, logger=logged) == earliest
    assert logged.lines() == [("WARNING", "event=start_time_clamped requested=2026-09-17T08:59:59Z "
                                          "used=2026-09-17T09:00:00Z reason='the Events API keeps 120 days of events'")]


def test_a_start_time_ahead_of_the_clock_becomes_now_without_a_record(logged):
    now = 1_800_000_000
    assert clamp_start_time(now + 1, now=now, logger=logged) == now
    assert clamp_start_time(now, now=now, logger=logged) == now
    assert logged.lines() == []


def test_a_checkpoint_of_another_account_is_ignored_with_a_warning_naming_whose_it_is(api, logged):
    api.add("signinattempts", [events.signin(n) for n in range(3)])
    store = MemoryCheckpointStore()
    collect(api, store, account="acme")
    (run,), sink = collect(api, store, account="globex", logger=logged)
    assert logged.lines() == [("WARNING", "event=checkpoint_ignored stream=signinattempts reason=\"it belongs to "
                                          "account 'acme' at events.1password.com; starting from the start time\"")]
    assert len(sink.uuids()) == 3 and api.stream_requests("signinattempts")[-2] == {
        "limit": 10, "start_time": timeparse.format_rfc3339(START)}
    assert store.get(checkpoint_key("in", "signinattempts"))["account"] == "globex"


def test_a_checkpoint_of_another_host_is_ignored_and_one_of_the_same_host_is_kept_quietly(logged):
    store = MemoryCheckpointStore()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        business = FakeEventsApi(rsps)
        enterprise = FakeEventsApi(rsps, base_url="https://events.ent.1password.com")
        for fake in (business, enterprise):
            fake.add("signinattempts", [events.signin(n) for n in range(3)])
        collect(business, store)
        collect(business, store, logger=logged)
        assert logged.lines() == [] and business.stream_requests("signinattempts")[-1] == {
            "cursor": "c-signinattempts-00000003"}
        (run,), sink = collect(enterprise, store, logger=logged)
    assert logged.lines() == [("WARNING", "event=checkpoint_ignored stream=signinattempts reason=\"it belongs to "
                                          "account 'acme' at events.1password.com; starting from the start time\"")]
    assert len(sink.uuids()) == 3 and "start_time" in enterprise.stream_requests("signinattempts")[0]


def test_a_stop_asked_for_is_recorded_at_info_with_why(api, logged):
    api.add("signinattempts", [events.signin(0)])
    (run,), _ = collect(api, MemoryCheckpointStore(), stop=lambda: True, logger=logged)
    assert run.status == "interrupted" and api.requests == []
    assert logged.lines() == [("INFO", "event=stop_requested reason='asked to stop; state saved'")]


def test_a_sigterm_stop_is_recorded_at_info_and_a_run_that_reached_its_bound_at_warning(api, logged):
    api.add("signinattempts", [events.signin(0)])
    sigterm = StopFlag()
    sigterm.request()
    collect(api, MemoryCheckpointStore(), stop=sigterm, logger=logged)
    assert logged.lines() == [("INFO", "event=stop_requested reason='asked to stop (SIGTERM); state saved'")]
    bounded = StopFlag(run_seconds=0)
    (run,), _ = collect(api, MemoryCheckpointStore(), stop=bounded, logger=logged)
    assert run.status == "interrupted"
    assert logged.lines()[1:] == [("WARNING", "event=stop_requested reason='the run reached its wall-clock bound of "
                                              "0 s; the checkpoint is at the last written page and the next run "
                                              "continues from there'")]


def test_a_refused_cursor_is_recorded_with_where_the_stream_restarts_and_how_many_events_it_skips(api, logged):
    api.add("signinattempts", [events.signin(n, second=n // 2) for n in range(5)])
    store = MemoryCheckpointStore()
    collect(api, store)
    api.fail_next("signinattempts", 400, '{"Error":{"Message":"Bad Request"}}')
    (run,), sink = collect(api, store, logger=logged)
    restart = timeparse.format_rfc3339(events.BASE + 2 - 15 * 60)
    assert logged.lines() == [("WARNING", "event=cursor_reset stream=signinattempts reason=\"events.1password.com "
                                          "refused the request (HTTP 400) (API message: 'Bad Request')\" "
                                          f"reset_from={restart} skipping_uuids=5")]
    assert sink.uuids() == [] and run.duplicates_skipped == 5 and run.status == "caught_up"


def test_events_without_a_time_or_from_the_future_are_counted_in_one_warning_per_page(api, logged):
    future = timeparse.format_rfc3339(int(collector_module.time.time()) + 3600)
    page = [{"uuid": "FUTURE1", "timestamp": future}, {"uuid": "FUTURE2", "timestamp": future}, events.signin(0),
            {"uuid": "NOTIME"}, {"uuid": "BADTIME", "timestamp": "yesterday"}, "not an object", events.signin(1)]
    api.fail_next("signinattempts", 200, json.dumps({"cursor": "c1", "has_more": True, "items": page}))
    api.fail_next("signinattempts", 200, json.dumps({"cursor": "c2", "has_more": False, "items": [{"uuid": "NOTIME2"}]}))
    (run,), sink = collect(api, MemoryCheckpointStore(), logger=logged)
    assert run.events == 8
    reason = ("reason=\"written as they are; events without a usable time get the time they are indexed, and future "
              "times move neither the checkpoint's recovery point nor the lag\"")
    assert logged.lines() == [
        ("WARNING", "event=odd_events stream=signinattempts without_time=3 later_than_now=2 " + reason),
        ("WARNING", "event=odd_events stream=signinattempts without_time=1 later_than_now=0 " + reason)]


def test_a_page_of_ordinary_events_writes_no_record(api, logged):
    api.add("signinattempts", [events.signin(n) for n in range(25)])
    (run,), _ = collect(api, MemoryCheckpointStore(), logger=logged)
    assert run.events == 25 and logged.lines() == []


def test_a_stream_that_caught_up_is_summarised_and_never_reported_as_failed(logged):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        api = FakeEventsApi(rsps)
        api.add("auditevents", [events.auditevent(n) for n in range(3)])
        stream = ModularInputStream(io.StringIO())
        helper.collect_input("onepassword://acme_in", {"account": "acme", "event_types": "auditevents"},
                             LocalEdge("acme", {"token": api.token}, logged), stream, lambda: False)
    records = [json.loads(text) for _, text in logged.lines() if text.startswith("{")]
    assert [record["event"] for record in records] == ["stream_summary", "run_summary"]
    assert records[0]["status"] == "caught_up" and records[0]["events"] == 3
