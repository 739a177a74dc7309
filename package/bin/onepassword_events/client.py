"""HTTP client of the 1Password Events API (v2).

Knows hosts, endpoints, headers, timeouts, proxy, TLS, retries and error
bodies; knows nothing of Splunk. One keep-alive session per client.
"""

import json
import random
import re
import threading
import time

from urllib.parse import unquote

import requests

from . import USER_AGENT
from .envelope import EnvelopeError, parse_page
from .regions import token_claims
from .errors import (
    AuthError,
    BadRequestError,
    ConfigurationError,
    EventsApiError,
    FeatureNotGrantedError,
    MalformedResponseError,
    ProxyError,
    RateLimitError,
    ServerError,
    TlsError,
    TransportError,
)

FEATURES_CLAIM = "1password.com/fts"
INTROSPECT_PATH = "/api/v2/auth/introspect"
INTROSPECT_V1_PATH = "/api/auth/introspect"
MAX_MESSAGE = 300  # characters of an API error message kept in errors and logs
_TAGS = re.compile(r"<[^>]*>")
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")
_INCOMPLETE = re.compile(r"IncompleteRead\((\d+) bytes read, (\d+) more expected\)")
_CERT = re.compile(r"(certificate verify failed[^'\"(]*|wrong version number|[a-z ]*handshake failure)")
_SPACES = re.compile(r"\s+")


class RetryPolicy:
    """Exponential backoff with full jitter, bounded in total time per request.

    `budget` bounds the time one request may spend waiting and retrying, so a
    run never hangs on a sick API; `max_delay` caps one wait, except that a
    server's Retry-After is honoured as long as it fits in the budget.
    """

    def __init__(self, budget=300.0, base_delay=1.0, max_delay=60.0, max_attempts=10):
        self.budget = budget
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts

    def delay(self, attempt, error):
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return error.retry_after + random.uniform(0, 0.5)
        ceiling = min(self.max_delay, self.base_delay * (2 ** attempt))
        return random.uniform(ceiling / 2, ceiling)


def _api_message(body):
    """The human message of an error body, whatever its shape."""
    text = body.strip() if body else ""
    if not text:
        return ""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        inner = data.get("Error")
        if isinstance(inner, dict) and inner.get("Message"):
            return str(inner["Message"])[:MAX_MESSAGE]
        for key in ("message", "Message", "error", "detail"):
            if data.get(key):
                return str(data[key])[:MAX_MESSAGE]
    if data is not None:
        return _SPACES.sub(" ", text)[:MAX_MESSAGE]
    return _SPACES.sub(" ", _TAGS.sub(" ", text)).strip()[:MAX_MESSAGE]


def _reason(exc):
    """The useful part of a requests/urllib3 exception text."""
    text = str(exc)
    for pattern in (_CERT, _ERRNO):
        match = pattern.search(text)
        if match:
            return match.group(1).strip()
    if "NameResolutionError" in text or "Name or service not known" in text:
        return "DNS lookup failed"
    match = _INCOMPLETE.search(text)
    if match:
        read, missing = int(match.group(1)), int(match.group(2))
        return f"the connection closed after {read:,} of {read + missing:,} bytes"
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return "connection closed by the server"
    return text[:MAX_MESSAGE]


def _payload(body):
    return json.dumps(body, separators=(",", ":")).encode("ascii")


def _retry_after(value):
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # HTTP-date form, rare

    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


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
    ):
        if not token:
            raise ConfigurationError("no API token is configured")
        self.base_url = base_url.rstrip("/")
        self.host = re.sub(r"^https?://", "", self.base_url)
        self._token = token
        self._secrets = [token]
        if proxy_url and "@" in proxy_url:
            credentials = proxy_url.split("://", 1)[-1].rsplit("@", 1)[0]
            self._secrets += [credentials, unquote(credentials)]
            self._secrets += [part for part in unquote(credentials).split(":", 1)[1:] if len(part) >= 4]
        self.timeout = (connect_timeout, read_timeout)
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._logger = logger
        self.requests_made = 0
        self.status_counts = {}
        self._counting = threading.Lock()  # requests may be in flight from several threads
        session = requests.Session()
        # Ignore environment proxies and ~/.netrc: a netrc entry would replace
        # the bearer header, and the proxy is the admin's explicit setting.
        session.trust_env = False
        session.verify = (ca_bundle or True) if verify_tls else False
        if proxy_url:
            session.proxies = {"http": proxy_url, "https": proxy_url}
        session.headers.update(
            {
                "Authorization": "Bearer " + token,
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
            }
        )
        self._session = session

    def close(self):
        self._session.close()

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
        except ValueError:
            raise MalformedResponseError(f"introspect answer from {self.host} is not JSON") from None
        if not isinstance(data, dict):
            raise MalformedResponseError(f"introspect answer from {self.host} is not a JSON object")
        features = data.get("features", data.get("Features")) or []
        return {
            "features": [f for f in features if isinstance(f, str)],
            "account_uuid": data.get("account_uuid", data.get("AccountUUID")),
            "issued_at": data.get("issued_at", data.get("IssuedAt")),
            "uuid": data.get("uuid", data.get("UUID")),
        }

    def granted_features(self):
        """The event types this token may read, from its own claims when it
        lists them (no request: an idle run costs one request per stream),
        else from introspect."""
        features = token_claims(self._token).get(FEATURES_CLAIM)
        if isinstance(features, list):
            return [f for f in features if isinstance(f, str)]
        return self.introspect()["features"]

    def fetch_page(self, path, body):
        """POST one cursor request; returns an envelope.Page."""
        return self._call("POST", path, _payload(body), parse=True)

    def start_fetch(self, path, body):
        """Send a cursor request now and wait for its answer in a thread; the
        returned object's page() parses it (retrying like fetch_page if needed).

        Only the network wait runs in the thread (the socket read releases the
        GIL), so the API's response time hides behind the caller's work on the
        previous page; parsing stays in the caller's thread.
        """
        return _PendingPage(self, path, _payload(body))

    # -- internals ------------------------------------------------------------
    def _call(self, method, path, payload, parse=False, answered=None):
        started = time.monotonic()
        attempt = 0
        slept = 0.0
        while True:
            try:
                if answered is not None:  # the first attempt, already sent from a thread
                    first, answered = answered, None  # a retry sends the request again
                    text = first.text()
                else:
                    text = self._once(method, path, payload)
                if not parse:
                    return text
                try:
                    return parse_page(text)
                except EnvelopeError as exc:
                    raise MalformedResponseError(
                        f"{self.host} sent a response that is not a valid Events API page ({exc})"
                    ) from None
            except EventsApiError as exc:
                if not exc.retryable:
                    raise
                attempt += 1
                delay = self.retry.delay(attempt - 1, exc)
                # elapsed time counts the requests too; slept covers a sleep
                # function that does not take real time (tests, simulations)
                waited = max(time.monotonic() - started, slept)
                if attempt >= self.retry.max_attempts or waited + delay > self.retry.budget:
                    exc.message = f"{exc.message} (gave up after {attempt} attempts in {waited:.0f}s)"
                    raise
                if self._logger is not None:
                    self._logger.warning(
                        "event=retry category=%s attempt=%d delay_s=%.1f path=%s message=%r",
                        exc.category, attempt, delay, path, exc.message,
                    )
                self._sleep(delay)
                slept += delay

    def _once(self, method, path, payload):
        url = self.base_url + path
        headers = {"Content-Type": "application/json"} if payload is not None else None
        with self._counting:
            self.requests_made += 1
        try:
            response = self._session.request(
                method, url, data=payload, headers=headers, timeout=self.timeout, stream=True
            )
            try:
                status = response.status_code
                # the body in one read, not requests' 10 KB chunks: a page is ~1 MB
                content = b"".join(response.iter_content(chunk_size=None))
            finally:
                response.close()  # back to the pool (kept alive) once read whole
        except requests.exceptions.SSLError as exc:
            raise TlsError(
                f"TLS verification of {self.host} failed ({self._cause(exc)}); "
                "check the CA bundle setting, or the proxy's TLS inspection certificate"
            ) from None
        except requests.exceptions.ProxyError as exc:
            raise ProxyError(f"could not reach {self.host} through the proxy: {self._cause(exc)}") from None
        except requests.exceptions.ConnectTimeout:
            raise TransportError(f"timed out connecting to {self.host} after {self.timeout[0]:g}s") from None
        except requests.exceptions.ReadTimeout:
            raise TransportError(f"{self.host} did not answer within {self.timeout[1]:g}s") from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            raise MalformedResponseError(f"the answer of {self.host} was cut short: {self._cause(exc)}") from None
        except requests.exceptions.ConnectionError as exc:
            if "Read timed out" in str(exc):  # raised while the body was being read
                raise TransportError(f"{self.host} did not answer within {self.timeout[1]:g}s") from None
            raise TransportError(f"cannot reach {self.host}: {self._cause(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise TransportError(f"request to {self.host} failed: {self._cause(exc)}") from None
        with self._counting:
            self.status_counts[status] = self.status_counts.get(status, 0) + 1
        if status == 200:
            try:
                return content.decode("utf-8")
            except UnicodeDecodeError:
                raise MalformedResponseError(f"the answer of {self.host} is not UTF-8") from None
        self._raise_for_status(status, content, response.headers)

    def _raise_for_status(self, status, content, headers):
        # mask secrets in the whole body first: the message is then cut short,
        # and a cut token would no longer match
        message = _api_message(self._clean(content.decode("utf-8", "replace")))
        detail = f"HTTP {status}" + (f": {message}" if message else "")
        if status == 401:
            raise AuthError(
                f"the token is invalid, expired or revoked ({detail}); "
                "issue a new Events Reporting token in 1Password and update the account",
                status,
            )
        if status == 403:
            raise FeatureNotGrantedError(f"the token may not read this data ({detail})", status)
        if status == 400:
            raise BadRequestError(f"{self.host} refused the request ({detail})", status)
        if status == 404:
            raise ConfigurationError(
                f"{self.host} has no such endpoint ({detail}); check the region or custom URL", status
            )
        if status == 429:
            raise RateLimitError(
                f"rate limited by {self.host} ({detail})", status, _retry_after(headers.get("Retry-After"))
            )
        if status >= 500:
            raise ServerError(f"{self.host} had a server error ({detail})", status)
        raise EventsApiError(f"unexpected answer from {self.host} ({detail})", status)

    def _cause(self, exc):
        """The reason of a transport exception, safe to log."""
        return self._clean(_reason(exc))

    def _clean(self, value):
        """Text safe to log: no token, no proxy credentials."""
        text = str(value)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


class _PendingPage(threading.Thread):
    """One request sent ahead (see EventsApiClient.start_fetch). A daemon
    thread: a run that ends early waits for it briefly (the collector's
    PENDING_GRACE), then exits without it."""

    def __init__(self, client, path, payload):
        super().__init__(name="events-api " + path, daemon=True)
        self._client = client
        self._path = path
        self._payload = payload
        self._text = None
        self._error = None
        self.start()

    def run(self):
        try:
            self._text = self._client._once("POST", self._path, self._payload)
        except BaseException as exc:  # raised again in the caller's thread
            self._error = exc

    def text(self):
        self.join()
        if self._error is not None:
            raise self._error
        return self._text

    def page(self):
        return self._client._call("POST", self._path, self._payload, parse=True, answered=self)
