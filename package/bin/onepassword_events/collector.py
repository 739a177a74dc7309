"""The pager: cursors, has_more, interleaving, recovery, checkpoints.

Knows nothing of Splunk: it reads and saves state through a checkpoint store
and hands pages to a sink. Order per page: fetch, write and flush, then save
the new cursor, so a crash replays at most the page in flight.
"""

import time
from collections import deque

from . import timeparse
from .checkpoint import checkpoint_key
from .errors import AuthError, BadRequestError, EventsApiError, StopRequested

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
PENDING_GRACE = 1.0  # seconds a run that ends early waits for a page it asked for ahead


class StreamRun:
    """What happened to one stream in one run."""

    def __init__(self, stream, key, state):
        self.stream = stream
        self.key = key
        state = state or {}
        self.cursor = state.get("cursor")
        self.newest_second = state.get("newest_second")
        # per written page [its newest second, its UUIDs], back to `recent_since`, for recovery
        self.recent = deque(
            [entry[0], list(entry[1])] for entry in state.get("recent") or ()
            if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], list)
        )
        self.recent_count = sum(len(uuids) for _, uuids in self.recent)
        self.recent_since = state.get("recent_since")
        self.reset_from = None
        self.skip_uuids = frozenset()
        self.recovered = False
        self.events = 0
        self.pages = 0
        self.duplicates_skipped = 0
        self.empty_pages = 0
        self.error = None
        self.status = "running"
        self.pending = None  # the next page, requested while this one is written

    @property
    def lag_seconds(self):
        if self.newest_second is None:
            return None
        return max(0, int(time.time()) - self.newest_second)


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
        if state and (state.get("account") != self.account_name or state.get("host") != self.client.host):
            self._log(
                "warning",
                "event=checkpoint_ignored stream=%s reason=%r",
                stream.name,
                f"it belongs to account {state.get('account')!r} at {state.get('host')}; starting from the start time",
            )
            state = None
        return StreamRun(stream, key, state)

    def run(self):
        """Drain every stream until caught up (or stopped); returns the StreamRuns."""
        runs = [self._load(stream) for stream in self.streams]
        try:
            return self._drain(runs)
        finally:
            # a run that ends early (stop, revoked token, error) may have asked for
            # the next page of another stream: give it a moment, then let it go
            for run in runs:
                if run.pending is not None:
                    run.pending.join(PENDING_GRACE)
                    run.pending = None

    def _drain(self, runs):
        active = list(runs)
        while active:
            for run in list(active):
                if self.stop_requested():
                    return self._interrupted(runs, active, "splunkd asked the input to stop; state saved")
                try:
                    done = self._step(run)
                except StopRequested:
                    return self._interrupted(runs, active, "stopped while waiting to retry; state saved")
                except AuthError as exc:
                    # A revoked token fails every stream the same way: stop the account.
                    for other in active:
                        other.error = exc
                        other.status = "error"
                    return runs
                except EventsApiError as exc:
                    run.error = exc
                    run.status = "error"
                    done = True
                if done:
                    if run.status == "running":
                        run.status = "caught_up"
                    active.remove(run)
        return runs

    def _interrupted(self, runs, active, reason):
        for other in active:
            other.status = "interrupted"
        self._log("info", "event=stop_requested reason=%r", reason)
        return runs

    def _request_body(self, run):
        if run.cursor:
            return {"cursor": run.cursor}
        start = run.reset_from if run.reset_from is not None else self.start_time
        start = clamp_start_time(start, logger=self.logger)
        return {"limit": self.limit, "start_time": timeparse.format_rfc3339(start)}

    def _step(self, run):
        body = self._request_body(run)
        try:
            if run.pending is not None:
                pending, run.pending = run.pending, None
                page = pending.page()
            else:
                page = self.client.fetch_page(run.stream.path, body)
        except BadRequestError as exc:
            if "cursor" not in body or run.recovered:
                raise
            self._recover(run, exc)
            return False
        if page.items:
            run.empty_pages = 0
        else:
            run.empty_pages += 1
        # has_more may stay true with empty pages forever, or with the cursor unchanged
        done = not page.has_more or (
            not page.items and (page.cursor == run.cursor or run.empty_pages >= MAX_EMPTY_PAGES)
        )
        if not done and self.read_ahead:
            run.pending = self.client.start_fetch(run.stream.path, {"cursor": page.cursor})
        events = self._events(run, page.items)
        self.sink.write_page(run.stream, events)
        run.events += len(events)
        run.pages += 1
        self.store.save(run.key, self._state(run, page.cursor))
        run.cursor = page.cursor
        return done

    def _recover(self, run, exc):
        """A saved cursor was refused: reset a look-back before the newest
        written event and skip the UUIDs written since then."""
        run.recovered = True
        run.cursor = None
        if run.newest_second is not None:
            since = run.recent_since if run.recent_since is not None else run.newest_second
            run.reset_from = min(since, run.newest_second)
            run.skip_uuids = frozenset(uuid for _, uuids in run.recent for uuid in uuids)
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
        page_newest = -1
        written = []
        remember = written.append
        parse = timeparse.parse
        for raw, item in items:
            if type(item) is not dict:
                append((raw, None))
                continue
            uuid = item.get("uuid")
            if skip and uuid in skip:
                run.duplicates_skipped += 1
                continue
            try:
                second, fraction = parse(item.get("timestamp"))
            except ValueError:
                self._log("warning", "event=bad_timestamp stream=%s uuid=%r", run.stream.name, uuid)
                append((raw, None))
                continue
            append((raw, f"{second}.{fraction[:6]}" if fraction else str(second)))
            if second > page_newest:
                page_newest = second
            if uuid:  # an item without one cannot be recognised again
                remember(uuid)
        if page_newest >= 0:
            if run.newest_second is None or page_newest > run.newest_second:
                run.newest_second = page_newest
            run.recent.append([page_newest, written])
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
            page_newest, uuids = recent.popleft()
            run.recent_count -= len(uuids)
            since = max(since, page_newest + 1)
        run.recent_since = since

    def _state(self, run, cursor):
        return {
            "version": STATE_VERSION,
            "account": self.account_name,
            "host": self.client.host,
            "cursor": cursor,
            "newest_second": run.newest_second,
            "newest_time": None if run.newest_second is None else timeparse.format_rfc3339(run.newest_second),
            "recent_since": run.recent_since,
            "recent": list(run.recent),
            "saved_at": int(time.time()),
        }

    def _log(self, level, msg, *args):
        if self.logger is not None:
            getattr(self.logger, level)(msg, *args)
