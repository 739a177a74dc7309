"""The pager: cursors, has_more, interleaving, recovery, checkpoints.

Knows nothing of Splunk: it reads and saves state through a checkpoint store
and hands pages to a sink. Order per page: fetch, write and flush, then save
the new cursor, so a crash replays at most the page in flight.

Reading ahead is the pager's policy: with `read_ahead`, each stream has a
fetcher with its own client and thread (readahead.py) that asks for the next
page while this one is written.

Progress or stop: a page that sends back the cursor it was asked with (while
saying there is more, or with items), or repeats the previous page's events,
ends its stream with a malformed_response error; a stream pages at most
MAX_PAGES_PER_RUN times per run. A malformed page of one stream never stops
the others, and nothing in an item (a uuid that is not a string, a timestamp
in the year 9999) can poison the checkpoint or the recovery point.
"""

import json
import time
from collections import deque

from . import timeparse
from .checkpoint import checkpoint_key
from .errors import (
    AuthError,
    BadRequestError,
    EventsApiError,
    MalformedResponseError,
    StopRequested,
)
from .readahead import FetchNow, ReadAhead
from .regions import same_host

RETENTION_SECONDS = 120 * 86400
# Margin inside the retention window: the clock of the API and ours differ,
# and a reset sent at the very edge could be refused.
RETENTION_MARGIN = 3600
MAX_EMPTY_PAGES = 3
STATE_VERSION = 2
# After an expired cursor the stream restarts this far before its newest event,
# so events that arrived late (eventual consistency, item usages synced late)
# are not lost; the UUIDs written in that window are kept to skip repeats.
RECOVERY_LOOKBACK = 900
RECOVERY_MAX_UUIDS = 2000
MAX_UUID_CHARS = 64  # 1Password UUIDs have 26; longer values are not remembered
# Events dated later than now plus this are written but move neither the
# recovery point nor the reported lag (a clock that is off, or a hostile item).
MAX_CLOCK_SKEW = 300
# A run ends a stream after this many pages (10M events at limit 1000) and the
# next run continues: a server cannot keep one run going forever.
MAX_PAGES_PER_RUN = 10_000


class StreamRun:
    """What happened to one stream in one run."""

    def __init__(self, stream, key, state):
        self.stream = stream
        self.key = key
        state = state if isinstance(state, dict) else {}
        latest = int(time.time()) + MAX_CLOCK_SKEW
        cursor = state.get("cursor")
        self.cursor = cursor if isinstance(cursor, str) and cursor else None
        self.newest_second = _second_or_none(state.get("newest_second"), latest)
        # per written page [its newest second, its UUIDs, both as JSON], back to
        # `recent_since`, for recovery; the JSON is made once per page, not at every save
        self.recent = deque(
            _recent_entry(entry[0], [uuid for uuid in entry[1] if _is_uuid(uuid)])
            for entry in state.get("recent") or ()
            if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], list)
            and _second_or_none(entry[0], latest) is not None
        )
        self.recent_count = sum(len(uuids) for _, uuids, _ in self.recent)
        self.recent_since = _second_or_none(state.get("recent_since"), latest)
        self.reset_from = None
        self.skip_uuids = frozenset()
        self.recovered = False
        self.events = 0
        self.pages = 0
        self.duplicates_skipped = 0
        self.empty_pages = 0
        self.error = None
        self.status = "running"
        self.fetcher = None
        self.requested = False  # the fetcher holds the request for the next page
        self.last_page = None  # (count, first item, last item) of the previous page

    def stop(self, status, error=None):
        self.status = status
        self.error = error

    @property
    def lag_seconds(self):
        if self.newest_second is None:
            return None
        return max(0, int(time.time()) - self.newest_second)


def _second_or_none(value, latest):
    """An epoch second from a checkpoint, or None if it is not one or lies in the future."""
    return value if type(value) is int and 0 <= value <= latest else None


def _is_uuid(value):
    return type(value) is str and 0 < len(value) <= MAX_UUID_CHARS


def _recent_entry(second, uuids):
    return [second, uuids, json.dumps([second, uuids], separators=(",", ":"))]


def clamp_start_time(start, now=None, logger=None):
    """Keep a reset's start time inside the API's 120-day retention."""
    now = int(now if now is not None else time.time())
    earliest = now - RETENTION_SECONDS + RETENTION_MARGIN
    if start < earliest:
        if logger is not None:
            logger.warning(
                "event=start_time_clamped requested=%s used=%s reason=%r",
                timeparse.format_rfc3339(start), timeparse.format_rfc3339(earliest),
                "the Events API keeps 120 days of events",
            )
        return earliest
    return min(start, now)


class Collector:
    def __init__(
        self,
        client,
        store,
        sink,
        input_name,
        account_name,
        streams,
        start_time,
        limit=1000,
        logger=None,
        stop_requested=lambda: False,
        read_ahead=True,
    ):
        if not 1 <= int(limit) <= 1000:
            raise ValueError(f"page size must be between 1 and 1000, not {limit}")
        self.client = client
        self.store = store
        self.sink = sink
        self.input_name = input_name
        self.account_name = account_name
        self.streams = list(streams)
        self.start_time = int(start_time)
        self.limit = int(limit)
        self.logger = logger
        self.stop_requested = stop_requested
        self.read_ahead = read_ahead

    def _load(self, stream):
        key = checkpoint_key(self.input_name, stream.name)
        state = self.store.get(key)
        if isinstance(state, dict) and (
            state.get("account") != self.account_name or not same_host(state.get("host"), self.client.host)
        ):
            self._log(
                "warning",
                "event=checkpoint_ignored stream=%s reason=%r",
                stream.name,
                f"it belongs to account {state.get('account')!r} at {state.get('host')}; starting from the start time",
            )
            state = None
        run = StreamRun(stream, key, state)
        if self.read_ahead:
            run.fetcher = ReadAhead(self.client.clone(), stream.path)
        else:
            run.fetcher = FetchNow(self.client, stream.path)
        return run

    def run(self):
        """Drain every stream until caught up (or stopped); returns the StreamRuns."""
        runs = []
        try:
            for stream in self.streams:
                runs.append(self._load(stream))
            return self._drain(runs)
        finally:
            for run in runs:
                run.fetcher.close()

    def _drain(self, runs):
        active = list(runs)
        while active:
            for run in list(active):
                if self.stop_requested():
                    return self._interrupted(runs, active)
                try:
                    done = self._step(run)
                except StopRequested:
                    return self._interrupted(runs, active)
                except EventsApiError as exc:
                    if isinstance(exc, AuthError) or exc.unreachable:
                        # A revoked token or an unreachable host (or proxy) fails every
                        # stream the same way: stop the account, not once per stream.
                        for other in active:
                            other.stop("error", exc)
                        return runs
                    run.stop("error", exc)
                    done = True
                if done:
                    if run.status == "running":
                        run.status = "caught_up"
                    active.remove(run)
        return runs

    def _interrupted(self, runs, active):
        for other in active:
            other.status = "interrupted"
        reason = getattr(self.stop_requested, "reason", None) or "asked to stop; state saved"
        level = "warning" if getattr(self.stop_requested, "bound_reached", False) else "info"
        self._log(level, "event=stop_requested reason=%r", reason)
        return runs

    def _request_body(self, run):
        if run.cursor:
            return {"cursor": run.cursor}
        start = run.reset_from if run.reset_from is not None else self.start_time
        start = clamp_start_time(start, logger=self.logger)
        return {"limit": self.limit, "start_time": timeparse.format_rfc3339(start)}

    def _step(self, run):
        sent_cursor = run.cursor
        if not run.requested:
            run.fetcher.request(self._request_body(run))
        run.requested = False
        try:
            page = run.fetcher.page()
        except BadRequestError as exc:
            if sent_cursor is None or run.recovered:
                raise
            self._recover(run, exc)
            return False
        self._check_progress(run, page, sent_cursor)
        if page.items:
            run.empty_pages = 0
        else:
            run.empty_pages += 1
        # has_more may stay true with empty pages forever (with a new cursor each time)
        done = not page.has_more or (not page.items and run.empty_pages >= MAX_EMPTY_PAGES)
        if not done and run.pages + 1 >= MAX_PAGES_PER_RUN:
            self._log("warning", "event=page_limit stream=%s pages=%d reason=%r", run.stream.name, run.pages + 1,
                      "a run reads at most this many pages per stream; the next run continues from the checkpoint")
            run.status = "more_pending"
            done = True
        if not done:
            run.fetcher.request({"cursor": page.cursor})  # read ahead while this page is written
            run.requested = True
        events = self._events(run, page.items)
        self.sink.write_page(run.stream, events)
        run.events += len(events)
        run.pages += 1
        self.store.save(run.key, self._state_json(run, page.cursor))
        run.cursor = page.cursor
        return done

    def _check_progress(self, run, page, sent_cursor):
        """A page must move the stream forward; else stop it before writing anything."""
        if page.cursor == sent_cursor and (page.has_more or page.items):
            raise MalformedResponseError(
                f"{self.client.host} sent back the cursor it was asked with"
                + (" with has_more=true" if page.has_more else " with events")
                + "; paging would not progress, so this stream stops until the next run"
            )
        items = page.items
        signature = (len(items), items[0][0], items[-1][0]) if items else None
        if signature is not None and signature == run.last_page:
            raise MalformedResponseError(
                f"{self.client.host} sent the events of the previous page again under a new cursor; "
                "paging would not progress, so this stream stops until the next run"
            )
        run.last_page = signature

    def _recover(self, run, exc):
        """A saved cursor was refused: reset a look-back before the newest
        written event and skip the UUIDs written since then."""
        run.recovered = True
        run.cursor = None
        run.last_page = None  # the reset reads back over what was written: not a page repeated by the server
        if run.newest_second is not None:
            since = run.recent_since if run.recent_since is not None else run.newest_second
            run.reset_from = min(since, run.newest_second)
            run.skip_uuids = frozenset(uuid for _, uuids, _ in run.recent for uuid in uuids)
        self._log(
            "warning",
            "event=cursor_reset stream=%s reason=%r reset_from=%s skipping_uuids=%d",
            run.stream.name,
            str(exc),
            timeparse.format_rfc3339(run.reset_from if run.reset_from is not None else self.start_time),
            len(run.skip_uuids),
        )

    def _events(self, run, items):
        """(raw, time text) per item; remembers what was written, for recovery."""
        events = []
        append = events.append
        skip = run.skip_uuids
        latest = int(time.time()) + MAX_CLOCK_SKEW
        page_newest = -1
        untimed = future = 0
        written = []
        remember = written.append
        parse = timeparse.parse
        for raw, item in items:
            if type(item) is not dict:
                append((raw, None))
                untimed += 1
                continue
            uuid = item.get("uuid")
            if not _is_uuid(uuid):
                uuid = None  # cannot be recognised again, nor kept in a checkpoint
            elif skip and uuid in skip:
                run.duplicates_skipped += 1
                continue
            try:
                second, fraction = parse(item.get("timestamp"))
            except ValueError:
                append((raw, None))
                untimed += 1
                continue
            append((raw, f"{second}.{fraction[:6]}" if fraction else str(second)))
            if second > latest:
                future += 1
                continue
            if second > page_newest:
                page_newest = second
            if uuid:
                remember(uuid)
        if untimed or future:
            self._log("warning", "event=odd_events stream=%s without_time=%d later_than_now=%d reason=%r",
                      run.stream.name, untimed, future,
                      "written as they are; events without a usable time get the time they are indexed, "
                      "and future times move neither the checkpoint's recovery point nor the lag")
        if page_newest >= 0:
            if run.newest_second is None or page_newest > run.newest_second:
                run.newest_second = page_newest
            run.recent.append(_recent_entry(page_newest, written))
            run.recent_count += len(written)
            self._forget_old(run)
        return events

    @staticmethod
    def _forget_old(run):
        """Keep the recovery window, page by page: RECOVERY_LOOKBACK seconds back
        from the newest event, and at most RECOVERY_MAX_UUIDS (but the last page)."""
        recent = run.recent
        floor = run.newest_second - RECOVERY_LOOKBACK
        since = max(floor, run.recent_since if run.recent_since is not None else floor)
        while recent and recent[0][0] < floor:
            run.recent_count -= len(recent.popleft()[1])
        while run.recent_count > RECOVERY_MAX_UUIDS and len(recent) > 1:
            # a burst: the window now starts after the newest second of the page forgotten
            page_newest, uuids, _ = recent.popleft()
            run.recent_count -= len(uuids)
            since = max(since, page_newest + 1)
        run.recent_since = since

    def _state_json(self, run, cursor):
        """The stream's state as JSON text: the small fields encoded now, the
        recovery window from each page's JSON made when the page was written
        (at page size 100 the window holds 20 pages: encoding them again at
        every save cost more than the request itself)."""
        head = json.dumps({
            "version": STATE_VERSION,
            "account": self.account_name,
            "host": self.client.host,
            "cursor": cursor,
            "newest_second": run.newest_second,
            "newest_time": None if run.newest_second is None else timeparse.format_rfc3339(run.newest_second),
            "recent_since": run.recent_since,
            "saved_at": int(time.time()),
        }, separators=(",", ":"))
        return head[:-1] + ',"recent":[' + ",".join(entry[2] for entry in run.recent) + "]}"

    def _log(self, level, msg, *args):
        if self.logger is not None:
            getattr(self.logger, level)(msg, *args)
