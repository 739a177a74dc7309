"""What went wrong, as one of our errors: a failed attempt by the types,
errnos and certificate verify codes of what was raised (never by its text,
which may hold a server's certificate names or a proxy's answer), and an
HTTP status by the Events API's documented meanings."""

import errno
import http.client
import json
import socket
import ssl
import sys
from email.utils import parsedate_to_datetime
import time
import re

from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError
from urllib3.exceptions import ProxyError as Urllib3ProxyError
from urllib3.exceptions import SSLError as Urllib3SSLError
from urllib3.util.ssl_match_hostname import CertificateError as HostnameMismatch

from .errors import (
    AuthError,
    BadRequestError,
    ConfigurationError,
    EventsApiError,
    FeatureNotGrantedError,
    HostUnreachableError,
    MalformedResponseError,
    ProxyError,
    ProxyUnreachableError,
    RateLimitError,
    ServerError,
    TlsError,
    TransportError,
)

PLAIN_HTTP = "the answer to the TLS handshake was not TLS"
CLOSED = "the connection closed before the whole answer arrived"
NOT_HTTP = "the answer was not HTTP"
TIMED_OUT = "timed out"
REFUSED = "connection refused"
DNS = "DNS lookup failed"
NET_UNREACHABLE = "network unreachable"
NO_ROUTE = "no route to host"
UNREACHABLE = (REFUSED, DNS, NET_UNREACHABLE, NO_ROUTE)
# OpenSSL's X509_V_ERR_* codes (ssl.SSLCertVerificationError.verify_code)
_VERIFY_CODES = {
    10: "certificate verification failed: the certificate has expired",
    18: "certificate verification failed: self-signed certificate",
    19: "certificate verification failed: self-signed certificate",
    20: "certificate verification failed: unknown certificate authority",
    21: "certificate verification failed: unknown certificate authority",
    62: "certificate verification failed: the certificate is for another host name",
}
HOST_MISMATCH = _VERIFY_CODES[62]
# OpenSSL reason codes (ssl.SSLError.reason) of a handshake answered in plain text
_NOT_TLS = {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST",
            "UNKNOWN_PROTOCOL"}
_ERRNO_REASONS = {
    errno.ECONNREFUSED: REFUSED,
    errno.ECONNRESET: "connection reset",
    errno.ENETUNREACH: NET_UNREACHABLE,
    errno.EHOSTUNREACH: NO_ROUTE,
    errno.ETIMEDOUT: TIMED_OUT,
    errno.ECONNABORTED: CLOSED,
    errno.EPIPE: CLOSED,
}


def _chain(exc):
    """exc and what it wraps, outermost first: causes, contexts, urllib3's
    `reason`, PySocks' `socket_err` and exceptions passed as arguments."""
    seen, queue = [], [exc]
    while queue and len(seen) < 16:
        current = queue.pop(0)
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        queue += [current.__cause__, current.__context__, getattr(current, "reason", None),
                  getattr(current, "socket_err", None)]
        queue += [arg for arg in current.args if isinstance(arg, BaseException)]
        queue = [item for item in queue if isinstance(item, BaseException)]
    return seen


def _socks_errors():
    socks = sys.modules.get("socks")
    return (socks.ProxyError,) if socks is not None else ()


def _requests_errors(*names):
    """requests' exception classes of these names: none in a process that never
    imported requests (a request without a proxy does not go through it)."""
    exceptions = sys.modules.get("requests.exceptions")
    return tuple(getattr(exceptions, name) for name in names) if exceptions is not None else ()


def _reason_of(exc):
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _VERIFY_CODES.get(exc.verify_code, "certificate verification failed")
    if isinstance(exc, HostnameMismatch):
        return HOST_MISMATCH
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        return CLOSED
    if isinstance(exc, ssl.SSLError):
        return PLAIN_HTTP if exc.reason in _NOT_TLS else "the TLS handshake failed"
    if isinstance(exc, socket.gaierror):
        return DNS
    if isinstance(exc, (http.client.RemoteDisconnected, http.client.IncompleteRead)):
        return CLOSED
    if isinstance(exc, http.client.HTTPException):
        return NOT_HTTP
    if isinstance(exc, NewConnectionError):  # a subclass of ConnectTimeoutError in urllib3 1.26
        return None
    if isinstance(exc, (socket.timeout, ConnectTimeoutError, ReadTimeoutError)):
        return TIMED_OUT
    if isinstance(exc, OSError) and exc.errno in _ERRNO_REASONS:
        return _ERRNO_REASONS[exc.errno]
    return None


def _wrapper_reason_of(exc):
    """What a wrapper says when nothing it wraps says more."""
    if isinstance(exc, (Urllib3SSLError,) + _requests_errors("SSLError")):
        return "the TLS handshake failed"
    if isinstance(exc, _requests_errors("ConnectTimeout", "ReadTimeout")):
        return TIMED_OUT
    return None


def transport_reason(exc):
    """What failed, in our own words."""
    chain = _chain(exc)
    for reason_of in (_reason_of, _wrapper_reason_of):
        for cause in chain:
            reason = reason_of(cause)
            if reason is not None:
                return reason
    return f"request failed ({type(exc).__name__})"


def transport_error(exc, answered, host, proxy, timeouts):
    """The EventsApiError for an exception raised while talking to the server.

    answered: the status line and headers had arrived; proxy: the proxy's
    host:port or None; timeouts: (connect, read) seconds."""
    chain = _chain(exc)
    reason = transport_reason(exc)
    unreachable = reason in UNREACHABLE and not answered
    proxy_errors = (Urllib3ProxyError,) + _requests_errors("ProxyError") + _socks_errors()
    if proxy and any(isinstance(e, proxy_errors) for e in chain):
        kind = ProxyUnreachableError if unreachable else ProxyError
        return kind(f"could not reach {host} through the proxy {proxy}; check the proxy's host, port, "
                    "type and credentials on the Proxy tab (or --proxy)", detail=reason)
    if reason == PLAIN_HTTP:
        return TlsError(f"{host} did not answer in TLS: check the URL's scheme and port "
                        "(plain http:// is only for a test server on a loopback address)", detail=reason)
    if reason.startswith("certificate") or reason == "the TLS handshake failed":
        return TlsError(f"TLS verification of {host} failed; check the CA bundle setting, "
                        "or the proxy's TLS inspection certificate", detail=reason)
    connecting = (ConnectTimeoutError,) + _requests_errors("ConnectTimeout")
    if reason == TIMED_OUT and not answered and any(isinstance(e, connecting) for e in chain):
        return TransportError(f"timed out connecting to {host} after {timeouts[0]:g}s", detail=reason)
    if reason == CLOSED:
        if answered:
            return MalformedResponseError(f"the answer of {host} was cut short", detail=reason)
        return TransportError(f"cannot reach {host}", detail="the server closed the connection without answering")
    if reason == TIMED_OUT:
        return TransportError(f"{host} did not answer within {timeouts[1]:g}s", detail=reason)
    if unreachable:
        return HostUnreachableError(
            f"cannot reach {host}: check the region or URL, and that this host may connect to it "
            "(firewall, outbound HTTPS, or a proxy on the Proxy tab)", detail=reason,
        )
    return TransportError(f"cannot reach {host}", detail=reason)


def deadline_error(host, seconds):
    return TransportError(f"{host} did not send its whole answer within {seconds:.0f}s",
                          detail="the request's total deadline passed while the answer was still arriving")


# -- statuses ------------------------------------------------------------------------------
_DELAY_SECONDS = re.compile(r"[0-9]{1,9}\Z")


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


def api_message(body):
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


def status_error(host, status, content, headers, redactor):
    """The EventsApiError of an answer that is not a 200."""
    message = api_message(content.decode("utf-8", "replace")) if content else None
    detail = redactor.detail(message) if message else None
    if status == 401:
        return AuthError("the token is invalid, expired or revoked (HTTP 401); "
                         "issue a new Events Reporting token in 1Password and update the account", status, detail)
    if status == 403:
        return FeatureNotGrantedError("the token may not read this data (HTTP 403)", status, detail)
    if status == 400:
        return BadRequestError(f"{host} refused the request (HTTP 400)", status, detail)
    if status == 404:
        return ConfigurationError(f"{host} has no such endpoint (HTTP 404); check the region or custom URL",
                                  status, detail)
    if 300 <= status < 400:
        return ConfigurationError(
            f"{host} answered with a redirect (HTTP {status}), which the Events API never sends; "
            "redirects are not followed: check the region or custom URL", status,
        )
    if status == 429:
        return RateLimitError(f"rate limited by {host} (HTTP 429)", status,
                              parse_retry_after(headers.get("Retry-After")), detail)
    if status >= 500:
        return ServerError(f"{host} had a server error (HTTP {status})", status, detail)
    return EventsApiError(f"unexpected answer from {host} (HTTP {status})", status, detail)
