"""One HTTP exchange with a deadline: the only code that reaches into urllib3.

A request goes out on a connection of one of urllib3's pools, built here
(the TLS settings) or, through a proxy, by requests' transport adapter
(`adapter.py`). Every pool class is subclassed so that every socket its
connections open is known here the moment it exists: a duplicate of its
descriptor is kept, because `http.client` hands the socket of a
`Connection: close` or HTTP/1.0 answer to the response and forgets it
(`HTTPConnection.sock = None`), and because the sockets of a SOCKS or CONNECT
handshake and of a TLS handshake are never reachable from outside until the
handshake ends. Shutting the duplicate down
ends every read on the socket, whoever holds it.

A watchdog thread per transport does that once the armed deadline passes or a
stop is requested, so a server trickling a byte now and then (which no socket
timeout notices) or a stalled proxy never holds an attempt beyond its
deadline, nor a run beyond a second or so after SIGTERM. The thread ends when
the transport is closed.

The body is read in bounded pieces, decompressed here with a cap on its
decompressed size, and redirects are never followed.
"""

import errno
import http.client
import importlib.util
import os
import re
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import zlib

import urllib3

MAX_BODY_BYTES = 64 * 1024 * 1024
# Reads and inflated pieces below glibc's mmap threshold (128 KB): a freed
# megabyte buffer would stay in the heap and grow the process's RSS for good.
READ_CHUNK = 64 * 1024
WATCHDOG_TICK = 0.2  # seconds between the watchdog's looks at the stop flag


class BodyTooLarge(Exception):
    """The answer is larger than the cap (declared, received or inflated)."""


class BodyCutShort(Exception):
    """Fewer bytes than Content-Length, or a compressed stream that does not end."""


class UnknownEncoding(Exception):
    """A Content-Encoding that was not asked for."""


class Cut(Exception):
    """The watchdog cut the attempt: `why` is "deadline" or "stop"."""

    def __init__(self, why):
        super().__init__(why)
        self.why = why


class _SocketHandle:
    """A duplicate of the descriptor of the socket in use: shutting it down
    ends every read and write on that socket, whoever holds it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._dup = None

    def track(self, sock):
        try:
            dup = sock.dup()
        except OSError:
            dup = None
        with self._lock:
            previous, self._dup = self._dup, dup
        if previous is not None:
            previous.close()

    def cut(self):
        with self._lock:
            if self._dup is not None:
                try:
                    self._dup.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        with self._lock:
            dup, self._dup = self._dup, None
        if dup is not None:
            dup.close()


def _tracked_connection(connection_class, handle):
    socks_module = sys.modules.get("urllib3.contrib.socks")
    if socks_module is not None and issubclass(connection_class, socks_module.SOCKSConnection):
        def _new_conn(connection):
            return _socks_connect(connection, handle)
    else:
        def _new_conn(connection):
            sock = connection_class._new_conn(connection)
            handle.track(sock)
            return sock
    return type(connection_class.__name__, (connection_class,), {"_new_conn": _new_conn})


def _socks_connect(connection, handle):
    """urllib3's SOCKS connect, but with the socket tracked before its
    handshake starts (PySocks does the handshake inside connect())."""
    import socks
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    options = connection._socks_options
    failure = None
    for family, kind, proto, _, _ in socket.getaddrinfo(options["proxy_host"], options["proxy_port"], 0,
                                                        socket.SOCK_STREAM):
        sock = socks.socksocket(family, kind, proto)
        try:
            handle.track(sock)
            for option in connection.socket_options or ():
                sock.setsockopt(*option)
            if isinstance(connection.timeout, (int, float)):
                sock.settimeout(connection.timeout)
            sock.set_proxy(options["socks_version"], options["proxy_host"], options["proxy_port"],
                           options["rdns"], options["username"], options["password"])
            sock.connect((connection.host, connection.port))
            return sock
        except (socks.ProxyError, OSError) as exc:
            sock.close()
            failure = exc
            if isinstance(exc, socket.timeout) or isinstance(getattr(exc, "socket_err", None), socket.timeout):
                raise ConnectTimeoutError(connection, "SOCKS proxy timed out") from exc
    raise NewConnectionError(connection, "SOCKS proxy connection failed") from failure


class _TrackedPools:
    """Pool classes whose connections report each socket they open."""

    def __init__(self, handle):
        self._handle = handle
        self._subclasses = {}

    def watch(self, manager):
        classes = manager.pool_classes_by_scheme
        if all(cls in self._subclasses.values() for cls in classes.values()):
            return
        manager.pool_classes_by_scheme = {scheme: self._subclass(cls) for scheme, cls in classes.items()}

    def pool_class(self, scheme):
        """urllib3's pool class for `scheme`, its connections tracked."""
        return self._subclass(urllib3.HTTPSConnectionPool if scheme == "https" else urllib3.HTTPConnectionPool)

    def _subclass(self, pool_class):
        if pool_class not in self._subclasses:
            connection_class = _tracked_connection(pool_class.ConnectionCls, self._handle)
            self._subclasses[pool_class] = type(pool_class.__name__, (pool_class,), {"ConnectionCls": connection_class})
        return self._subclasses[pool_class]


_CONTEXTS = {}
_CONTEXTS_LOCK = threading.Lock()


def verifying_context(ca_certs, ca_cert_dir):
    """The certificate-verifying SSL context of a CA bundle file or directory,
    loaded once per process and again only when the file changes. Like
    urllib3's own: the host name is matched by urllib3 after the handshake."""
    try:
        stat = os.stat(ca_certs or ca_cert_dir)
        version = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    except OSError:
        version = None
    key = (ca_certs, ca_cert_dir, version)
    with _CONTEXTS_LOCK:
        context = _CONTEXTS.get(key)
        if context is None:
            from urllib3.util.ssl_ import create_urllib3_context

            context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
            context.load_verify_locations(ca_certs, ca_cert_dir)
            _CONTEXTS.clear()  # a bundle that changed is not used again; one or two bundles per process
            _CONTEXTS[key] = context
        return context


class _Watchdog:
    """Cuts the socket in use once the armed deadline passes or a stop is
    requested (noticed within a tick), and keeps cutting until disarmed. Its
    thread starts with the first request and ends with close()."""

    def __init__(self, handle, stop_requested):
        self._handle = handle
        self._stop_requested = stop_requested
        self._wake = threading.Condition()
        self._deadline = None
        self._closed = False
        self._thread = None
        self.fired = None  # "deadline" or "stop" once it cut the current attempt

    def arm(self, deadline):
        # no wake-up call: the thread looks every tick anyway, and a request
        # does not pay for a thread switch
        with self._wake:
            self._deadline = deadline
            self.fired = None
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._watch, name="events-api-watchdog", daemon=True)
                self._thread.start()

    def disarm(self):
        with self._wake:
            self._deadline = None

    def cut_now(self):
        """Cut the attempt in flight (a run ending early), as a stop would."""
        with self._wake:
            if self._deadline is not None:
                self.fired = "stop"
                self._handle.cut()

    def close(self):
        with self._wake:
            self._closed = True
            self._wake.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(1.0)

    def _watch(self):
        with self._wake:
            while not self._closed:
                if self._deadline is None:
                    self._wake.wait(WATCHDOG_TICK)
                    continue
                now = time.monotonic()
                if self._stop_requested():
                    self.fired = self.fired or "stop"
                elif now >= self._deadline:
                    self.fired = self.fired or "deadline"
                if self.fired:
                    self._handle.cut()
                    self._wake.wait(WATCHDOG_TICK)
                else:
                    self._wake.wait(min(WATCHDOG_TICK, self._deadline - now))


class Transport:
    """One keep-alive connection whose every attempt ends by its deadline.

    Without a proxy, the connection is one of a urllib3 pool built here (the TLS
    context, the verified host name) and a request is sent on it directly
    (http.client's request and response, which urllib3's connection is):
    requests' adapter and urllib3's `urlopen` around it cost, per request, about
    twice what http.client itself costs (URL parsing and re-encoding, pool-key
    and timeout objects, proxy look-ups, a second response object and header
    dictionary) and add nothing for a client that only sends its own requests to
    one fixed host; and requests is never imported. Through a proxy (which
    rewrites the request line or adds its headers per request), and when
    requests' adapter was replaced, requests go through requests' adapter
    (adapter.py). A requests Session is never used: its cookie jars, hooks,
    environment and settings merges are not wanted either. Environment
    proxies and ~/.netrc are never read (a netrc entry would replace the
    bearer header; the proxy is the admin's explicit setting), and redirects
    are never followed (nor their body read).
    """

    def __init__(self, headers, verify, proxy_url, timeout, stop_requested, max_body_bytes=MAX_BODY_BYTES):
        self.timeout = timeout  # (connect, read) seconds of one socket operation
        self.max_body_bytes = max_body_bytes
        self.verify = verify
        self.proxies = {"http": proxy_url, "https": proxy_url} if proxy_url else {}
        self._headers = dict(headers)
        self._handle = _SocketHandle()
        self._watchdog = _Watchdog(self._handle, stop_requested)
        self._pools = _TrackedPools(self._handle)
        self._adapter = None  # requests' adapter, made for the first request that goes through it
        self._targets = {}  # URL -> (its pool, its request target), for the direct way
        self._origins = {}  # (scheme, host, port) -> its pool, for the direct way
        self._answered = False

    def exchange(self, method, url, payload, deadline):
        """(status, headers, body bytes) of one request, by `deadline` (monotonic).

        Raises Cut when the watchdog ended it, BodyTooLarge / BodyCutShort /
        UnknownEncoding for a body not worth parsing, and Failed (holding
        what requests, urllib3, http.client, ssl or PySocks raised) otherwise.
        """
        headers = dict(self._headers)  # our own names, each spelled once: no case-insensitive dictionary needed
        if payload is not None:
            headers["Content-Type"] = "application/json"
            headers["Content-Length"] = str(len(payload))
        self._answered = False
        self._watchdog.arm(deadline)
        try:
            if self.proxies or _adapter_replaced():
                status, answer_headers, body = self._through_adapter(method, url, payload, headers)
            else:
                status, answer_headers, body = self._direct(method, url, payload, headers)
        except Exception as exc:  # noqa: BLE001 - requests, urllib3, http.client, ssl, socket, PySocks
            if self._watchdog.fired:
                raise Cut(self._watchdog.fired) from exc
            if isinstance(exc, (BodyTooLarge, BodyCutShort, UnknownEncoding)):
                raise
            raise Failed(exc, answered=self._answered) from exc
        finally:
            self._watchdog.disarm()
        if self._watchdog.fired:  # a body without a length ends at the cut: it is not whole
            raise Cut(self._watchdog.fired)
        return status, answer_headers, body

    def _mark_answered(self):
        self._answered = True

    def _through_adapter(self, method, url, payload, headers):
        if self._adapter is None:
            from .adapter import TrackedAdapter

            self._adapter = TrackedAdapter(self._pools)
        return self._adapter.exchange(method, url, payload, headers, self.timeout, self.verify, self.proxies,
                                      self.max_body_bytes, self._mark_answered)

    def _direct(self, method, url, payload, headers):
        """The exchange on the pool's connection, as urllib3's `urlopen` does it
        for a request without proxy, retries or redirects."""
        target = self._targets.get(url)
        if target is None:
            target = self._targets[url] = self._target(url)
        pool, path = target
        connection = pool._get_conn()  # a kept-alive connection unless the server dropped it, else a new one
        answer = None
        try:
            connection.timeout = self.timeout[0]  # connect, TLS handshake and sending
            if connection.sock is None:
                connection.connect()
            try:
                connection.request(method, path, payload, headers)
            except OSError as exc:
                # a server may answer and close before it read the whole request: its answer is still read
                if exc.errno not in _EARLY_ANSWER_ERRNOS:
                    raise
            if connection.sock is not None:
                connection.sock.settimeout(self.timeout[1])
            answer = connection.getresponse()
            self._answered = True
            answer_headers = answer.headers
            if len(set(answer_headers.get_all("Content-Length") or ())) > 1:
                raise http.client.HTTPException("the answer declares two different lengths")
            body = read_body(answer.read, answer_headers, self.max_body_bytes)
        except BaseException:
            if answer is not None:
                answer.close()
            connection.close()
            pool._put_conn(None)  # the next request opens a new connection
            raise
        answer.close()
        if self._watchdog.fired:  # cut: the connection is no good any more
            connection.close()
        pool._put_conn(connection)
        return answer.status, answer_headers, body

    def _target(self, url):
        """The pool of `url` and the request target to send. The pool is set up
        as requests' adapter sets up its own: one connection, verified against
        the CA bundle file (`verify` its path) or certifi's (`verify` True), or
        not verified (`verify` False)."""
        parts = urllib.parse.urlsplit(url)
        path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        if not _PLAIN_TARGET.fullmatch(path):
            raise http.client.InvalidURL(f"the request target {path!r} is not plain")
        origin = (parts.scheme.lower(), parts.hostname, parts.port)
        pool = self._origins.get(origin)  # one pool, one kept-alive connection, for every path of a host
        if pool is None:
            scheme, host, port = origin
            settings = {}
            if scheme == "https":
                if self.verify is False:
                    settings["cert_reqs"] = "CERT_NONE"
                else:
                    context = verifying_context(_certifi_bundle() if self.verify is True else self.verify, None)
                    settings.update(cert_reqs="CERT_REQUIRED", ssl_context=context)
            pool = self._origins[origin] = self._pools.pool_class(scheme)(host, port, maxsize=1, block=False,
                                                                          **settings)
        return pool, path

    def abort(self):
        self._watchdog.cut_now()

    def close(self):
        self._watchdog.close()
        if self._adapter is not None:
            self._adapter.close()
        for pool in self._origins.values():
            pool.close()
        self._handle.close()
        self._targets.clear()
        self._origins.clear()


def _adapter_replaced():
    if "requests.adapters" not in sys.modules:  # nothing replaced what this process never imported
        return False
    from .adapter import adapter_replaced

    return adapter_replaced()


def _certifi_bundle():
    """certifi's CA bundle, as requests verifies with by default. Found beside
    its module rather than by importing it: certifi.where() imports
    importlib.resources (about 7 ms of CPU) for a file that, in the add-on's
    lib/, is always a plain file."""
    spec = importlib.util.find_spec("certifi")
    if spec is None or not spec.origin:
        raise OSError(errno.ENOENT, "certifi's CA bundle is not installed")
    return os.path.join(os.path.dirname(spec.origin), "cacert.pem")


# errnos of sending a request to a server that already answered and closed (as urllib3 allows)
_EARLY_ANSWER_ERRNOS = {errno.EPIPE, errno.ESHUTDOWN, errno.ECONNRESET, getattr(errno, "EPROTOTYPE", errno.EPIPE)}
# a request target our own URLs make: nothing to encode
_PLAIN_TARGET = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@/%-]*")


class Failed(Exception):
    """An attempt that failed on its own (not cut): `error` is what was raised."""

    def __init__(self, error, answered):
        super().__init__(type(error).__name__)
        self.error = error
        self.answered = answered


def read_body(read, headers, max_bytes):
    """The body, decompressed, at most `max_bytes`; read(size) gives the next
    bytes of the body as sent, b"" at its end."""
    encoding = headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        decoder = None
    elif encoding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    else:
        raise UnknownEncoding(encoding)
    declared = headers.get("Content-Length", "").strip()
    declared = int(declared) if declared.isdigit() and declared.isascii() else None
    if declared is not None and declared > max_bytes:
        raise BodyTooLarge()
    body = bytearray()
    received = 0
    while True:
        data = read(READ_CHUNK)
        if not data:
            break
        received += len(data)
        if received > max_bytes:
            raise BodyTooLarge()
        if decoder is None:
            body += data
        else:
            for piece in _inflate(decoder, data):
                body += piece
                if len(body) > max_bytes:
                    raise BodyTooLarge()
    if decoder is not None and not decoder.eof:
        raise BodyCutShort()
    if declared is not None and received < declared:
        raise BodyCutShort()  # http.client does not complain when a sized read ends early
    return body


def _inflate(decoder, data, step=READ_CHUNK):
    """Decompressed pieces of `data`, at most `step` bytes each: a gzip bomb's
    output is counted (and refused) a piece at a time, never made whole."""
    while data:
        piece = decoder.decompress(data, step)
        data = decoder.unconsumed_tail
        if piece:
            yield piece
        elif data:  # no output although input remains: cannot happen with a sane zlib; do not spin
            return
