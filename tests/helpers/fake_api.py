"""An in-process Events API for unit tests, on top of `responses`.

Serves the three v2 streams from lists of items with the documented cursor
semantics: a reset cursor ({limit, start_time}) starts at the first item at or
after start_time; a continuing cursor is opaque; has_more is true while items
remain; with nothing new the same cursor comes back forever. Faults can be
queued per stream as callables returning (status, headers, body).
"""

import json
import re

import responses

from onepassword_events import timeparse
from onepassword_events.streams import STREAMS

from .tokens import make_token

BASE_URL = "https://events.1password.com"


class FakeEventsApi:
    def __init__(self, rsps, base_url=BASE_URL, token=None):
        self.base_url = base_url
        self.token = token or make_token(re.sub(r"^https?://", "", base_url).split(":")[0])
        self.items = {name: [] for name in STREAMS}
        self.faults = {name: [] for name in STREAMS}
        self.requests = []  # (stream, body dict)
        self.revoked = False
        self.introspect_features = ["signinattempts", "itemusages", "auditevents"]
        self.cursor_tokens = {}  # cursor -> (stream, position)
        self.limits = {}  # cursor -> the page size of the reset that started it
        for name, stream in STREAMS.items():
            rsps.add_callback(
                responses.POST, base_url + stream.path, callback=self._page_callback(name),
                content_type="application/json",
            )
        rsps.add_callback(responses.GET, base_url + "/api/v2/auth/introspect", callback=self._introspect)

    def add(self, stream, items):
        self.items[stream].extend(items)

    def fail_next(self, stream, status, body="", headers=None, times=1):
        for _ in range(times):
            self.faults[stream].append((status, headers or {}, body))

    def _authorized(self, request):
        return not self.revoked and request.headers.get("Authorization") == "Bearer " + self.token

    def _introspect(self, request):
        if not self._authorized(request):
            return 401, {}, json.dumps({"Error": {"Message": "Unauthorized"}})
        return 200, {}, json.dumps({"uuid": "TOKENUUID", "issued_at": "2026-01-01T00:00:00Z",
                                    "features": self.introspect_features, "account_uuid": "ACCOUNTUUID"})

    def _cursor_for(self, stream, position):
        cursor = f"c-{stream}-{position:08d}"
        self.cursor_tokens[cursor] = (stream, position)
        return cursor

    def _page_callback(self, stream):
        def callback(request):
            body = json.loads(request.body)
            self.requests.append((stream, body))
            if self.faults[stream]:
                return self.faults[stream].pop(0)
            if not self._authorized(request):
                return 401, {}, json.dumps({"Error": {"Message": "Unauthorized"}})
            items = self.items[stream]
            if "cursor" in body:
                known = self.cursor_tokens.get(body["cursor"])
                if known is None or known[0] != stream:
                    return 400, {}, json.dumps({"Error": {"Message": "Bad Request"}})
                position, limit = known[1], self.limits.get(body["cursor"], 100)
            else:
                limit = body.get("limit", 100)
                if not 1 <= limit <= 1000:
                    return 400, {}, json.dumps({"status": 400, "message": "limit must be between 1 and 1000"})
                start = timeparse.second_of(body["start_time"]) if "start_time" in body else 0
                position = next(
                    (i for i, item in enumerate(items) if timeparse.second_of(item["timestamp"]) >= start), len(items)
                )
            page = items[position : position + limit]
            next_position = position + len(page)
            cursor = self._cursor_for(stream, next_position)
            self.limits[cursor] = limit
            envelope = {"cursor": cursor, "has_more": next_position < len(items), "items": page}
            return 200, {}, json.dumps(envelope)

        return callback

    def stream_requests(self, stream):
        return [body for name, body in self.requests if name == stream]
