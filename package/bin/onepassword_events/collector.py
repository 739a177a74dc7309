"""The pager: cursors, has_more, interleaving, recovery, checkpoints.

Knows nothing of Splunk: it reads and saves state through a checkpoint store
and hands pages to a sink. Order per page: fetch, write and flush, then save
the new cursor, so a crash replays at most the page in flight.
"""

import time

from . import timeparse
from .checkpoint import checkpoint_key
from .errors import AuthError, BadRequestError, EventsApiError, StopRequested

RETENTION_SECONDS = 120 * 86400
# Margin inside the retention window: the clock of the API and ours differ,
# and a reset sent at the very edge could be refused.
RETENTION_MARGIN = 3600
MAX_EMPTY_PAGES = 3
STATE_VERSION = 1


class StreamRun:
    """What happened to one stream in one run."""

    def __init__(self, stream, key, state):
        self.stream = stream
        self.key = key
        state = state or {}
        self.cursor = state.get("cursor")
        self.newest_second = state.get("newest_second")
        self.newest_uuids = set(state.get("newest_uuids") or ())
        self.reset_from = None
        self.skip_uuids = frozenset()
        self.recovered = False
        self.events = 0
        self.pages = 0
        self.duplicates_skipped = 0
        self.empty_pages = 0
        self.error = None
        self.status = "running"

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
        active = list(runs)
        while active:
            for run in list(active):
                if self.stop_requested():
                    for pending in active:
                        pending.status = "interrupted"
                    self._log("info", "event=stop_requested reason=%r", "splunkd asked the input to stop; state saved")
                    return runs
                try:
                    done = self._step(run)
                except StopRequested:
                    for pending in active:
                        pending.status = "interrupted"
                    self._log("info", "event=stop_requested reason=%r", "stopped while waiting to retry; state saved")
                    return runs
                except AuthError as exc:
                    # A revoked token fails every stream the same way: stop the account.
                    for pending in active:
                        pending.error = exc
                        pending.status = "error"
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

    def _request_body(self, run):
        if run.cursor:
            return {"cursor": run.cursor}
        start = run.reset_from if run.reset_from is not None else self.start_time
        start = clamp_start_time(start, logger=self.logger)
        return {"limit": self.limit, "start_time": timeparse.format_rfc3339(start)}

    def _step(self, run):
        body = self._request_body(run)
        try:
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
        events = self._events(run, page.items)
        self.sink.write_page(run.stream, events)
        run.events += len(events)
        run.pages += 1
        self.store.save(run.key, self._state(run, page.cursor))
        run.cursor = page.cursor
        return done

    def _recover(self, run, exc):
        """A saved cursor was refused: reset from the newest written second."""
        run.recovered = True
        run.cursor = None
        if run.newest_second is not None:
            run.reset_from = run.newest_second
            run.skip_uuids = frozenset(run.newest_uuids)
        self._log(
            "warning",
            "event=cursor_reset stream=%s reason=%r reset_from=%s skipping_uuids=%d",
            run.stream.name,
            str(exc),
            timeparse.format_rfc3339(run.reset_from if run.reset_from is not None else self.start_time),
            len(run.skip_uuids),
        )

    def _events(self, run, items):
        """(raw, time text) per item; tracks the newest second and its UUIDs."""
        events = []
        append = events.append
        skip = run.skip_uuids
        newest = run.newest_second
        newest_uuids = run.newest_uuids
        parse = timeparse.parse
        for raw, item in items:
            if type(item) is dict:
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
                append((raw, "%d.%s" % (second, fraction[:6]) if fraction else "%d" % second))
                if newest is None or second > newest:
                    newest = second
                    newest_uuids = {uuid}
                elif second == newest:
                    newest_uuids.add(uuid)
            else:
                append((raw, None))
        run.newest_second = newest
        run.newest_uuids = newest_uuids
        return events

    def _state(self, run, cursor):
        return {
            "version": STATE_VERSION,
            "account": self.account_name,
            "host": self.client.host,
            "cursor": cursor,
            "newest_second": run.newest_second,
            "newest_time": None if run.newest_second is None else timeparse.format_rfc3339(run.newest_second),
            "newest_uuids": sorted(u for u in run.newest_uuids if isinstance(u, str)),
            "saved_at": int(time.time()),
        }

    def _log(self, level, msg, *args):
        if self.logger is not None:
            getattr(self.logger, level)(msg, *args)
