#!/usr/bin/env python3
"""A 1Password Events API simulator: a real HTTP(S) server on 127.0.0.1.

Serves what the add-on talks to, with the documented shapes
(tests/knowledge/reference/events-api.md, the project's API reference, sections 3-10):

    GET  /api/v2/auth/introspect         {uuid, issued_at, features, account_uuid}
    GET  /api/auth/introspect            {UUID, IssuedAt, Features}   (v1, deprecated)
    POST /api/v2/{signinattempts,itemusages,auditevents}   and /api/v1/... (no MSP fields)
         body {"limit":1-1000,"start_time":...,"end_time":...} (reset) or {"cursor":"..."}
         answer {"cursor":"...","has_more":bool,"items":[...]}

Cursors are opaque, stateless (they survive a restart with the same seed),
and the same cursor comes back forever when nothing is new. Items are kept as
JSON text and pages are built by joining strings, so one thread serves well
over 100k events/s over loopback.

Use it from tests (`from simulator import EventsApiSimulator`) or from the
command line (see README.md next to this file, or `server.py --help`).
"""

import argparse
import base64
import hashlib
import json
import os
import random
import re
import shutil
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

if __package__ in (None, ""):  # run as a script: make `simulator` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from simulator import data as simdata  # noqa: E402
    from simulator.tls import make_self_signed  # noqa: E402
else:
    from . import data as simdata
    from .tls import make_self_signed

STREAMS = ("signinattempts", "itemusages", "auditevents")
ALL_FEATURES = STREAMS
RETENTION_SECONDS = 120 * 86400
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
DOCUMENTED_RATE_LIMITS = ((600, 60.0), (30000, 3600.0))

_ROUTES = {"/api/v2/auth/introspect": ("introspect", "v2"), "/api/auth/introspect": ("introspect", "v1")}
for _name in STREAMS:
    _ROUTES["/api/v2/" + _name] = (_name, "v2")
    _ROUTES["/api/v1/" + _name] = (_name, "v1")

_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([Zz])|([+-])(\d\d):(\d\d))\Z"
)


def parse_rfc3339(text):
    """Epoch seconds (float) of an RFC 3339 time; ValueError otherwise."""
    import calendar

    if not isinstance(text, str):
        raise ValueError("not a string")
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError("not RFC 3339: %r" % text)
    y, mo, d, h, mi, s = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h <= 23 and mi <= 59 and s <= 60):
        raise ValueError("out of range: %r" % text)
    secs = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    if not m.group(8):
        offset = int(m.group(10)) * 3600 + int(m.group(11)) * 60
        secs += -offset if m.group(9) == "+" else offset
    return secs + (float("0." + m.group(7)) if m.group(7) else 0.0)


def format_rfc3339(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


def _b64(data):
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


def make_token(host="127.0.0.1", features=ALL_FEATURES, secret=None):
    """An unsigned JWT shaped like an Events Reporting token (aud = host,
    `1password.com/fts` = features). `secret` makes its signature part unique."""
    secret = secret or os.urandom(24).hex()
    # a unique id first: every token differs from its first claims characters on
    claims = {"jti": hashlib.sha256(("jti/" + secret).encode()).hexdigest()[:32], "aud": [host],
              "sub": "SIMULATEDSUBJECT", "iss": "com.1password.b5", "1password.com/fts": list(features),
              "iat": 1767225600}
    header = {"alg": "ES256", "kid": "simulator", "typ": "JWT"}
    signature = base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest() * 2).rstrip(b"=").decode()
    return "%s.%s.%s" % (_b64(header), _b64(claims), signature)


def _error_body(shape, status, message):
    if shape == "status":
        return json.dumps({"status": status, "message": message})
    if shape == "html":
        return ("<!DOCTYPE html>\n<html>\n<head><title>%d %s</title></head>\n<body>\n<center><h1>%d %s</h1></center>\n"
                "<hr><center>nginx</center>\n</body>\n</html>\n" % (status, message, status, message))
    if shape == "text":
        return message + "\n"
    if shape == "empty":
        return ""
    return json.dumps({"Error": {"Message": message}})


_REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 411: "Length Required", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}
_CONTENT_TYPES = {"html": "text/html; charset=utf-8", "text": "text/plain; charset=utf-8"}


class Fault:
    """One injected misbehaviour.

    kind: http_error (status, shape=error|status|html|text|empty, message,
          retry_after, echo_token), rate_limit (retry_after, None = no header),
          reset (TCP RST, no answer), disconnect (close, no answer),
          slow (delay seconds, then the normal answer), truncated (normal
          answer cut at `fraction`, Content-Length of the whole, then close),
          invalid_json (a 200 whose body is not a valid page: mode=cut|garbage|
          broken_item|html), revoke (the token is revoked from now on: 401),
          expire_cursor (every cursor issued so far becomes invalid: 400),
          empty (a 200 with no items and has_more true; same_cursor=True sends
          back the request's cursor, False a new one each time).
    stream: a stream name, "introspect", or None for any endpoint.
    after: let this many matching requests through first.
    times: how many requests it hits (None: every later one).
    cursor_only: match only requests that carry a cursor.
    """

    KINDS = ("http_error", "rate_limit", "reset", "disconnect", "slow", "truncated", "invalid_json", "revoke",
             "expire_cursor", "empty")

    def __init__(self, kind, stream=None, times=1, after=0, cursor_only=False, **params):
        if kind not in self.KINDS:
            raise ValueError("unknown fault %r; use one of %s" % (kind, ", ".join(self.KINDS)))
        if stream is not None and stream not in STREAMS + ("introspect",):
            raise ValueError("unknown stream %r" % stream)
        self.kind = kind
        self.stream = stream
        self.times = times
        self.after = after
        self.cursor_only = cursor_only or kind == "expire_cursor"
        self.params = params
        self.seen = 0
        self.fired = 0

    def take(self, endpoint, has_cursor):
        """Whether this fault hits the request (and count it)."""
        if self.stream is not None and endpoint != self.stream:
            return False
        if self.cursor_only and not has_cursor:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        self.seen += 1
        if self.seen <= self.after:
            return False
        self.fired += 1
        return True

    @property
    def exhausted(self):
        return self.times is not None and self.fired >= self.times

    def __repr__(self):
        return "Fault(%s, stream=%s, after=%d, times=%s, fired=%d, %s)" % (
            self.kind, self.stream, self.after, self.times, self.fired, self.params)


def parse_fault_spec(spec):
    """'kind:key=value,key=value' (command line) -> Fault."""
    kind, _, rest = spec.partition(":")
    params = {}
    for part in filter(None, rest.split(",")):
        key, _, value = part.partition("=")
        key = key.strip()
        value = value.strip()
        if value.lower() in ("none", "null", "forever"):
            parsed = None
        elif value.lower() in ("true", "false"):
            parsed = value.lower() == "true"
        else:
            try:
                parsed = int(value)
            except ValueError:
                try:
                    parsed = float(value)
                except ValueError:
                    parsed = value
        params[key] = parsed
    return Fault(kind.strip(), **params)


class RateLimiter:
    """Fixed windows (e.g. 600 per 60 s and 30,000 per 3600 s), one budget
    per account. A refused request does not count."""

    def __init__(self, limits, clock=time.monotonic):
        self.limits = [(int(count), float(seconds)) for count, seconds in limits]
        self.clock = clock
        self.windows = [[None, 0] for _ in self.limits]  # [window start, count]

    def check(self):
        """None if the request may go, else the seconds until it may."""
        now = self.clock()
        wait = 0.0
        for (count, seconds), window in zip(self.limits, self.windows):
            if window[0] is None or now - window[0] >= seconds:
                window[0], window[1] = now, 0
            if window[1] >= count:
                wait = max(wait, window[0] + seconds - now)
        if wait > 0:
            return wait
        for window in self.windows:
            window[1] += 1
        return None


class RequestRecord:
    """One request as the simulator saw it (never the token)."""

    __slots__ = ("at", "method", "path", "endpoint", "version", "body", "status", "items", "has_more",
                 "cursor_in", "cursor_out", "fault", "auth", "token_id", "position")

    def __init__(self, method, path, endpoint, version):
        self.at = time.time()
        self.method = method
        self.path = path
        self.endpoint = endpoint
        self.version = version
        self.body = None
        self.status = None
        self.items = 0
        self.has_more = None
        self.cursor_in = None
        self.cursor_out = None
        self.fault = None
        self.auth = None
        self.token_id = None
        self.position = None  # where in the stream's log the page started

    @property
    def is_reset(self):
        return isinstance(self.body, dict) and "cursor" not in self.body

    def __repr__(self):
        return "<%s %s %s status=%s items=%s fault=%s>" % (
            self.method, self.path, json.dumps(self.body)[:120] if self.body is not None else "",
            self.status, self.items, self.fault)


class _Response:
    __slots__ = ("status", "body", "content_type", "headers")

    def __init__(self, status, body, content_type="application/json", headers=None):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode("utf-8")
        self.content_type = content_type
        self.headers = headers or {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "EventsApiSimulator/1.0"
    sys_version = ""

    def do_GET(self):  # noqa: N802
        self.server.simulator._dispatch(self, "GET")

    def do_POST(self):  # noqa: N802
        self.server.simulator._dispatch(self, "POST")

    def do_PUT(self):  # noqa: N802
        self.server.simulator._dispatch(self, "PUT")

    def log_message(self, fmt, *args):
        if self.server.simulator.verbose:
            sys.stderr.write("simulator: %s\n" % (fmt % args))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, simulator, ssl_context=None):
        self.simulator = simulator
        self.ssl_context = ssl_context
        self.connections = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def finish_request(self, request, client_address):
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            # The handshake runs here, in the connection's own thread.
            try:
                request.settimeout(10)
                request = self.ssl_context.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (ssl.SSLError, OSError):
                return
        with self.connections_lock:
            self.connections.add(request)
        try:
            super().finish_request(request, client_address)
        except (ConnectionError, ssl.SSLError, OSError):
            pass
        finally:
            with self.connections_lock:
                self.connections.discard(request)
            if self.ssl_context is not None:  # the server closes only the plain socket it accepted
                try:
                    request.close()
                except OSError:
                    pass

    def handle_error(self, request, client_address):
        if self.simulator.verbose:
            super().handle_error(request, client_address)

    def close_connections(self):
        with self.connections_lock:
            connections = list(self.connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class EventsApiSimulator:
    """The Events API on 127.0.0.1, seeded and scriptable.

    counts: events per stream in the initial backlog, e.g.
        EventsApiSimulator(seed=1, signinattempts=1000, itemusages=500)
    Timestamps of the backlog spread over the `span_seconds` before `anchor`
    (default: a minute ago); `late_fraction` of them arrive late.
    rate: once started, keep adding new events stamped "now", `rate` per second
    in total, the streams taking turns (0: the backlog only).
    """

    def __init__(self, seed=1, signinattempts=0, itemusages=0, auditevents=0, *, span_seconds=7 * 86400,
                 anchor=None, late_fraction=0.01, late_span=250, tls=False, cert_dir=None, port=0,
                 rate_limits=None, rate_limit_retry_after=True, features=ALL_FEATURES, account_uuid=None,
                 envelope="compact", introspect_v2=True, verbose=False, clock=time.time, rate=0):
        self.seed = seed
        self.rate = float(rate)
        if not self.rate >= 0:
            raise ValueError("rate must be a number of events per second, 0 or more")
        self._live_thread = None
        self._live_stop = threading.Event()
        self.clock = clock
        self.verbose = verbose
        self.envelope = envelope
        self.introspect_v2 = introspect_v2
        self.tls = tls
        self.cert_dir = cert_dir
        self.port = port
        self.cert_file = None
        self.key_file = None
        rng = random.Random("%s/account" % seed)
        self.account_uuid = account_uuid or base64.b32encode(rng.randbytes(17)).decode()[:26]
        self.account = simdata.Account(rng, self.account_uuid)
        self.anchor = int(anchor if anchor is not None else clock() - 60)
        self.span_seconds = int(span_seconds)
        self._lock = threading.RLock()
        self._data = {name: simdata.StreamData(name) for name in STREAMS}
        self._generators = {name: simdata.Generator(name, seed, self.account) for name in STREAMS}
        self._late_rng = random.Random("%s/late" % seed)
        self._tokens = {}  # token -> {"features", "revoked", "id", "issued_at"}
        self.token = self.add_token(features)
        self.faults = []
        self.requests = []
        self.cursor_generation = 0
        self.rate_limit_retry_after = rate_limit_retry_after
        self.rate_limiter = None
        self.set_rate_limits(rate_limits)
        counts = {"signinattempts": signinattempts, "itemusages": itemusages, "auditevents": auditevents}
        first_ns = (self.anchor - self.span_seconds) * 1_000_000_000
        last_ns = self.anchor * 1_000_000_000
        for name, count in counts.items():
            simdata.generate_backlog(self._generators[name], self._data[name], count, first_ns, last_ns,
                                     late_fraction, late_span, self._late_rng)
        self._server = None
        self._thread = None

    # -- lifecycle ----------------------------------------------------------
    def start(self):
        context = None
        if self.tls:
            self._own_cert_dir = self.cert_dir is None and self.cert_file is None
            self.cert_file, self.key_file = make_self_signed(self.cert_dir or (
                os.path.dirname(self.cert_file) if self.cert_file else None))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.cert_file, self.key_file)
        self._server = _Server(("127.0.0.1", self.port), self, context)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="events-api-simulator", daemon=True)
        self._thread.start()
        if self.rate > 0:
            self._live_stop.clear()
            self._live_thread = threading.Thread(target=self._produce_live, name="events-api-simulator-live",
                                                 daemon=True)
            self._live_thread.start()
        return self

    LIVE_TICK = 0.05
    LIVE_MAX_CATCH_UP = 2.0  # seconds

    def _produce_live(self):
        """Add `rate` events per second, paced on the monotonic clock so a late
        tick catches up; a longer gap (a suspended host) is skipped rather than
        replayed as one burst."""
        produced, turn = 0, 0
        started = time.monotonic()
        while not self._live_stop.wait(self.LIVE_TICK):
            target = int((time.monotonic() - started) * self.rate)
            produced = max(produced, target - int(self.rate * self.LIVE_MAX_CATCH_UP))
            due = target - produced
            if due <= 0:
                continue
            now = self.clock()
            with self._lock:
                for n in range(due):  # stamped across the last tick, oldest first
                    at = now - self.LIVE_TICK * (due - 1 - n) / due
                    self.append(STREAMS[turn % len(STREAMS)], 1, at=at)
                    turn += 1
            produced = target

    def stop(self):
        if self._live_thread is not None:
            self._live_stop.set()
            self._live_thread.join(5)
            self._live_thread = None
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._thread.join(5)
            self._server = None
        if getattr(self, "_own_cert_dir", False) and self.cert_file:
            shutil.rmtree(os.path.dirname(self.cert_file), ignore_errors=True)
            self.cert_file = self.key_file = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.port)

    # -- tokens -------------------------------------------------------------
    def add_token(self, features=ALL_FEATURES, token=None):
        """Register a token with its features (a new one is minted by default)."""
        token = token or make_token("127.0.0.1", features, secret="%s/%s/%s" % (self.seed, len(self._tokens),
                                                                               os.urandom(8).hex()))
        with self._lock:
            self._tokens[token] = {"features": list(features), "revoked": False, "id": len(self._tokens) + 1,
                                   "issued_at": format_rfc3339(self.anchor - 86400)}
        return token

    @property
    def tokens(self):
        return list(self._tokens)

    def revoke(self, token=None):
        with self._lock:
            self._tokens[token or self.token]["revoked"] = True

    def restore(self, token=None):
        with self._lock:
            self._tokens[token or self.token]["revoked"] = False

    # -- data -----------------------------------------------------------------
    def items(self, stream):
        """Every item of a stream as the API sends it (v2 text), in log order."""
        with self._lock:
            return list(self._data[stream].texts)

    def expected(self, stream, start=None, end=None):
        """The items a client starting at `start` (epoch or RFC 3339) must get."""
        start = parse_rfc3339(start) if isinstance(start, str) else start
        end = parse_rfc3339(end) if isinstance(end, str) else end
        floor = self.clock() - RETENTION_SECONDS
        low = max(start if start is not None else floor, floor)
        with self._lock:
            data = self._data[stream]
            return [t for t, s in zip(data.texts, data.secs) if s >= low and (end is None or s < end)]

    def seconds(self, stream):
        with self._lock:
            return list(self._data[stream].secs)

    def newest_second(self, stream):
        with self._lock:
            secs = self._data[stream].secs
            return max(secs) if secs else None

    def append(self, stream, count=1, late_by=None, at=None):
        """Add `count` generated events to the end of the log (they become
        visible to cursors). `late_by` seconds: their timestamps lie that far
        before the newest event so far (late arrivals). `at`: epoch seconds of
        the first one. Returns their texts."""
        with self._lock:
            data = self._data[stream]
            gen = self._generators[stream]
            if at is None:
                newest = max(data.secs) if data.secs else self.anchor
                at = newest - late_by if late_by is not None else max(newest + 1, self.anchor)
            added = []
            for i in range(count):
                ns = int(at * 1_000_000_000) + i * 1_000_000 + self._late_rng.randrange(1_000_000)
                text, second, _ = gen.render(ns)
                data.texts.append(text)
                data.secs.append(second)
                added.append(text)
            return added

    def append_raw(self, stream, text, timestamp=None):
        """Add an item given as exact JSON text (served byte for byte).
        `timestamp` (epoch or RFC 3339) is what start/end_time filter on;
        by default the item's own `timestamp` field."""
        if isinstance(text, (dict, list)):
            text = json.dumps(text, separators=(",", ":"), ensure_ascii=False)
        if timestamp is None:
            timestamp = json.loads(text).get("timestamp")
        second = int(parse_rfc3339(timestamp) // 1) if isinstance(timestamp, str) else int(timestamp)
        with self._lock:
            data = self._data[stream]
            data.texts.append(text)
            data.secs.append(second)
        return text

    # -- faults, cursors, limits ------------------------------------------------
    def inject(self, kind, stream=None, times=1, after=0, cursor_only=False, **params):
        fault = Fault(kind, stream=stream, times=times, after=after, cursor_only=cursor_only, **params)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self):
        with self._lock:
            self.faults = []

    def expire_cursors(self):
        """Every cursor handed out so far is refused from now on (400)."""
        with self._lock:
            self.cursor_generation += 1

    def set_rate_limits(self, limits):
        """None/False: off; True: as documented (600/min, 30,000/h); or a list
        of (requests, seconds) windows."""
        if limits is True:
            limits = DOCUMENTED_RATE_LIMITS
        with self._lock:
            self.rate_limiter = RateLimiter(limits) if limits else None

    # -- request log ------------------------------------------------------------
    def stream_requests(self, stream):
        with self._lock:
            return [r for r in self.requests if r.endpoint == stream]

    def count(self, stream=None, status=None):
        with self._lock:
            return sum(1 for r in self.requests
                       if (stream is None or r.endpoint == stream) and (status is None or r.status == status))

    def clear_log(self):
        with self._lock:
            self.requests = []

    # -- cursors --------------------------------------------------------------
    def _encode_cursor(self, stream, position, limit, start, end, nonce=None):
        state = {"v": 1, "s": stream, "p": position, "l": limit, "a": start, "g": self.cursor_generation}
        if end is not None:
            state["b"] = end
        if nonce is not None:
            state["n"] = nonce
        raw = json.dumps(state, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    @staticmethod
    def _decode_cursor(cursor):
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            state = json.loads(raw)
            if not isinstance(state, dict) or state.get("v") != 1:
                return None
            int(state["p"]), int(state["l"]), int(state["a"]), int(state["g"])
            return state
        except (ValueError, KeyError, TypeError):
            return None

    # -- request handling -----------------------------------------------------------
    def _dispatch(self, handler, method):
        path = handler.path.split("?", 1)[0]
        endpoint, version = _ROUTES.get(path, (None, None))
        record = RequestRecord(method, path, endpoint, version)
        if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
            handler.close_connection = True  # the API's clients send a Content-Length
            self._send(handler, _Response(411, _error_body("error", 411, "Length Required")))
            return
        try:
            length = int(handler.headers.get("Content-Length") or 0)
            raw = handler.rfile.read(length) if length > 0 else b""
        except (ValueError, OSError):
            handler.close_connection = True
            return
        if raw:
            try:
                record.body = json.loads(raw)
            except ValueError:
                record.body = raw.decode("utf-8", "replace")[:2000]
        auth = handler.headers.get("Authorization") or ""
        token = auth[7:] if auth.startswith("Bearer ") else None
        has_cursor = isinstance(record.body, dict) and "cursor" in record.body
        with self._lock:
            self.requests.append(record)
            fault = None
            if endpoint is not None:
                for candidate in self.faults:
                    if candidate.take(endpoint, has_cursor):
                        fault = candidate
                        break
        record.fault = fault.kind if fault else None
        try:
            self._answer(handler, method, record, endpoint, version, token, fault)
        except OSError:  # the client went away (e.g. after its read timeout)
            handler.close_connection = True

    def _answer(self, handler, method, record, endpoint, version, token, fault):
        if fault is not None:
            kind, p = fault.kind, fault.params
            if kind == "reset":
                record.status = "reset"
                self._reset(handler)
                return
            if kind == "disconnect":
                record.status = "disconnect"
                handler.close_connection = True
                try:
                    handler.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if kind == "http_error":
                status = int(p.get("status", 500))
                shape = p.get("shape", "error")
                message = p.get("message") or _REASONS.get(status, "Error")
                if p.get("echo_token") and token:
                    message = "%s (token %s)" % (message, token)
                headers = dict(p.get("headers") or {})
                if p.get("retry_after") is not None:
                    headers["Retry-After"] = str(p["retry_after"])
                record.status = status
                self._send(handler, _Response(status, _error_body(shape, status, message),
                                              _CONTENT_TYPES.get(shape, "application/json"), headers))
                return
            if kind == "rate_limit":
                headers = {} if p.get("retry_after", 1) is None else {"Retry-After": str(p.get("retry_after", 1))}
                record.status = 429
                self._send(handler, _Response(429, _error_body(p.get("shape", "error"), 429, "Too Many Requests"),
                                              "application/json", headers))
                return
            if kind == "revoke":
                if token in self._tokens:
                    self.revoke(token)
            elif kind == "expire_cursor":
                self.expire_cursors()
        response = self._normal(method, record, endpoint, version, token)
        if fault is not None and response.status == 200:
            kind, p = fault.kind, fault.params
            if kind == "slow":
                time.sleep(float(p.get("delay", 5)))
            elif kind == "truncated":
                record.status = "truncated"
                self._send(handler, response, cut=float(p.get("fraction", 0.5)))
                return
            elif kind == "invalid_json":
                response = self._invalid(response, p.get("mode", "cut"), float(p.get("fraction", 0.5)))
                record.status = "invalid_json"
                self._send(handler, response)
                return
            elif kind == "empty" and endpoint in STREAMS:
                response = self._empty(record, endpoint, bool(p.get("same_cursor", True)))
        if record.status is None:
            record.status = response.status
        self._send(handler, response)

    def _normal(self, method, record, endpoint, version, token):
        if endpoint is None:
            return _Response(404, "404 page not found\n", "text/plain; charset=utf-8")
        wanted = "GET" if endpoint == "introspect" else "POST"
        if method != wanted:
            return _Response(405, _error_body("error", 405, "Method Not Allowed"))
        if endpoint == "introspect" and version == "v2" and not self.introspect_v2:
            return _Response(404, "404 page not found\n", "text/plain; charset=utf-8")
        with self._lock:
            if self.rate_limiter is not None:
                wait = self.rate_limiter.check()
                if wait is not None:
                    headers = {"Retry-After": str(max(1, int(wait + 0.999)))} if self.rate_limit_retry_after else {}
                    return _Response(429, _error_body("error", 429, "Too Many Requests"), headers=headers)
            info = self._tokens.get(token) if token else None
        if info is None or info["revoked"]:
            record.auth = "missing" if token is None else ("revoked" if info else "invalid")
            return _Response(401, _error_body("error", 401, "Unauthorized"))
        record.token_id = info["id"]
        if endpoint == "introspect":
            record.auth = "ok"
            token_uuid = base64.b32encode(hashlib.sha256(token.encode()).digest()).decode()[:26]
            if version == "v1":
                body = {"UUID": token_uuid, "IssuedAt": info["issued_at"], "Features": info["features"]}
            else:
                body = {"uuid": token_uuid, "issued_at": info["issued_at"], "features": info["features"],
                        "account_uuid": self.account_uuid}
            return _Response(200, json.dumps(body))
        if endpoint not in info["features"]:
            record.auth = "scope"
            return _Response(401, _error_body("error", 401, "Unauthorized"))
        record.auth = "ok"
        return self._page(record, endpoint, version)

    def _bad_request(self, message="Bad Request"):
        return _Response(400, _error_body("error", 400, message))

    def _page(self, record, stream, version):
        body = record.body
        if not isinstance(body, dict):
            return self._bad_request()
        now = self.clock()
        floor = int(now - RETENTION_SECONDS)
        data = self._data[stream]
        if "cursor" in body:
            cursor = body["cursor"]
            state = self._decode_cursor(cursor) if isinstance(cursor, str) else None
            if state is None or state["s"] != stream or state["g"] != self.cursor_generation:
                return self._bad_request()
            record.cursor_in = cursor
            position, limit, start, end = int(state["p"]), int(state["l"]), int(state["a"]), state.get("b")
        else:
            limit = body.get("limit", DEFAULT_LIMIT)
            if type(limit) is not int or not 1 <= limit <= MAX_LIMIT:
                return self._bad_request()
            try:
                end = int(parse_rfc3339(body["end_time"])) if body.get("end_time") is not None else None
                start = (int(parse_rfc3339(body["start_time"])) if body.get("start_time") is not None
                         else (end if end is not None else int(now)) - 3600)
            except ValueError:
                return self._bad_request()
            start = max(start, floor)  # 120-day retention
            with self._lock:
                secs = data.secs
                position = next((i for i, s in enumerate(secs) if s >= start), len(secs))
        low = max(start, floor)
        with self._lock:
            texts, secs = data.texts, data.secs
            total = len(texts)
            chunk = texts[position:position + limit]
            chunk_secs = secs[position:position + limit]
            if chunk and (min(chunk_secs) < low or (end is not None and max(chunk_secs) >= end)):
                # filter (late events before the window, or past end_time); scan at most 20 pages ahead
                chunk, scanned = [], 0
                i = position
                while i < total and len(chunk) < limit and scanned < limit * 20:
                    s = secs[i]
                    if s >= low and (end is None or s < end):
                        chunk.append(texts[i])
                    i += 1
                    scanned += 1
                next_position = i
            else:
                next_position = position + len(chunk)
            has_more = next_position < total
            new_cursor = self._encode_cursor(stream, next_position, limit, start, end)
        if version == "v1":
            chunk = [simdata.strip_v2_fields(t) for t in chunk]
        record.items = len(chunk)
        record.position = position
        record.has_more = has_more
        record.cursor_out = new_cursor
        return _Response(200, self._envelope(new_cursor, has_more, chunk))

    def _envelope(self, cursor, has_more, items):
        more = "true" if has_more else "false"
        if self.envelope == "spaced":
            return '{\n  "cursor": "%s",\n  "has_more": %s,\n  "items": [\n    %s\n  ]\n}\n' % (
                cursor, more, ",\n    ".join(items))
        if self.envelope == "items_first":
            return '{"items":[%s],"has_more":%s,"next":null,"cursor":"%s"}' % (",".join(items), more, cursor)
        return '{"cursor":"%s","has_more":%s,"items":[%s]}' % (cursor, more, ",".join(items))

    def _empty(self, record, stream, same_cursor):
        if same_cursor and record.cursor_in:
            cursor = record.cursor_in
        else:  # same position, another string each time: a cursor that changes without progress
            state = self._decode_cursor(record.cursor_out or "") or {"p": 0, "l": DEFAULT_LIMIT, "a": 0}
            with self._lock:
                nonce = len(self.requests)
            position = record.position if record.position is not None else int(state["p"])
            cursor = self._encode_cursor(stream, position, int(state["l"]), int(state["a"]), state.get("b"), nonce)
        record.items = 0
        record.has_more = True
        record.cursor_out = cursor
        return _Response(200, '{"cursor":"%s","has_more":true,"items":[]}' % cursor)

    @staticmethod
    def _invalid(response, mode, fraction):
        body = response.body
        if mode == "garbage":
            return _Response(200, body + b'{"cursor":"x"}')
        if mode == "html":
            return _Response(200, "<html><body><h1>Please sign in to the network</h1></body></html>", "text/html")
        if mode == "broken_item":
            # an item loses its closing brace: the array is no longer valid JSON
            cut = body.find(b"}", body.find(b'"items":['))
            while cut > 0 and body[cut + 1:cut + 2] != b",":
                cut = body.find(b"}", cut + 1)
            if cut > 0:
                return _Response(200, body[:cut] + body[cut + 1:])
            mode = "cut"
        return _Response(200, body[: max(1, int(len(body) * fraction))])

    def _send(self, handler, response, cut=None):
        body = response.body
        head = ["HTTP/1.1 %d %s" % (response.status, _REASONS.get(response.status, "Status")),
                "Server: EventsApiSimulator/1.0",
                "Date: %s" % handler.date_time_string(),
                "Content-Type: %s" % response.content_type,
                "Content-Length: %d" % len(body)]
        for key, value in response.headers.items():
            head.append("%s: %s" % (key, value))
        head = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        wfile = handler.wfile
        if cut is not None:
            wfile.write(head + body[: int(len(body) * cut)])
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if len(body) < 65536:
            wfile.write(head + body)
        else:
            wfile.write(head)
            wfile.write(body)

    @staticmethod
    def _reset(handler):
        """Drop the connection with a TCP RST (SO_LINGER 0), no answer, no FIN."""
        handler.close_connection = True
        conn = handler.connection
        try:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()  # really closed (RST) when the handler closes its files
        except OSError:
            pass


# -- command line -------------------------------------------------------------------
def dump_items(sim, path):
    """Write what the simulator serves to `path` as one JSON object:

        {"seed": 1, "anchor": <epoch>, "account_uuid": "...",
         "streams": {"signinattempts": ["<item text>", ...], "itemusages": [...], "auditevents": [...]}}

    Each item is its exact text (a JSON string holding the item's JSON), in the order the
    API serves them. Written to a temporary file and renamed, so a reader never sees half
    a file; readable by everyone (it holds no token).
    """
    document = {"seed": sim.seed, "anchor": sim.anchor, "account_uuid": sim.account_uuid,
                "streams": {name: sim.items(name) for name in STREAMS}}
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = "%s.%d.tmp" % (path, os.getpid())
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(document, handle)  # ASCII: exact strings whatever encoding a reader assumes
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)
    return path


def _events_per_second(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100000:
        raise argparse.ArgumentTypeError("expected events per second, a number from 0 to 100000, not %r" % text)
    return value


def build_parser():
    """The command line of main() (also read by tests that check a command line offline)."""
    parser = argparse.ArgumentParser(
        description="1Password Events API simulator on 127.0.0.1 (try the add-on without 1Password). "
                    "Standard library only; --tls needs the openssl command.",
        epilog="example: python3 tests/simulator/server.py --port 8443 --rate 20 --token-file /tmp/op-token "
               "(see tests/simulator/README.md)")
    parser.add_argument("--port", type=int, default=8443, help="TCP port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated data (same seed, same events)")
    for name in STREAMS:
        parser.add_argument("--" + name, type=int, default=1000, metavar="N", help="backlog of %s (default 1000)" % name)
    parser.add_argument("--span-days", type=float, default=7.0, help="the backlog covers this many days up to now")
    parser.add_argument("--late-fraction", type=float, default=0.01, help="share of events that arrive late")
    parser.add_argument("--rate", type=_events_per_second, default=0.0, metavar="R",
                        help="keep producing new events, stamped now: R per second in total, the three streams "
                             "taking turns (e.g. 20; default 0: the backlog only)")
    parser.add_argument("--features", default=",".join(ALL_FEATURES), help="features of the printed token")
    parser.add_argument("--rate-limits", choices=("off", "on"), default="off",
                        help="on: 600 requests/min and 30,000/h per account, answered with 429 + Retry-After")
    parser.add_argument("--fault", action="append", default=[], metavar="KIND:key=value,...",
                        help="inject a fault, e.g. rate_limit:stream=signinattempts,after=2,times=3,retry_after=1 "
                             "or http_error:status=503,shape=html or empty:times=forever (repeatable)")
    parser.add_argument("--tls", action="store_true", help="serve https with a generated self-signed certificate")
    parser.add_argument("--cert-dir", help="where the certificate is written (default: a temp dir)")
    parser.add_argument("--token-file", help="also write the token to this file (mode 600)")
    parser.add_argument("--dump-items", metavar="FILE",
                        help="write every served item (exact text, per stream, in log order) to this JSON file "
                             "once the server is up, for tests that compare what a client stored")
    parser.add_argument("--envelope", choices=("compact", "spaced", "items_first"), default="compact",
                        help="layout of the response object (all legal JSON)")
    parser.add_argument("--verbose", "-v", action="store_true", help="log every request to stderr")
    return parser


def write_token_file(path, token):
    """Write the token whole, then rename it into place: whoever waits for the
    file (`until [ -s FILE ]`) never reads half a token."""
    partial = "%s.%d.partial" % (path, os.getpid())
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    os.replace(partial, path)


def main(argv=None):
    args = build_parser().parse_args(argv)
    started = time.time()
    if args.token_file:
        # a token file left by an earlier run must not be read as this run's token
        try:
            os.remove(args.token_file)
        except FileNotFoundError:
            pass
    sim = EventsApiSimulator(
        seed=args.seed, signinattempts=args.signinattempts, itemusages=args.itemusages,
        auditevents=args.auditevents, span_seconds=int(args.span_days * 86400), late_fraction=args.late_fraction,
        tls=args.tls, cert_dir=args.cert_dir, port=args.port, rate_limits=args.rate_limits == "on",
        features=[f for f in args.features.split(",") if f], envelope=args.envelope, verbose=args.verbose,
        rate=args.rate)
    for spec in args.fault:
        fault = parse_fault_spec(spec)
        sim.faults.append(fault)
    sim.start()
    if args.token_file:
        write_token_file(args.token_file, sim.token)
    if args.dump_items:
        dump_items(sim, args.dump_items)
    print("Events API simulator listening on %s (seed %d, %s events, ready in %.1fs)" % (
        sim.url, args.seed, ", ".join("%s %d" % (n, len(sim._data[n].texts)) for n in STREAMS),
        time.time() - started))
    if args.rate:
        print("New events: %g per second, the streams taking turns" % args.rate)
    if args.tls:
        print("TLS certificate (use as --ca-bundle): %s" % sim.cert_file)
    print("Token (a fake, unsigned JWT this simulator accepts):")
    print(sim.token, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
