"""HTTP client of the 1Password Events API (v2).

Knows hosts, endpoints, headers, timeouts, proxy, TLS, retries and error
bodies; knows nothing of Splunk. Synchronous, one job: one request at a time
on one keep-alive session. The pager reads ahead with a client of its own per
stream (see `clone`).

The server is not trusted:
- every attempt has a total deadline, headers and body together: a watchdog
  cuts the connection when it passes, because a socket read that receives a
  byte now and then never times out by itself; it also cuts at once when a
  stop is requested, so SIGTERM ends a run within a second or so;
- the retry budget bounds the whole retry loop of a request, attempts included;
- the body is read in bounded chunks and decompressed here, with a cap on its
  decompressed size (a 1 MB gzip body can inflate to gigabytes);
- redirects are never followed (the Events API does not redirect);
- no text a server sends reaches an error message: the message is our own,
  and a short, sanitized API error text goes to `detail` (errors.py).
"""

import base64
import json
import random
import re
import socket
import threading
import time
import warnings
import zlib

from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InsecureRequestWarning
from urllib3.util import parse_url

from . import USER_AGENT
from .envelope import EnvelopeError, parse_page
from .regions import token_claims
from .errors import (
    AuthError,
    BadRequestError,
    ConfigurationError,
    EventsApiError,
    FeatureNotGrantedError,
    HostUnreachableError,
    MalformedResponseError,
    ProxyError,
    RateLimitError,
    ServerError,
    StopRequested,
    TlsError,
    TransportError,
)

FEATURES_CLAIM = "1password.com/fts"
INTROSPECT_PATH = "/api/v2/auth/introspect"
INTROSPECT_V1_PATH = "/api/auth/introspect"
# A page of 1,000 large items is a few MB; anything near this is not the Events API.
MAX_BODY_BYTES = 64 * 1024 * 1024
READ_CHUNK = 1024 * 1024
MAX_DETAIL = 120  # characters of an API error message kept in `detail`
WATCHDOG_TICK = 0.2  # seconds between the watchdog's looks at the stop flag
# A host that refuses connections or does not resolve is retried briefly (a
# restart, a DNS blip), not for the whole retry budget once per stream.
UNREACHABLE_ATTEMPTS = 3
_UNREACHABLE_REASONS = ("connection refused", "DNS lookup failed", "network unreachable", "no route to host")
# JWTs are base64url segments joined by dots; anything else cannot be a token,
# and a quote, backslash or line break would change how it is echoed and logged.
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_.\-]+\Z")
_PRINTABLE = re.compile(r"[^ -~]+")
_SPACES = re.compile(r"\s+")
_DELAY_SECONDS = re.compile(r"[0-9]{1,9}\Z")


class RetryPolicy:
    """Exponential backoff with full jitter, bounded in total time per request.

    `budget` bounds the whole retry loop of one request (attempts and waits),
    so a run never hangs on a sick API; `max_delay` caps one backoff wait. A
    server's Retry-After is honoured when it is a sane value that fits in the
    budget.
    """

    def __init__(self, budget=300.0, base_delay=1.0, max_delay=60.0, max_attempts=10):
        self.budget = budget
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts

    def delay(self, attempt, error):
        ceiling = min(self.max_delay, self.base_delay * (2 ** attempt))
        return random.uniform(ceiling / 2, ceiling)


def parse_retry_after(value, now=None):
    """Seconds a Retry-After header asks to wait, or None unless it is a
    sane value: whole seconds (RFC 9110 delay-seconds) or a future HTTP-date."""
    if value is None:
        return None
    text = value.strip()
    if _DELAY_SECONDS.match(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None or when.tzinfo is None:
        return None
    delay = when.timestamp() - (time.time() if now is None else now)
    return delay if delay > 0 else None


def check_token(token):
    """Refuse a token that cannot be an Events Reporting token, before it is
    sent anywhere or could be echoed in an altered form."""
    if not token:
        raise ConfigurationError("no API token is configured")
    if not _TOKEN_CHARS.match(token):
        raise ConfigurationError(
            "the token contains characters an Events Reporting token never has (it holds only letters, digits, "
            "'-', '_' and '.'); copy it again from 1Password, without spaces, quotes or line breaks"
        )


PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")


def check_proxy_url(proxy_url):
    """The proxy's host:port for messages (no credentials), or None without a proxy.
    Refuses a URL requests could not use, before anything is sent."""
    if not proxy_url:
        return None
    scheme = proxy_url.split("://", 1)[0].lower() if "://" in proxy_url else ""
    if scheme not in PROXY_SCHEMES:
        raise ConfigurationError(
            "the proxy URL must start with one of " + ", ".join(s + "://" for s in PROXY_SCHEMES)
            + ", e.g. http://proxy.example.com:3128"
        )
    try:
        parts = parse_url(proxy_url)
    except ValueError:
        parts = None
    if parts is None or not parts.host or not parts.port:
        raise ConfigurationError("the proxy URL needs a host and a port, e.g. http://proxy.example.com:3128")
    return f"{parts.host}:{parts.port}"


def _base64_cores(raw):
    """The parts of base64(prefix + raw + suffix) that depend on `raw` alone,
    for each alignment: a secret echoed inside base64 text contains one."""
    cores = set()
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * shift + raw).decode("ascii").rstrip("=")
            first = -(-shift * 8 // 6)  # first character made of secret bits only
            last = (8 * (shift + len(raw))) // 6  # characters fully inside the secret
            core = text[first:last]
            if len(core) >= 6:
                cores.add(core)
    return cores


def secret_forms(secret):
    """Every form in which a secret may come back: as is, JSON-escaped,
    percent-encoded, base64 at any alignment."""
    if not secret:
        return set()
    forms = {secret, quote(secret, safe=""), unquote(secret), json.dumps(secret)[1:-1],
             json.dumps(secret, ensure_ascii=False)[1:-1]}
    forms |= _base64_cores(secret.encode("utf-8"))
    return {form for form in forms if form}


def _proxy_secrets(proxy_url):
    """The credentials of a proxy URL, in the forms they travel in."""
    if not proxy_url or "@" not in proxy_url:
        return set()
    userinfo = proxy_url.split("://", 1)[-1].rsplit("@", 1)[0]
    user, _, password = unquote(userinfo).partition(":")
    secrets = secret_forms(userinfo) | secret_forms(unquote(userinfo))
    if len(password) >= 3:  # shorter ones would mask ordinary words; they are not secrets anyway
        secrets |= secret_forms(password)
    # Proxy-Authorization: Basic base64(user:password)
    secrets.add(base64.b64encode(f"{user}:{password}".encode("utf-8")).decode("ascii"))
    return secrets


def _api_message(body):
    """The message of a documented Events API error body
    ({"Error": {"Message": ...}} or {"status": ..., "message": ...}), or None
    for any other body: an HTML page or a stranger's JSON is not shown."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    inner = data.get("Error")
    if isinstance(inner, dict) and isinstance(inner.get("Message"), str):
        return inner["Message"]
    if isinstance(data.get("message"), str):
        return data["message"]
    return None


def _transport_reason(exc):
    """What failed, in our own words: the exception text can hold a server's
    certificate names or a proxy's answer, so only fixed phrases are taken."""
    text = repr(exc)
    for cause in _causes(exc):
        text += " " + repr(cause)
    lowered = text.lower()
    for needles, reason in _TRANSPORT_REASONS:
        if any(needle in lowered for needle in needles):
            return reason
    return f"request failed ({type(exc).__name__})"


def _causes(exc):
    seen = []
    while exc is not None and len(seen) < 8:
        exc = exc.__cause__ or exc.__context__ or (exc.args[0] if exc.args and isinstance(exc.args[0], BaseException)
                                                    else None)
        if exc is not None:
            seen.append(exc)
    return seen


PLAIN_HTTP_REASON = "the answer to the TLS handshake was not TLS"
CLOSED_REASON = "the connection closed before the whole answer arrived"
_TRANSPORT_REASONS = (
    (("wrong version number", "record layer failure", "packet length too long", "http_request",
      "unknown protocol"), PLAIN_HTTP_REASON),
    (("certificate has expired",), "certificate verification failed: the certificate has expired"),
    (("self signed", "self-signed"), "certificate verification failed: self-signed certificate"),
    (("unable to get local issuer",), "certificate verification failed: unknown certificate authority"),
    (("hostname mismatch", "doesn't match", "not valid for"), "certificate verification failed: the certificate is "
                                                             "for another host name"),
    (("certificate verify failed",), "certificate verification failed"),
    (("connection refused",), "connection refused"),
    (("connection reset",), "connection reset"),
    (("name or service not known", "nameresolutionerror", "nodename nor servname", "temporary failure in name",
      "getaddrinfo failed", "no address associated"), "DNS lookup failed"),
    (("network is unreachable",), "network unreachable"),
    (("no route to host",), "no route to host"),
    (("timed out", "timeout"), "timed out"),
    (("incompleteread", "remotedisconnected", "connection aborted", "connection broken", "eof occurred"),
     CLOSED_REASON),
)


class _ConnectionTracker:
    """Knows the connection its session is using, so the watchdog can cut it.

    requests keeps connections in urllib3 pools; the pools of this session's
    managers are subclassed to remember each connection they hand out.
    """

    def __init__(self):
        self.connection = None
        self._subclasses = {}

    def watch(self, manager):
        classes = manager.pool_classes_by_scheme
        if all(cls in self._subclasses.values() for cls in classes.values()):
            return
        manager.pool_classes_by_scheme = {scheme: self._subclass(cls) for scheme, cls in classes.items()}

    def _subclass(self, pool_class):
        if pool_class not in self._subclasses:
            tracker = self

            def _get_conn(pool, timeout=None):
                connection = pool_class._get_conn(pool, timeout)
                tracker.connection = connection
                return connection

            self._subclasses[pool_class] = type(pool_class.__name__, (pool_class,), {"_get_conn": _get_conn})
        return self._subclasses[pool_class]

    def cut(self):
        sock = getattr(self.connection, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a read blocked in another thread
            except OSError:
                pass


class _TrackedAdapter(HTTPAdapter):
    def __init__(self, tracker):
        self._tracker = tracker
        super().__init__(pool_connections=1, pool_maxsize=1)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self._tracker.watch(self.poolmanager)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        self._tracker.watch(manager)
        return manager


class _Watchdog:
    """Cuts the tracked connection once the armed deadline passes or a stop is
    requested, and keeps cutting until disarmed. One daemon thread per client,
    started on the first request."""

    def __init__(self, tracker, stop_requested):
        self._tracker = tracker
        self._stop_requested = stop_requested
        self._wake = threading.Condition()
        self._deadline = None
        self._thread = None
        self.fired = None  # "deadline" or "stop" once it cut the current request

    def arm(self, deadline):
        with self._wake:
            self._deadline = deadline
            self.fired = None
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="events-api-watchdog", daemon=True)
                self._thread.start()
            self._wake.notify()

    def disarm(self):
        with self._wake:
            self._deadline = None

    def cut_now(self):
        """Cut the request in flight (a run ending early), as a stop would."""
        with self._wake:
            if self._deadline is not None:
                self.fired = "stop"
                self._tracker.cut()

    def _watch(self):
        with self._wake:
            while True:
                if self._deadline is None:
                    self._wake.wait()
                    continue
                now = time.monotonic()
                if self._stop_requested():
                    self.fired = self.fired or "stop"
                elif now >= self._deadline:
                    self.fired = self.fired or "deadline"
                if self.fired:
                    self._tracker.cut()
                    self._wake.wait(WATCHDOG_TICK)
                else:
                    self._wake.wait(min(WATCHDOG_TICK, self._deadline - now))


class _NoRedirectSession(requests.Session):
    def get_redirect_target(self, resp):
        # Never follow a redirect, and never let requests read a redirect's body
        # to prepare following it (it reads it whole, unbounded, even with
        # allow_redirects=False): the body is read here, with the cap.
        return None


class RequestStats:
    """Requests made and HTTP statuses seen, shared by a client and its clones."""

    def __init__(self):
        self._lock = threading.Lock()
        self.requests = 0
        self.statuses = {}

    def count_request(self):
        with self._lock:
            self.requests += 1

    def count_status(self, status):
        with self._lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1


class EventsApiClient:
    def __init__(
        self,
        base_url,
        token,
        verify_tls=True,
        ca_bundle=None,
        proxy_url=None,
        connect_timeout=10.0,
        read_timeout=60.0,
        retry=None,
        sleep=time.sleep,
        logger=None,
        stop_requested=None,
        max_body_bytes=MAX_BODY_BYTES,
        stats=None,
    ):
        check_token(token)
        self._proxy = check_proxy_url(proxy_url)
        self.base_url = base_url.rstrip("/")
        self.host = re.sub(r"^https?://", "", self.base_url)
        self._token = token
        self._settings = dict(
            verify_tls=verify_tls, ca_bundle=ca_bundle, proxy_url=proxy_url, connect_timeout=connect_timeout,
            read_timeout=read_timeout, retry=retry, sleep=sleep, logger=logger, stop_requested=stop_requested,
            max_body_bytes=max_body_bytes,
        )
        self._secrets = sorted(secret_forms(token) | _proxy_secrets(proxy_url), key=len, reverse=True)
        self.timeout = (connect_timeout, read_timeout)
        # one attempt, headers and body together
        self.attempt_timeout = connect_timeout + read_timeout
        self.retry = retry or RetryPolicy()
        self.max_body_bytes = max_body_bytes
        self._sleep = sleep
        self._logger = logger
        stop_requested = stop_requested or _never
        self.stats = stats or RequestStats()
        self._tracker = _ConnectionTracker()
        self._watchdog = _Watchdog(self._tracker, stop_requested)
        session = _NoRedirectSession()
        # Ignore environment proxies and ~/.netrc: a netrc entry would replace
        # the bearer header, and the proxy is the admin's explicit setting.
        session.trust_env = False
        session.verify = (ca_bundle or True) if verify_tls else False
        if not verify_tls:
            # said once by the caller that chose it (runner.build_client), not by urllib3 per request
            warnings.filterwarnings("ignore", category=InsecureRequestWarning)
        adapter = _TrackedAdapter(self._tracker)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        if proxy_url:
            session.proxies = {"http": proxy_url, "https": proxy_url}
        session.headers.update(
            {
                "Authorization": "Bearer " + token,
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
                # decoded here, with a cap on the decoded size
                "Accept-Encoding": "gzip",
            }
        )
        self._session = session

    def clone(self):
        """A client with the same settings and its own HTTP session, counting
        into the same stats (one per stream when the pager reads ahead)."""
        return EventsApiClient(self.base_url, self._token, stats=self.stats, **self._settings)

    @property
    def requests_made(self):
        return self.stats.requests

    @property
    def status_counts(self):
        return self.stats.statuses

    def close(self):
        self._session.close()

    def abort(self):
        """Cut the request in flight, from another thread; it raises StopRequested."""
        self._watchdog.cut_now()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- public API ---------------------------------------------------------
    def introspect(self):
        """The token's features and account: {'features', 'account_uuid', 'issued_at', 'uuid'}."""
        try:
            text = self._call("GET", INTROSPECT_PATH, None)
        except ConfigurationError as exc:
            if exc.status != 404:
                raise
            text = self._call("GET", INTROSPECT_V1_PATH, None)
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise MalformedResponseError(f"the introspect answer of {self.host} is not JSON") from None
        if not isinstance(data, dict):
            raise MalformedResponseError(f"the introspect answer of {self.host} is not a JSON object")
        features = data.get("features", data.get("Features"))
        return {
            "features": [f for f in features if isinstance(f, str)] if isinstance(features, list) else [],
            "account_uuid": _short_text(data.get("account_uuid", data.get("AccountUUID"))),
            "issued_at": _short_text(data.get("issued_at", data.get("IssuedAt"))),
            "uuid": _short_text(data.get("uuid", data.get("UUID"))),
        }

    def granted_features(self):
        """The event types this token may read, from its own claims when it
        lists them (no request: an idle run costs one request per stream),
        else from introspect."""
        features = token_claims(self._token).get(FEATURES_CLAIM)
        if isinstance(features, list):
            return [f for f in features if isinstance(f, str)]
        return self.introspect()["features"]

    def fetch_page(self, path, body, received=None):
        """POST one cursor request; returns an envelope.Page.

        received: the body of an answer to this very request, already read by
        fetch_text (a read-ahead); it is parsed as the first attempt, and sent
        again, with the usual retries, only if it is not a valid page.
        """
        return self._call("POST", path, _payload(body), parse=True, received=received)

    def fetch_text(self, path, body):
        """POST one cursor request; returns the answer's text, unparsed (retrying
        like fetch_page for everything but a malformed page)."""
        return self._call("POST", path, _payload(body))

    # -- internals ------------------------------------------------------------
    def _call(self, method, path, payload, parse=False, received=None):
        started = time.monotonic()
        budget_end = started + self.retry.budget
        attempt = 0
        slept = 0.0
        while True:
            now = time.monotonic()
            # each attempt gets its full time unless the retry budget ends sooner
            seconds = min(self.attempt_timeout, max(budget_end - now, 1.0))
            try:
                if received is not None:
                    text, received = received, None
                else:
                    text = self._exchange(method, path, payload, now + seconds)
                if not parse:
                    return text
                try:
                    return parse_page(text)
                except EnvelopeError as exc:
                    raise MalformedResponseError(
                        f"{self.host} sent an answer that is not a valid Events API page", detail=str(exc)
                    ) from None
            except EventsApiError as exc:
                if not exc.retryable:
                    raise
                attempt += 1
                # elapsed time counts the attempts too; slept covers a sleep
                # function that does not take real time (tests, simulations)
                waited = max(time.monotonic() - started, slept)
                retry_after = getattr(exc, "retry_after", None)
                if retry_after is not None and waited + retry_after > self.retry.budget:
                    exc.message += (f" (the server asked to wait {retry_after:,.0f} s before retrying, beyond the "
                                    f"retry budget of {self.retry.budget:g} s)")
                    raise
                if retry_after is not None:
                    delay = retry_after + random.uniform(0, 0.5)
                else:
                    delay = self.retry.delay(attempt - 1, exc)
                attempts = self.retry.max_attempts
                if exc.unreachable:
                    attempts = min(attempts, UNREACHABLE_ATTEMPTS)
                if attempt >= attempts or waited + delay > self.retry.budget:
                    exc.message = f"{exc.message} (gave up after {attempt} attempts in {waited:.0f}s)"
                    raise
                if self._logger is not None:
                    self._logger.warning(
                        "event=retry category=%s attempt=%d delay_s=%.1f path=%s message=%r",
                        exc.category, attempt, delay, path, str(exc),
                    )
                self._sleep(delay)
                slept += delay

    def _exchange(self, method, path, payload, deadline):
        """One request and its whole answer, by `deadline` (monotonic)."""
        headers = {"Content-Type": "application/json"} if payload is not None else None
        self.stats.count_request()
        self._watchdog.arm(deadline)
        started = time.monotonic()
        response = None
        try:
            try:
                response = self._session.request(
                    method, self.base_url + path, data=payload, headers=headers, timeout=self.timeout,
                    stream=True, allow_redirects=False,
                )
                try:
                    status = response.status_code
                    content = self._read_body(response)
                finally:
                    response.close()
            except Exception as exc:  # noqa: BLE001 - requests, urllib3, http.client, ssl, socket, ours
                if isinstance(exc, EventsApiError) and not self._watchdog.fired:
                    raise
                raise self._failure(exc, answered=response is not None, seconds=deadline - started) from None
        finally:
            self._watchdog.disarm()
        self.stats.count_status(status)
        if status == 200:
            try:
                return content.decode("utf-8")
            except UnicodeDecodeError:
                raise MalformedResponseError(f"the answer of {self.host} is not UTF-8") from None
        self._raise_for_status(status, content, response.headers)

    def _failure(self, exc, answered, seconds):
        """The EventsApiError for an exception raised while talking to the server
        (`answered`: the status line and headers had arrived; `seconds`: the
        attempt's deadline)."""
        fired = self._watchdog.fired
        if fired == "stop":
            return StopRequested("stop requested while a request was under way; it is sent again next run")
        if fired == "deadline":
            return TransportError(
                f"{self.host} did not send its whole answer within {seconds:.0f}s",
                detail="the request's total deadline passed while the answer was still arriving",
            )
        reason = _transport_reason(exc)
        if self._proxy and (isinstance(exc, requests.exceptions.ProxyError) or "socks" in repr(exc).lower()):
            error = ProxyError(
                f"could not reach {self.host} through the proxy {self._proxy}; check the proxy's host, port, "
                "type and credentials on the Proxy tab (or --proxy)", detail=reason,
            )
            error.unreachable = reason in _UNREACHABLE_REASONS and not answered
            return error
        if reason == PLAIN_HTTP_REASON:
            return TlsError(
                f"{self.host} did not answer in TLS: check the URL's scheme and port "
                "(plain http:// is only for a test server on a loopback address)",
                detail=reason,
            )
        if isinstance(exc, requests.exceptions.SSLError) or reason.startswith("certificate"):
            return TlsError(
                f"TLS verification of {self.host} failed; check the CA bundle setting, "
                "or the proxy's TLS inspection certificate",
                detail=reason,
            )
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return TransportError(f"timed out connecting to {self.host} after {self.timeout[0]:g}s", detail=reason)
        if reason == CLOSED_REASON:
            if answered:
                return MalformedResponseError(f"the answer of {self.host} was cut short", detail=reason)
            return TransportError(f"cannot reach {self.host}", detail="the server closed the connection without answering")
        if reason == "timed out":
            return TransportError(f"{self.host} did not answer within {self.timeout[1]:g}s", detail=reason)
        if reason in _UNREACHABLE_REASONS and not answered:
            return HostUnreachableError(
                f"cannot reach {self.host}: check the region or URL, and that this host may connect to it "
                "(firewall, outbound HTTPS, or a proxy on the Proxy tab)", detail=reason,
            )
        return TransportError(f"cannot reach {self.host}", detail=reason)

    def _read_body(self, response):
        """The body, decompressed, at most max_body_bytes."""
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        if encoding in ("", "identity"):
            decoder = None
        elif encoding in ("gzip", "x-gzip"):
            decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        else:
            raise MalformedResponseError(f"{self.host} answered in a content encoding that was not asked for")
        declared = response.headers.get("Content-Length", "").strip()
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise self._too_large()
        raw = response.raw
        chunks = []
        size = received = 0
        while True:
            data = raw.read(READ_CHUNK, decode_content=False)
            if not data:
                break
            received += len(data)
            if received > self.max_body_bytes:
                raise self._too_large()
            if decoder is None:
                pieces = (data,)
            else:
                pieces = _inflate(decoder, data)
            for piece in pieces:
                size += len(piece)
                if size > self.max_body_bytes:
                    raise self._too_large()
                chunks.append(piece)
        if decoder is not None and not decoder.eof:
            raise MalformedResponseError(f"the compressed answer of {self.host} was cut short")
        if declared.isdigit() and received < int(declared):
            # http.client does not complain when a sized read ends early
            raise MalformedResponseError(f"the answer of {self.host} was cut short", detail=CLOSED_REASON)
        return b"".join(chunks)

    def _too_large(self):
        return MalformedResponseError(
            f"the answer of {self.host} is larger than {self.max_body_bytes // (1024 * 1024)} MB, "
            "far beyond an Events API page"
        )

    def _raise_for_status(self, status, content, headers):
        message = _api_message(content.decode("utf-8", "replace")) if content else None
        detail = self._sanitize(message) if message else None
        if status == 401:
            raise AuthError(
                "the token is invalid, expired or revoked (HTTP 401); "
                "issue a new Events Reporting token in 1Password and update the account",
                status, detail,
            )
        if status == 403:
            raise FeatureNotGrantedError("the token may not read this data (HTTP 403)", status, detail)
        if status == 400:
            raise BadRequestError(f"{self.host} refused the request (HTTP 400)", status, detail)
        if status == 404:
            raise ConfigurationError(
                f"{self.host} has no such endpoint (HTTP 404); check the region or custom URL", status, detail
            )
        if 300 <= status < 400:
            raise ConfigurationError(
                f"{self.host} answered with a redirect (HTTP {status}), which the Events API never sends; "
                "redirects are not followed: check the region or custom URL",
                status,
            )
        if status == 429:
            raise RateLimitError(
                f"rate limited by {self.host} (HTTP 429)", status, parse_retry_after(headers.get("Retry-After")), detail
            )
        if status >= 500:
            raise ServerError(f"{self.host} had a server error (HTTP {status})", status, detail)
        raise EventsApiError(f"unexpected answer from {self.host} (HTTP {status})", status, detail)

    def _sanitize(self, text):
        """An API error message fit for a log line: secrets masked (before
        anything can cut one), printable ASCII only, short."""
        text = self._mask(text)
        text = _SPACES.sub(" ", _PRINTABLE.sub(" ", text)).strip()
        text = self._mask(text)
        if len(text) > MAX_DETAIL:
            text = text[: MAX_DETAIL - 1] + "…"
        return f"API message: {text!r}" if text else None

    def _mask(self, text):
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text


def _never():
    return False


def _inflate(decoder, data, step=READ_CHUNK):
    """Decompressed pieces of `data`, at most `step` bytes each: a gzip bomb's
    output is counted (and refused) a megabyte at a time, never made whole."""
    while data:
        piece = decoder.decompress(data, step)
        data = decoder.unconsumed_tail
        if piece:
            yield piece
        elif data:  # no output although input remains: cannot happen with a sane zlib; do not spin
            return


def _payload(body):
    return json.dumps(body, separators=(",", ":")).encode("ascii")


def _short_text(value, limit=64):
    """An identifier from an answer, if it is a short string."""
    return value if isinstance(value, str) and len(value) <= limit else None
