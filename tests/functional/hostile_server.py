"""A malicious HTTP server on 127.0.0.1, for the hostile-server suite.

It speaks raw bytes over TCP so it can do what no well-behaved server does:
trickle a byte a second, lie about Content-Length, redirect, inflate, echo the
request's credentials, never finish. Each connection is served in a thread by
`behaviour(conn, request)`, called for every request on it; the behaviour
writes whatever it likes to the socket. Everything stops with the server.

The one Events API stand-in besides `responses` (unit tests) and the simulator
(everything else): the simulator is an http.server, which always sends a
well-formed status line and headers and a body as long as it says; these tests
need malformed bytes and timings no HTTP server library produces, so the
behaviour owns the socket.
"""

import base64
import json
import socket
import threading
import time
import zlib


class Request:
    def __init__(self, method, path, headers, body, connection_id):
        self.method = method
        self.path = path
        self.headers = headers  # lower-cased names
        self.body = body
        self.connection_id = connection_id
        self.at = time.monotonic()

    def json(self):
        return json.loads(self.body) if self.body else None


class HostileServer:
    """raw: the behaviour is called once per connection with (conn, None),
    before anything is read (a proxy's or a TLS server's part)."""

    def __init__(self, behaviour, raw=False):
        self.behaviour = behaviour
        self.raw = raw
        self.requests = []
        self.connections = 0
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.stopped = threading.Event()
        self._sockets = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stopped.set()
        try:
            self._listener.close()
        except OSError:
            pass
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.close()
                except OSError:
                    pass

    def paths(self):
        return [r.path for r in self.requests]

    def _accept(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._sockets.append(conn)
                connection_id = self.connections
            threading.Thread(target=self._serve, args=(conn, connection_id), daemon=True).start()

    def _serve(self, conn, connection_id):
        buffered = b""
        try:
            if self.raw:
                self.behaviour(conn, None)
                return
            while not self.stopped.is_set():
                while b"\r\n\r\n" not in buffered:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffered += data
                head, buffered = buffered.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                while len(buffered) < length:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffered += data
                body, buffered = buffered[:length], buffered[length:]
                request = Request(method, path, headers, body.decode("utf-8", "replace"), connection_id)
                with self._lock:
                    self.requests.append(request)
                if self.behaviour(conn, request) is False:
                    return
        except OSError:
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass


# -- what a behaviour writes --------------------------------------------------------
def response(status, body=b"", headers=None, reason="X"):
    if isinstance(body, str):
        body = body.encode("utf-8")
    headers = dict({"Content-Length": str(len(body)), "Content-Type": "application/json"}, **(headers or {}))
    head = "HTTP/1.1 %d %s\r\n" % (status, reason) + "".join("%s: %s\r\n" % kv for kv in headers.items())
    return head.encode("latin-1") + b"\r\n" + body


def page(cursor, items, has_more=False):
    return json.dumps({"cursor": cursor, "has_more": has_more, "items": items}, separators=(",", ":"))


def trickle(conn, data, stopped, interval=1.0):
    """Send one byte per interval until the data ends or the server stops."""
    for byte in data:
        if stopped.wait(interval):
            return False
        conn.sendall(bytes([byte]))
    return True


def gzip_bomb(inflated_mb):
    """A gzip body that inflates to `inflated_mb` MB of spaces (about 1 KB per MB),
    compressed a megabyte at a time."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    megabyte = b" " * (1024 * 1024)
    return b"".join(compressor.compress(megabyte) for _ in range(inflated_mb)) + compressor.flush()


def base64_text(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def item(n, timestamp="2026-11-30T12:00:%02dZ", **fields):
    value = {"uuid": "HOSTILE%019d" % n, "timestamp": timestamp % (n % 60) if "%" in timestamp else timestamp,
             "category": "success", "type": "credentials_ok"}
    value.update(fields)
    return value
