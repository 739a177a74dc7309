import io
import json

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
            sink=None):
    client = EventsApiClient(BASE_URL, api.token, sleep=lambda s: None, retry=RetryPolicy(max_attempts=3))
    sink = sink or RecordingSink(store)
    collector = Collector(client, store, sink, "in", account, [STREAMS[s] for s in streams], start, limit=limit,
                          stop_requested=stop)
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
    assert "sent back the cursor it was asked with" in run.error.message
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
    assert run.status == "error" and "previous page again" in run.error.message
    assert len(sink.uuids()) == 3  # the page once, never its repeats
    assert store.get(checkpoint_key("in", "signinattempts"))["cursor"] == "fresh-0"
