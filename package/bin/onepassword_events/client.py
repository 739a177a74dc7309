"""Client of the 1Password Events API (v2): what to ask and what the answer means.

Knows hosts, endpoints, headers, the token and the proxy settings, and owns
"send -> read -> parse -> maybe send again" under one retry budget per
request; knows nothing of Splunk. Synchronous: one request at a time on one
keep-alive connection. The pager reads ahead with a client of its own per
stream (see `clone`).

The server is not trusted; the jobs are split:
- transport.py: one exchange by its deadline (a watchdog cuts the socket,
  also at once on a stop), the capped body, no redirects;
- retry.py: the retry loop and its budget;
- classify.py: failures and statuses as our errors (errors.py);
- redaction.py: secrets masked out of what a server sends back.
"""

import json
import re
import time
import warnings

from urllib3.util import parse_url

from . import USER_AGENT
from .classify import deadline_error, status_error, transport_error
from .envelope import EnvelopeError, parse_page
from .errors import ConfigurationError, MalformedResponseError, StopRequested
from .redaction import Redactor
from .regions import token_claims
from .retry import Retries, RetryPolicy
from .transport import MAX_BODY_BYTES, BodyCutShort, BodyTooLarge, Cut, Failed, Transport, UnknownEncoding

__all__ = ["EventsApiClient", "RetryPolicy", "check_token", "check_proxy_url"]

FEATURES_CLAIM = "1password.com/fts"
INTROSPECT_PATH = "/api/v2/auth/introspect"
INTROSPECT_V1_PATH = "/api/auth/introspect"
# JWTs are base64url segments joined by dots; anything else cannot be a token,
# and a quote, backslash or line break would change how it is echoed and logged.
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_.\-]+\Z")
PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")


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


class RequestStats:
    """Requests made and HTTP statuses seen, shared by a client and its clones."""

    def __init__(self):
        import threading

        self._lock = threading.Lock()
        self.requests = 0
        self.statuses = {}

    def count_request(self):
        with self._lock:
            self.requests += 1

    def count_status(self, status):
        with self._lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1


def _never():
    return False


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
        self._redactor = Redactor(token, proxy_url)
        self.timeout = (connect_timeout, read_timeout)
        # one attempt, headers and body together
        self.attempt_timeout = connect_timeout + read_timeout
        self.retry = retry or RetryPolicy()
        self.max_body_bytes = max_body_bytes
        self._sleep = sleep
        self._logger = logger
        self.stop_requested = stop_requested or _never
        self.stats = stats or RequestStats()
        if not verify_tls:
            from urllib3.exceptions import InsecureRequestWarning

            # said once by the caller that chose it (runner.build_client), not by urllib3 per request
            warnings.filterwarnings("ignore", category=InsecureRequestWarning)
        self._transport = Transport(
            headers={
                "Authorization": "Bearer " + token,
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
                # decoded here, with a cap on the decoded size
                "Accept-Encoding": "gzip",
            },
            verify=(ca_bundle or True) if verify_tls else False,
            proxy_url=proxy_url,
            timeout=self.timeout,
            stop_requested=self.stop_requested,
            max_body_bytes=max_body_bytes,
        )

    def clone(self):
        """A client with the same settings and its own HTTP connection, counting
        into the same stats (one per stream when the pager reads ahead)."""
        return EventsApiClient(self.base_url, self._token, stats=self.stats, **self._settings)

    @property
    def requests_made(self):
        return self.stats.requests

    @property
    def status_counts(self):
        return self.stats.statuses

    def close(self):
        """Close the connection; the watchdog's thread ends too."""
        self._transport.close()

    def abort(self):
        """Cut the request in flight, from another thread; it raises StopRequested."""
        self._transport.abort()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- public API ---------------------------------------------------------
    def introspect(self):
        """The token's features and account: {'features', 'account_uuid', 'issued_at', 'uuid'}.
        The v1 path, tried when v2 answers 404, shares the request's retry budget."""
        paths = [INTROSPECT_PATH]

        def attempt(deadline_for):
            try:
                return self._text("GET", paths[-1], None, deadline_for())
            except ConfigurationError as exc:
                if exc.status != 404 or len(paths) > 1:
                    raise
            paths.append(INTROSPECT_V1_PATH)
            return self._text("GET", paths[-1], None, deadline_for())

        text = self._with_retries(attempt, INTROSPECT_PATH)
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

    def page_request(self, path, body):
        """One cursor request and its retries under one budget: a fetcher sends
        it with `receive()` and gets its page with `page()`, which
        returns None when the text was no page and the request must be sent
        again (the wait before it already taken)."""
        return PageRequest(self, path, body)

    def fetch_page(self, path, body):
        """POST one cursor request and parse its answer (an envelope.Page); an
        answer that is not a page is asked for again, under the same budget."""
        request = self.page_request(path, body)
        while True:
            request.receive()
            page = request.page()
            if page is not None:
                return page

    # -- internals ------------------------------------------------------------
    def _retries(self, path):
        def on_retry(exc, attempts, delay):
            if self._logger is not None:
                self._logger.warning("event=retry category=%s attempt=%d delay_s=%.1f path=%s message=%r",
                                     exc.category, attempts, delay, path, str(exc))

        return Retries(self.retry, self.attempt_timeout, self._sleep, on_retry)

    def _with_retries(self, attempt, path):
        return self._retries(path).run(attempt)

    def _text(self, method, path, payload, deadline):
        """One request and its whole answer as text, by `deadline` (monotonic)."""
        return self._decoded(self._body(method, path, payload, deadline))

    def _decoded(self, content):
        try:
            return content.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedResponseError(f"the answer of {self.host} is not UTF-8") from None

    def _body(self, method, path, payload, deadline):
        """One request and its whole answer's bytes (a 200), by `deadline` (monotonic)."""
        self.stats.count_request()
        seconds = deadline - time.monotonic()
        try:
            status, headers, content = self._transport.exchange(method, self.base_url + path, payload, deadline)
        except Cut as cut:
            if cut.why == "stop":
                raise StopRequested("stop requested while a request was under way; it is sent again next run") from None
            raise deadline_error(self.host, seconds) from None
        except Failed as failure:
            raise transport_error(failure.error, failure.answered, self.host, self._proxy, self.timeout) from None
        except BodyTooLarge:
            raise MalformedResponseError(
                f"the answer of {self.host} is larger than {self.max_body_bytes // (1024 * 1024)} MB, "
                "far beyond an Events API page") from None
        except BodyCutShort:
            raise MalformedResponseError(f"the answer of {self.host} was cut short",
                                         detail="the connection closed before the whole answer arrived") from None
        except UnknownEncoding:
            raise MalformedResponseError(
                f"{self.host} answered in a content encoding that was not asked for") from None
        self.stats.count_status(status)
        if status != 200:
            raise status_error(self.host, status, content, headers, self._redactor)
        return content


class PageRequest:
    """One cursor request of a stream: get the answer -> decode and parse ->
    maybe send again, one retry budget for all of it, whichever thread does
    which part. The answer crosses threads as bytes: the text and the page
    are made in the thread that writes the page, so a read-ahead thread
    holds one copy of the next page, not two."""

    def __init__(self, client, path, body):
        self._client = client
        self._path = path
        self._payload = json.dumps(body, separators=(",", ":")).encode("ascii")
        self._retries = client._retries(path)
        self._answer = None

    def receive(self):
        """Send the request (again), after as many attempts as the budget
        allows, and keep its answer's bytes for `page()`."""
        client = self._client
        self._answer = self._retries.run(
            lambda deadline_for: client._body("POST", self._path, self._payload, deadline_for()))

    def page(self):
        """The page of the answer received, or None once the wait before
        sending again is over."""
        answer, self._answer = self._answer, None
        try:
            text = self._client._decoded(answer)
            del answer  # the only reference: the bytes go before the page is made
            return parse_page(text)
        except MalformedResponseError as exc:
            error = exc
        except EnvelopeError as exc:
            error = MalformedResponseError(
                f"{self._client.host} sent an answer that is not a valid Events API page", detail=str(exc))
        self._retries.failed(error)  # raises once the budget is spent
        return None


def _short_text(value, limit=64):
    """An identifier from an answer, if it is a short string."""
    return value if isinstance(value, str) and len(value) <= limit else None
