import io
import json
import logging
import time
from types import SimpleNamespace

import pytest
import responses

from onepassword_events import timeparse
from onepassword_events.checkpoint import FileCheckpointStore, MemoryCheckpointStore, checkpoint_key
from onepassword_events.client import EventsApiClient, RetryPolicy
from onepassword_events import collector as collector_module
from onepassword_events.collector import RETENTION_SECONDS, Collector, clamp_start_time
from onepassword_events.errors import AuthError, ServerError
from onepassword_events.sinks import JsonLinesSink
from onepassword_events.streams import STREAMS
from helpers import events
from helpers.fake_api import BASE_URL, FakeEventsApi

START = events.BASE - 3600


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeEventsApi(rsps)


class RecordingSink(JsonLinesSink):
    """Writes JSON lines and remembers, per page, what the checkpoint store held at write time."""

    def __init__(self, store):
        super().__init__(io.StringIO())
        self.store = store
        self.pages = []

    def write_page(self, stream, page_events):
        saved = self.store.get(checkpoint_key("in", stream.name))
        self.pages.append((stream.name, len(page_events), saved and saved["cursor"]))
        return super().write_page(stream, page_events)

    def uuids(self):
        return [json.loads(line)["uuid"] for line in self._out.getvalue().splitlines()]


def collect(api, store, streams=("signinattempts",), limit=10, start=START, stop=lambda: False, account="acme",
            sink=None, logger=None, **options):
    client = EventsApiClient(api.base_url, api.token, sleep=lambda s: None, retry=RetryPolicy(max_attempts=3))
    sink = sink or RecordingSink(store)
    collector = Collector(client, store, sink, "in", account, [STREAMS[s] for s in streams], start, limit=limit,
                          stop_requested=stop, logger=logger, **options)
    return collector.run(), sink


def test_drains_a_backlog_page_by_page_and_stops_on_has_more_false(api, tmp_path):
    api.add("signinattempts", [events.signin(n) for n in range(25)])
    store = FileCheckpointStore(str(tmp_path))
    (run,), sink = collect(api, store)
    assert sink.uuids() == [events.signin(n)["uuid"] for n in range(25)]
    assert run.status == "caught_up" and run.events == 25 and run.pages == 3
    bodies = api.stream_requests("signinattempts")
    assert bodies[0] == {"limit": 10, "start_time": timeparse.format_rfc3339(START)}
    assert all(set(body) == {"cursor"} for body in bodies[1:]) and len(bodies) == 3


def test_cursor_is_saved_only_after_its_page_is_written(api, tmp_path):
    api.add("signinattempts", [events.signin(n) for n in range(25)])
    store = FileCheckpointStore(str(tmp_path))
    _, sink = collect(api, store)
    # when page k is written, the store still holds the cursor that *requested* page k
    cursors_requested = [None] + [b["cursor"] for b in api.stream_requests("signinattempts")[1:]]
    assert [saved for _, _, saved in sink.pages] == cursors_requested
    final = store.get(checkpoint_key("in", "signinattempts"))
    assert final["cursor"] == "c-signinattempts-00000025"


def test_second_run_continues_exactly_where_the_first_stopped(api, tmp_path):
    api.add("signinattempts", [events.signin(n) for n in range(12)])
    store = FileCheckpointStore(str(tmp_path))
    _, first = collect(api, store)
    api.add("signinattempts", [events.signin(n) for n in range(12, 15)])
    (run,), second = collect(api, store)
    assert first.uuids() + second.uuids() == [events.signin(n)["uuid"] for n in range(15)]
    assert api.stream_requests("signinattempts")[-1] == {"cursor": "c-signinattempts-00000012"}


def test_idle_poll_costs_one_request_per_stream(api, tmp_path):
    store = FileCheckpointStore(str(tmp_path))
    for name in STREAMS:
        api.add(name, [])
    collect(api, store, streams=tuple(STREAMS))
    before = len(api.requests)
    runs, sink = collect(api, store, streams=tuple(STREAMS))
    assert len(api.requests) - before == 3 and sink.uuids() == []
    assert all(r.status == "caught_up" for r in runs)


def test_streams_are_interleaved_page_by_page(api, tmp_path):
    api.add("itemusages", [events.itemusage(n) for n in range(50)])
    api.add("signinattempts", [events.signin(n) for n in range(20)])
    api.add("auditevents", [events.auditevent(n) for n in range(5)])
    store = FileCheckpointStore(str(tmp_path))
    runs, sink = collect(api, store, streams=("signinattempts", "itemusages", "auditevents"))
    order = [name for name, _, _ in sink.pages]
    # a backlog in item usages never delays sign-ins by more than a page
    assert order[:5] == ["signinattempts", "itemusages", "auditevents", "signinattempts", "itemusages"]
    assert order[5:] == ["itemusages"] * 3  # the others are caught up
    assert [r.events for r in runs] == [20, 50, 5]


def test_the_same_cursor_with_has_more_stops_the_stream_with_an_error(api, tmp_path, monkeypatch):
    store = FileCheckpointStore(str(tmp_path))
    api.add("signinattempts", [events.signin(0)])
    collect(api, store)
    # the API now says has_more=true but keeps returning the same cursor and no items
    api.fail_next("signinattempts", 200, json.dumps({"cursor": "c-signinattempts-00000001", "has_more": True, "items": []}),
                  times=50)
    (run,), _ = collect(api, store)
    assert run.status == "error" and run.error.category == "malformed_response"
    assert run.error.message == ("events.1password.com sent back the cursor it was asked with with has_more=true; "
                                 "paging would not progress, so this stream stops until the next run")
    assert len(api.stream_requests("signinattempts")) == 2
    assert store.get(checkpoint_key("in", "signinattempts"))["cursor"] == "c-signinattempts-00000001"


def test_endless_has_more_with_empty_pages_is_bounded(api, tmp_path):
    store = MemoryCheckpointStore()
    for n in range(100):
        api.fail_next("signinattempts", 200, json.dumps({"cursor": f"moving-{n}", "has_more": True, "items": []}))
    (run,), _ = collect(api, store)
    assert run.status == "caught_up" and len(api.stream_requests("signinattempts")) == 3


def test_expired_cursor_recovers_without_gap_or_duplicate_even_for_late_events(api, tmp_path):
    items = [events.signin(n, second=n // 3) for n in range(9)]
    api.add("signinattempts", items[:5])  # ends in the middle of second 1
    store = FileCheckpointStore(str(tmp_path))
    _, first = collect(api, store, limit=4)
    state = store.get(checkpoint_key("in", "signinattempts"))
    assert [uuid for _, uuids in state["recent"] for uuid in uuids] == [i["uuid"] for i in items[:5]]
    assert state["recent_since"] == events.BASE + 1 - collector_module.RECOVERY_LOOKBACK
    # new events, one of them late (its timestamp is before what was already written)
    late = events.signin(100, second=0)
    api.items["signinattempts"][:] = items[:3] + [late] + items[3:]  # and items 5-8 are new
    api.fail_next("signinattempts", 400, '{"Error":{"Message":"Bad Request"}}')
    (run,), second = collect(api, store, limit=4)
    assert sorted(first.uuids() + second.uuids()) == sorted([i["uuid"] for i in items] + [late["uuid"]])
    reset = api.stream_requests("signinattempts")[-3]
    assert reset == {"limit": 4, "start_time": timeparse.format_rfc3339(events.BASE + 1 - collector_module.RECOVERY_LOOKBACK)}
    assert run.duplicates_skipped == 5 and run.status == "caught_up"


def test_the_recovery_window_is_bounded(api, tmp_path, monkeypatch):
    monkeypatch.setattr(collector_module, "RECOVERY_MAX_UUIDS", 10)
    api.add("signinattempts", [events.signin(n, second=n // 5) for n in range(40)])
    store = FileCheckpointStore(str(tmp_path))
    collect(api, store, limit=7)
    state = store.get(checkpoint_key("in", "signinattempts"))
    # pages of 7: the last (events 35-39, second 7) is kept; the one before would pass the cap
    assert [uuids for _, uuids in state["recent"]] == [[events.signin(n)["uuid"] for n in range(35, 40)]]
    assert state["recent_since"] == events.BASE + 7  # complete from the second after what was forgotten


def test_a_second_400_is_an_error_not_a_loop(api, tmp_path):
    store = FileCheckpointStore(str(tmp_path))
    api.add("signinattempts", [events.signin(0)])
    collect(api, store)
    api.fail_next("signinattempts", 400, '{"status":400,"message":"bad cursor"}', times=2)
    (run,), _ = collect(api, store)
    assert run.status == "error" and "bad cursor" in str(run.error)
    assert store.get(checkpoint_key("in", "signinattempts"))["cursor"] == "c-signinattempts-00000001"


def test_revoked_token_stops_every_stream_of_the_account(api, tmp_path):
    for name in STREAMS:
        api.add(name, [])
    api.revoked = True
    runs, _ = collect(api, MemoryCheckpointStore(), streams=tuple(STREAMS))
    assert len(api.requests) == 1
    assert all(isinstance(r.error, AuthError) and r.status == "error" for r in runs)


def test_a_failing_stream_does_not_stop_the_others(api, tmp_path):
    api.add("signinattempts", [events.signin(n) for n in range(3)])
    api.add("auditevents", [events.auditevent(n) for n in range(3)])
    api.fail_next("signinattempts", 503, "<html>down</html>", times=10)
    runs, sink = collect(api, MemoryCheckpointStore(), streams=("signinattempts", "auditevents"))
    assert isinstance(runs[0].error, ServerError) and runs[1].events == 3


def test_stop_request_finishes_the_page_in_flight_and_saves(api, tmp_path):
    api.add("signinattempts", [events.signin(n) for n in range(30)])
    store = FileCheckpointStore(str(tmp_path))
    stop_after = iter([False, False, True])
    (run,), sink = collect(api, store, stop=lambda: next(stop_after))
    assert run.status == "interrupted" and len(sink.uuids()) == 20
    assert store.get(checkpoint_key("in", "signinattempts"))["cursor"] == "c-signinattempts-00000020"


def test_checkpoint_of_another_account_is_not_reused(api, tmp_path):
    api.add("signinattempts", [events.signin(n) for n in range(5)])
    store = FileCheckpointStore(str(tmp_path))
    collect(api, store, account="acme")
    (run,), sink = collect(api, store, account="globex")
    assert len(sink.uuids()) == 5 and "limit" in api.stream_requests("signinattempts")[-1]


def test_items_keep_their_text_and_get_their_own_time(api, tmp_path):
    odd = [
        {"uuid": "X1", "timestamp": timeparse.format_rfc3339(events.BASE)[:-1] + ".123456789+05:30",
         "target_user": {"name": "Zoë <&>"}},
        {"uuid": "X2", "timestamp": "not a time", "details": None},
        {"uuid": "X3"},
    ]
    api.add("signinattempts", odd)
    api.items["signinattempts"] = odd  # the fake's start_time filter must not drop the odd ones

    class TimedSink(JsonLinesSink):
        def write_page(self, stream, page_events):
            self.times = [t for _, t in page_events]
            return super().write_page(stream, page_events)

    sink = TimedSink(io.StringIO())
    api.fail_next("signinattempts", 200, json.dumps({"cursor": "c1", "has_more": False, "items": odd}))
    collect(api, MemoryCheckpointStore(), sink=sink)
    assert sink.times == ["%d.123456" % (events.BASE - 5 * 3600 - 1800), None, None]
    assert [json.loads(line) for line in sink._out.getvalue().splitlines()] == odd


def test_start_time_is_kept_inside_the_retention_window():
    now = 1_800_000_000
    assert clamp_start_time(now - RETENTION_SECONDS - 10, now=now) > now - RETENTION_SECONDS
    assert clamp_start_time(now - 86400, now=now) == now - 86400
    assert clamp_start_time(now + 500, now=now) == now


def test_page_size_outside_1_to_1000_is_refused(api):
    client = EventsApiClient(BASE_URL, api.token)
    with pytest.raises(ValueError):
        Collector(client, MemoryCheckpointStore(), None, "in", "a", [], START, limit=1001)


def test_the_same_page_under_new_cursors_stops_the_stream_at_the_repeat(api, tmp_path):
    store = FileCheckpointStore(str(tmp_path))
    items = [events.signin(n) for n in range(3)]
    for n in range(20):
        api.fail_next("signinattempts", 200, json.dumps({"cursor": f"fresh-{n}", "has_more": True, "items": items}))
    (run,), sink = collect(api, store)
    assert run.status == "error" and run.error.message == (
        "events.1password.com sent the events of the previous page again under a new cursor; paging would not "
        "progress, so this stream stops until the next run")
    assert len(sink.uuids()) == 3  # the page once, never its repeats
    assert store.get(checkpoint_key("in", "signinattempts"))["cursor"] == "fresh-0"


# -- each limit on both sides ---------------------------------------------------------------------

@pytest.mark.parametrize("limit, refused", [(0, True), (1, False), (1000, False), (1001, True)])
def test_page_sizes_from_1_to_1000_are_asked_for_and_others_refused(api, limit, refused):
    api.add("signinattempts", [events.signin(0)])
    if refused:
        with pytest.raises(ValueError, match=f"^page size must be between 1 and 1000, not {limit}$"):
            collect(api, MemoryCheckpointStore(), limit=limit)
        assert api.requests == []
    else:
        collect(api, MemoryCheckpointStore(), limit=limit)
        assert api.stream_requests("signinattempts") == [{"limit": limit, "start_time": timeparse.format_rfc3339(START)}]


def test_by_default_a_collector_asks_for_pages_of_1000_and_runs_until_caught_up(api):
    api.add("signinattempts", [events.signin(n) for n in range(3)])
    client = EventsApiClient(BASE_URL, api.token)
    sink = RecordingSink(MemoryCheckpointStore())
    (run,) = Collector(client, MemoryCheckpointStore(), sink, "in", "acme", [STREAMS["signinattempts"]], START).run()
    assert run.status == "caught_up" and len(sink.uuids()) == 3
    assert api.stream_requests("signinattempts") == [{"limit": 1000, "start_time": timeparse.format_rfc3339(START)}]


def test_a_run_reads_10000_pages_of_a_stream_and_the_next_run_goes_on(api, caplog):
    # small items, one per page: 10,001 of them
    api.add("signinattempts", [{"uuid": "U%d" % n, "timestamp": timeparse.format_rfc3339(events.BASE + n)}
                               for n in range(10_001)])
    store = MemoryCheckpointStore()
    sink = JsonLinesSink(io.StringIO())
    logger = logging.getLogger("test_collector.page_limit")
    with caplog.at_level(logging.INFO, logger=logger.name):
        (run,), _ = collect(api, store, limit=1, sink=sink, read_ahead=False, logger=logger)
    assert (run.status, run.pages, run.events) == ("more_pending", 10_000, 10_000)
    assert len(api.requests) == 10_000
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == logger.name] == [
        ("WARNING", "event=page_limit stream=signinattempts pages=10000 reason='a run reads at most this many pages "
                    "per stream; the next run continues from the checkpoint'")]
    assert store.get(checkpoint_key("in", "signinattempts"))["cursor"] == "c-signinattempts-00010000"
    (run,), _ = collect(api, store, limit=1, sink=sink, read_ahead=False)
    assert (run.status, run.pages, run.events) == ("caught_up", 1, 1)


def test_empty_pages_end_a_stream_only_three_in_a_row(api):
    pages = [[], [], [events.signin(0)], [], [], [events.signin(1)], [], [], [], [events.signin(2)]]
    for n, items in enumerate(pages):
        api.fail_next("signinattempts", 200, json.dumps({"cursor": f"moving-{n}", "has_more": True, "items": items}))
    (run,), sink = collect(api, MemoryCheckpointStore())
    # two empty pages, then events: the count starts again; three empty pages in a row end the run
    assert sink.uuids() == [events.signin(n)["uuid"] for n in range(2)]
    assert run.status == "caught_up" and run.pages == 9


def test_the_recovery_window_keeps_2000_uuids_and_forgets_a_page_for_one_more(api):
    store = MemoryCheckpointStore()
    api.add("signinattempts", [events.signin(n, second=n // 100) for n in range(2000)])
    collect(api, store, limit=1000)
    state = store.get(checkpoint_key("in", "signinattempts"))
    assert [len(uuids) for _, uuids in state["recent"]] == [1000, 1000]
    assert state["recent_since"] == events.BASE + 19 - 15 * 60
    api.add("signinattempts", [events.signin(2000, second=20)])
    collect(api, store, limit=1000)
    state = store.get(checkpoint_key("in", "signinattempts"))
    # the first page (seconds 0 to 9) is forgotten: the window is complete from second 10
    assert [len(uuids) for _, uuids in state["recent"]] == [1000, 1]
    assert state["recent_since"] == events.BASE + 10


def test_a_refused_cursor_restarts_15_minutes_before_the_newest_event_and_keeps_that_window(api):
    store = MemoryCheckpointStore()
    # the window floor is the newest second less 900: a page whose newest event is on it stays, one before goes
    api.add("signinattempts", [events.signin(0, second=0), events.signin(1, second=99), events.signin(2, second=100),
                               events.signin(3, second=1000)])
    collect(api, store, limit=1)
    state = store.get(checkpoint_key("in", "signinattempts"))
    assert [second - events.BASE for second, _ in state["recent"]] == [100, 1000]
    assert state["recent_since"] == events.BASE + 100
    api.fail_next("signinattempts", 400, '{"Error":{"Message":"Bad Request"}}')
    (run,), sink = collect(api, store, limit=1)
    assert api.stream_requests("signinattempts")[4:6] == [
        {"cursor": "c-signinattempts-00000004"}, {"limit": 1, "start_time": timeparse.format_rfc3339(events.BASE + 100)}]
    assert sink.uuids() == [] and run.duplicates_skipped == 2


@pytest.mark.parametrize("uuid, remembered", [("", False), ("A", True), ("U" * 64, True), ("U" * 65, False)])
def test_uuids_of_1_to_64_characters_are_remembered_and_skipped_after_a_reset(api, uuid, remembered):
    store = MemoryCheckpointStore()
    item = {"uuid": uuid, "timestamp": timeparse.format_rfc3339(events.BASE)}
    api.add("signinattempts", [item])
    collect(api, store)
    state = store.get(checkpoint_key("in", "signinattempts"))
    assert state["recent"] == [[events.BASE, [uuid] if remembered else []]]
    api.fail_next("signinattempts", 400, '{"Error":{"Message":"Bad Request"}}')
    (run,), sink = collect(api, store)
    assert run.duplicates_skipped == (1 if remembered else 0)
    assert len(sink.uuids()) == (0 if remembered else 1)


def test_a_checkpoint_holding_an_empty_uuid_never_makes_an_event_without_one_a_repeat(api):
    store = MemoryCheckpointStore()
    key = checkpoint_key("in", "signinattempts")
    store.save(key, json.dumps({"account": "acme", "host": "events.1password.com", "cursor": "written-by-hand",
                                "newest_second": events.BASE, "recent": [[events.BASE, ["", "A"]]]}))
    api.fail_next("signinattempts", 400, '{"Error":{"Message":"Bad Request"}}')
    api.add("signinattempts", [{"uuid": "", "timestamp": timeparse.format_rfc3339(events.BASE)},
                               {"uuid": "A", "timestamp": timeparse.format_rfc3339(events.BASE)}])
    (run,), sink = collect(api, store)
    assert sink.uuids() == [""] and run.duplicates_skipped == 1
    assert store.get(key)["recent"] == [[events.BASE, ["A"]], [events.BASE, []]]


@pytest.fixture
def clock(monkeypatch):
    """The collector's clock, stopped one day after events.BASE (the events' epoch, ten days back)."""
    now = events.BASE + 86400
    monkeypatch.setattr(collector_module, "time", SimpleNamespace(time=lambda: now + 0.5))
    return now


def test_an_event_up_to_5_minutes_ahead_of_our_clock_counts_and_one_a_second_later_moves_nothing(api, clock):
    api.add("signinattempts", [{"uuid": "EDGE", "timestamp": timeparse.format_rfc3339(clock + 300)}])
    api.add("itemusages", [{"uuid": "BEYOND", "timestamp": timeparse.format_rfc3339(clock + 301)}])
    store = MemoryCheckpointStore()
    runs, sink = collect(api, store, streams=("signinattempts", "itemusages"))
    assert sink.uuids() == ["EDGE", "BEYOND"]  # both written
    edge, beyond = (store.get(checkpoint_key("in", name)) for name in ("signinattempts", "itemusages"))
    assert (edge["newest_second"], edge["recent"]) == (clock + 300, [[clock + 300, ["EDGE"]]])
    assert (beyond["newest_second"], beyond["recent"]) == (None, [])
    assert [run.lag_seconds for run in runs] == [0, None]  # never a negative lag


@pytest.mark.parametrize("newest, kept", [(0, True), (-1, False), ("clock+300", True), ("clock+301", False)])
def test_a_checkpoint_s_newest_second_counts_from_1970_to_5_minutes_ahead_of_our_clock(api, clock, newest, kept):
    newest = clock + int(newest[len("clock"):]) if isinstance(newest, str) else newest
    store = MemoryCheckpointStore()
    key = checkpoint_key("in", "signinattempts")
    store.save(key, json.dumps({"account": "acme", "host": "events.1password.com", "cursor": "c-saved",
                                "newest_second": newest, "recent_since": newest, "recent": [[newest, ["A"]]]}))
    api.fail_next("signinattempts", 200, json.dumps({"cursor": "c-saved", "has_more": False, "items": []}))
    (run,), _ = collect(api, store)
    state = store.get(key)
    if kept:
        assert (state["newest_second"], state["recent_since"], state["recent"]) == (newest, newest, [[newest, ["A"]]])
        assert run.lag_seconds == max(0, clock - newest)
    else:
        assert (state["newest_second"], state["recent_since"], state["recent"]) == (None, None, [])
        assert run.lag_seconds is None


@pytest.mark.parametrize("cursor", [12345, "", None, ["c-signinattempts-00000001"]])
def test_a_checkpoint_without_a_usable_cursor_starts_from_the_start_time(api, cursor):
    api.add("signinattempts", [events.signin(0)])
    store = MemoryCheckpointStore()
    store.save(checkpoint_key("in", "signinattempts"),
               json.dumps({"account": "acme", "host": "events.1password.com", "cursor": cursor}))
    (run,), sink = collect(api, store)
    assert api.stream_requests("signinattempts") == [{"limit": 10, "start_time": timeparse.format_rfc3339(START)}]
    assert len(sink.uuids()) == 1 and run.status == "caught_up"


def test_only_well_formed_entries_of_a_checkpoint_s_recovery_window_are_kept(api):
    store = MemoryCheckpointStore()
    key = checkpoint_key("in", "signinattempts")
    recent = [[events.BASE, ["A"]], [None, ["B"]], ["1", ["C"]], [events.BASE, "D"], [events.BASE],
              {"second": events.BASE}, [events.BASE + 1, ["E", 5, "", None]]]
    store.save(key, json.dumps({"account": "acme", "host": "events.1password.com", "cursor": "c-saved",
                                "newest_second": events.BASE + 1, "recent": recent}))
    api.fail_next("signinattempts", 200, json.dumps({"cursor": "c-saved", "has_more": False, "items": []}))
    collect(api, store)
    assert store.get(key)["recent"] == [[events.BASE, ["A"]], [events.BASE + 1, ["E"]]]


def test_a_cursor_refused_before_any_event_was_written_restarts_from_the_start_time(api):
    store = MemoryCheckpointStore()
    collect(api, store)  # nothing yet: a cursor is saved, no event time
    api.add("signinattempts", [events.signin(n) for n in range(3)])
    api.fail_next("signinattempts", 400, '{"Error":{"Message":"Bad Request"}}')
    (run,), sink = collect(api, store)
    assert api.stream_requests("signinattempts")[1:3] == [
        {"cursor": "c-signinattempts-00000000"}, {"limit": 10, "start_time": timeparse.format_rfc3339(START)}]
    assert len(sink.uuids()) == 3 and run.duplicates_skipped == 0 and run.status == "caught_up"


def test_a_cursor_refused_in_the_middle_of_a_run_resets_and_the_run_goes_on(api):
    items = [events.signin(n, second=n // 5) for n in range(25)]
    api.add("signinattempts", items)
    api.fail_next("signinattempts", 200, json.dumps({"cursor": "c-soon-expired", "has_more": True, "items": items[:10]}))
    api.fail_next("signinattempts", 400, '{"Error":{"Message":"Bad Request"}}')
    (run,), sink = collect(api, MemoryCheckpointStore())
    assert sink.uuids() == [item["uuid"] for item in items]  # each once
    assert api.stream_requests("signinattempts")[1:3] == [
        {"cursor": "c-soon-expired"}, {"limit": 10, "start_time": timeparse.format_rfc3339(events.BASE + 1 - 900)}]
    assert run.duplicates_skipped == 10 and run.status == "caught_up"


def test_a_cursor_refused_again_after_a_reset_is_an_error_not_another_reset(api):
    store = MemoryCheckpointStore()
    api.add("signinattempts", [events.signin(n) for n in range(3)])
    collect(api, store, limit=2)
    api.add("signinattempts", [events.signin(n) for n in range(3, 6)])
    api.fail_next("signinattempts", 400, '{"Error":{"Message":"Bad Request"}}')
    api.fail_next("signinattempts", 200, json.dumps({"cursor": "c-fresh", "has_more": True, "items": []}))
    api.fail_next("signinattempts", 400, '{"status":400,"message":"cursor expired again"}')
    (run,), sink = collect(api, store, limit=2)
    assert run.status == "error" and "cursor expired again" in str(run.error)
    assert [set(body) for body in api.stream_requests("signinattempts")[2:]] == [{"cursor"}, {"limit", "start_time"},
                                                                                 {"cursor"}]
    assert store.get(checkpoint_key("in", "signinattempts"))["cursor"] == "c-fresh"


def test_a_refused_first_request_is_an_error_after_that_one_request(api):
    api.add("signinattempts", [events.signin(0)])
    api.fail_next("signinattempts", 400, '{"status":400,"message":"start_time is invalid"}')
    store = MemoryCheckpointStore()
    (run,), sink = collect(api, store)
    assert run.status == "error" and run.error.category == "bad_request" and "start_time is invalid" in str(run.error)
    assert len(api.requests) == 1 and sink.uuids() == [] and store.get(checkpoint_key("in", "signinattempts")) is None


def test_the_same_cursor_sent_back_with_events_stops_the_stream_before_writing_them(api):
    store = MemoryCheckpointStore()
    api.add("signinattempts", [events.signin(0)])
    collect(api, store)
    api.fail_next("signinattempts", 200, json.dumps(
        {"cursor": "c-signinattempts-00000001", "has_more": False, "items": [events.signin(1)]}))
    (run,), sink = collect(api, store)
    assert run.status == "error" and run.error.message == (
        "events.1password.com sent back the cursor it was asked with with events; paging would not progress, "
        "so this stream stops until the next run")
    assert sink.uuids() == []


@pytest.mark.parametrize("read_ahead, sent_while_writing", [(True, [2, 3, 3]), (False, [1, 2, 3])])
def test_by_default_the_next_page_is_asked_for_while_this_one_is_written(api, read_ahead, sent_while_writing):
    api.add("signinattempts", [events.signin(n) for n in range(25)])
    seen = []

    class WatchingSink(RecordingSink):
        def write_page(self, stream, page_events):
            wanted = min(len(seen) + 2, 3)  # the page being written and the next, of the 3 pages
            deadline = time.monotonic() + (5 if read_ahead else 0.1)
            while len(api.requests) < wanted and time.monotonic() < deadline:
                time.sleep(0.005)
            seen.append(len(api.requests))
            return super().write_page(stream, page_events)

    store = MemoryCheckpointStore()
    options = {} if read_ahead else {"read_ahead": False}
    (run,), sink = collect(api, store, sink=WatchingSink(store), **options)
    assert seen == sent_while_writing and len(sink.uuids()) == 25


def test_the_checkpoint_a_page_leaves(api, clock):
    api.add("signinattempts", [events.signin(n, second=n) for n in range(3)])
    store = MemoryCheckpointStore()
    collect(api, store)
    assert store.get(checkpoint_key("in", "signinattempts")) == {
        "version": 2, "account": "acme", "host": "events.1password.com", "cursor": "c-signinattempts-00000003",
        "newest_second": events.BASE + 2, "newest_time": timeparse.format_rfc3339(events.BASE + 2),
        "recent_since": events.BASE + 2 - 900, "saved_at": clock,
        "recent": [[events.BASE + 2, [events.signin(n)["uuid"] for n in range(3)]]]}


def test_a_page_without_a_usable_time_leaves_the_recovery_point_where_it_was(api):
    store = MemoryCheckpointStore()
    api.add("signinattempts", [events.signin(0)])
    collect(api, store)
    api.add("signinattempts", [{"uuid": "NOTIME"}])  # read by cursor: the fake looks at no timestamp
    (run,), sink = collect(api, store)
    state = store.get(checkpoint_key("in", "signinattempts"))
    assert sink.uuids() == ["NOTIME"] and state["cursor"] == "c-signinattempts-00000002"
    assert (state["newest_second"], state["recent"]) == (events.BASE, [[events.BASE, [events.signin(0)["uuid"]]]])


def test_an_event_of_the_first_second_of_1970_has_a_time(api):
    store = MemoryCheckpointStore()
    api.fail_next("signinattempts", 200, json.dumps(
        {"cursor": "c1", "has_more": False, "items": [{"uuid": "EPOCH", "timestamp": "1970-01-01T00:00:00Z"}]}))
    collect(api, store)
    state = store.get(checkpoint_key("in", "signinattempts"))
    assert (state["newest_second"], state["recent"]) == (0, [[0, ["EPOCH"]]])


@pytest.mark.parametrize("pages, kept", [
    # (events, second) per page, all in one run
    ([(300, 0), (1000, 1000), (1000, 1001)], [1000, 1000]),  # the first page goes by its age: 2,000 UUIDs left
    ([(300, 0), (1000, 1000), (1000, 1001), (1, 1002)], [1000, 1]),  # and then one UUID too many
    ([(1000, 0), (1000, 0), (1, 0), (1000, 0)], [1, 1000]),  # by count alone, twice
])
def test_the_recovery_window_counts_what_it_keeps_as_pages_come_and_go(api, pages, kept):
    number = 0
    for index, (count, second) in enumerate(pages):
        items = [events.signin(n, second=second) for n in range(number, number + count)]
        number += count
        api.fail_next("signinattempts", 200, json.dumps(
            {"cursor": f"c{index}", "has_more": index < len(pages) - 1, "items": items}))
    store = MemoryCheckpointStore()
    (run,), _ = collect(api, store)
    assert run.events == number
    assert [len(uuids) for _, uuids in store.get(checkpoint_key("in", "signinattempts"))["recent"]] == kept
