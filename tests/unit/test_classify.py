"""What an admin reads when a request fails: every failure as the error, message and detail
the logs and the CLI show, from the exceptions the network, TLS and the HTTP stack raise
(built here as those libraries raise and wrap them), and every status the Events API may
answer (events-api.md section 9).

The exceptions are the outside world; the classification is ours and runs for real.
"""

import errno
import http.client
import socket
import ssl
import sys
from email.utils import format_datetime
from datetime import datetime, timezone

import pytest
import requests
import socks
import urllib3
from urllib3.util.ssl_match_hostname import CertificateError

from onepassword_events.classify import api_message, deadline_error, parse_retry_after, status_error, transport_error
from onepassword_events.errors import (
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
from onepassword_events.redaction import Redactor
from helpers.tokens import make_token
from helpers.wrapping import wrapped

HOST = "events.1password.com"
PROXY = "proxy.corp:3128"
URL = f"https://{HOST}/api/v2/signinattempts"
TIMEOUTS = (3, 7)  # connect, read: distinct, so a message naming the wrong one shows
TOKEN = make_token()


def verify_failure(code):
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_code = code
    return error


def tls_failure(reason):
    error = ssl.SSLError(1, f"[SSL: {reason}] handshake failure")
    error.reason = reason
    return error


def classify(exc, answered=False, proxy=None):
    return transport_error(exc, answered, HOST, proxy, TIMEOUTS)


def expect(error, kind, text):
    assert type(error) is kind
    assert str(error) == text


VERIFY = "TLS verification of events.1password.com failed; check the CA bundle setting, " \
         "or the proxy's TLS inspection certificate (certificate verification failed: {})"


@pytest.mark.parametrize("code, why", [
    (10, "the certificate has expired"),
    (18, "self-signed certificate"),
    (19, "self-signed certificate"),
    (20, "unknown certificate authority"),
    (21, "unknown certificate authority"),
    (62, "the certificate is for another host name"),
])
def test_a_certificate_the_client_refuses_names_why_by_its_openssl_code(code, why):
    expect(classify(wrapped(requests.exceptions.SSLError, verify_failure(code))), TlsError, VERIFY.format(why))


def test_a_certificate_refused_for_a_reason_without_a_name_still_says_verification_failed():
    error = classify(wrapped(requests.exceptions.SSLError, verify_failure(9)))
    expect(error, TlsError, VERIFY.format("x")[: -len(": x)")] + ")")


def test_a_host_name_mismatch_found_by_urllib3_says_so():
    expect(classify(wrapped(requests.exceptions.SSLError, CertificateError("hostname mismatch"))), TlsError,
           VERIFY.format("the certificate is for another host name"))


@pytest.mark.parametrize("reason", ["WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG",
                                    "HTTP_REQUEST", "UNKNOWN_PROTOCOL"])
def test_a_handshake_answered_in_plain_text_points_at_the_scheme_and_port(reason):
    expect(classify(wrapped(requests.exceptions.SSLError, tls_failure(reason))), TlsError,
           "events.1password.com did not answer in TLS: check the URL's scheme and port (plain http:// is only "
           "for a test server on a loopback address) (the answer to the TLS handshake was not TLS)")


@pytest.mark.parametrize("exc", [
    wrapped(requests.exceptions.SSLError, tls_failure("SSLV3_ALERT_HANDSHAKE_FAILURE")),
    # nothing wrapped says more: the wrappers' own kind decides
    requests.exceptions.SSLError("handshake"),
    urllib3.exceptions.SSLError("handshake"),
], ids=["openssl", "requests", "urllib3"])
def test_any_other_handshake_failure_is_a_tls_error(exc):
    expect(classify(exc), TlsError, "TLS verification of events.1password.com failed; check the CA bundle setting, "
                                    "or the proxy's TLS inspection certificate (the TLS handshake failed)")


@pytest.mark.parametrize("cause", [ssl.SSLEOFError(8, "EOF occurred"), ssl.SSLZeroReturnError(6, "closed"),
                                   http.client.RemoteDisconnected("closed"), http.client.IncompleteRead(b"{"),
                                   ConnectionAbortedError(errno.ECONNABORTED, "aborted"),
                                   BrokenPipeError(errno.EPIPE, "broken pipe")])
def test_a_connection_closed_before_the_answer_is_told_apart_from_one_closed_during_it(cause):
    expect(classify(wrapped(requests.exceptions.ConnectionError, cause)), TransportError,
           "cannot reach events.1password.com (the server closed the connection without answering)")
    expect(classify(wrapped(requests.exceptions.ConnectionError, cause), answered=True), MalformedResponseError,
           "the answer of events.1password.com was cut short "
           "(the connection closed before the whole answer arrived)")


def test_an_answer_that_is_not_http_says_so_whatever_its_words():
    expect(classify(wrapped(requests.exceptions.ConnectionError, http.client.BadStatusLine("certificate expired"))),
           TransportError, "cannot reach events.1password.com (the answer was not HTTP)")


@pytest.mark.parametrize("cause, why", [
    (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "connection refused"),
    (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "DNS lookup failed"),
    (OSError(errno.ENETUNREACH, "unreachable"), "network unreachable"),
    (OSError(errno.EHOSTUNREACH, "no route"), "no route to host"),
])
def test_a_host_never_reached_is_unreachable_with_advice(cause, why):
    expect(classify(wrapped(requests.exceptions.ConnectionError, cause)), HostUnreachableError,
           "cannot reach events.1password.com: check the region or URL, and that this host may connect to it "
           f"(firewall, outbound HTTPS, or a proxy on the Proxy tab) ({why})")


def test_a_connection_that_urllib3_could_not_open_is_unreachable_not_timed_out():
    # urllib3 1.26's NewConnectionError is a ConnectTimeoutError: what it wraps decides
    cause = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection")
    cause.__cause__ = ConnectionRefusedError(errno.ECONNREFUSED, "refused")
    error = classify(wrapped(requests.exceptions.ConnectionError, cause))
    assert type(error) is HostUnreachableError and error.detail == "connection refused"
    error = classify(wrapped(requests.exceptions.ConnectionError,
                            urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection")))
    assert type(error) is TransportError and error.detail == "request failed (ConnectionError)"


def test_a_reset_connection_is_a_retryable_transport_error_not_unreachable():
    expect(classify(wrapped(requests.exceptions.ConnectionError, ConnectionResetError(errno.ECONNRESET, "reset"))),
           TransportError, "cannot reach events.1password.com (connection reset)")


def test_a_refusal_after_the_answer_began_is_not_called_unreachable():
    error = classify(wrapped(requests.exceptions.ConnectionError, ConnectionRefusedError(errno.ECONNREFUSED, "x")),
                     answered=True)
    expect(error, TransportError, "cannot reach events.1password.com (connection refused)")


@pytest.mark.parametrize("exc", [
    wrapped(requests.exceptions.ConnectTimeout, socket.timeout("timed out")),
    wrapped(requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError(None, "connect timed out")),
    requests.exceptions.ConnectTimeout("connect timed out"),
], ids=["socket", "urllib3", "requests"])
def test_a_connect_timeout_names_the_connect_timeout(exc):
    expect(classify(exc), TransportError, "timed out connecting to events.1password.com after 3s (timed out)")


@pytest.mark.parametrize("exc", [
    wrapped(requests.exceptions.ReadTimeout, socket.timeout("timed out")),
    wrapped(requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError(None, URL, "read timed out")),
    wrapped(requests.exceptions.ConnectionError, TimeoutError(errno.ETIMEDOUT, "timed out")),
    requests.exceptions.ReadTimeout("read timed out"),
], ids=["socket", "urllib3", "errno", "requests"])
def test_a_read_timeout_names_the_read_timeout(exc):
    expect(classify(exc), TransportError, "events.1password.com did not answer within 7s (timed out)")


def test_a_connect_timeout_after_the_answer_began_is_a_read_timeout():
    expect(classify(wrapped(requests.exceptions.ConnectTimeout, socket.timeout("timed out")), answered=True),
           TransportError, "events.1password.com did not answer within 7s (timed out)")


def test_a_failure_nothing_explains_names_the_exception_type():
    expect(classify(requests.exceptions.ConnectionError("something odd")), TransportError,
           "cannot reach events.1password.com (request failed (ConnectionError))")


PROXY_ADVICE = ("could not reach events.1password.com through the proxy proxy.corp:3128; check the proxy's host, "
                "port, type and credentials on the Proxy tab (or --proxy) ({})")


@pytest.mark.parametrize("exc, kind, why", [
    (wrapped(requests.exceptions.ProxyError, ConnectionRefusedError(errno.ECONNREFUSED, "refused")),
     ProxyUnreachableError, "connection refused"),
    (wrapped(requests.exceptions.ProxyError, ConnectionResetError(errno.ECONNRESET, "reset")), ProxyError,
     "connection reset"),
    (urllib3.exceptions.ProxyError("Cannot connect to proxy.", ConnectionRefusedError(errno.ECONNREFUSED, "x")),
     ProxyUnreachableError, "connection refused"),
    # PySocks: the socket error it met is its `socket_err`, not a cause
    (socks.ProxyConnectionError("Error connecting to SOCKS5 proxy",
                                socket_err=socket.gaierror(socket.EAI_NONAME, "unknown")),
     ProxyUnreachableError, "DNS lookup failed"),
    (socks.GeneralProxyError("Socket error", socket_err=socket.timeout("timed out")), ProxyError, "timed out"),
], ids=["requests-refused", "requests-reset", "urllib3", "socks-dns", "socks-timeout"])
def test_a_failure_through_the_proxy_blames_the_proxy(exc, kind, why):
    expect(classify(exc, proxy=PROXY), kind, PROXY_ADVICE.format(why))


def test_a_refusal_after_the_proxy_answered_is_not_called_unreachable():
    exc = wrapped(requests.exceptions.ProxyError, ConnectionRefusedError(errno.ECONNREFUSED, "refused"))
    assert type(classify(exc, answered=True, proxy=PROXY)) is ProxyError


def test_without_pysocks_loaded_a_proxy_failure_is_still_told(monkeypatch):
    monkeypatch.delitem(sys.modules, "socks")  # the add-on imports PySocks only for a socks proxy
    exc = wrapped(requests.exceptions.ProxyError, ConnectionResetError(errno.ECONNRESET, "reset"))
    expect(classify(exc, proxy=PROXY), ProxyError, PROXY_ADVICE.format("connection reset"))


def test_a_proxy_failure_without_a_proxy_configured_is_not_blamed_on_a_proxy():
    exc = wrapped(requests.exceptions.ProxyError, ConnectionRefusedError(errno.ECONNREFUSED, "refused"))
    assert type(classify(exc, proxy=None)) is HostUnreachableError


@pytest.mark.parametrize("link", ["cause", "context", "reason", "argument"])
def test_the_cause_is_found_however_it_was_wrapped(link):
    inner = ConnectionRefusedError(errno.ECONNREFUSED, "refused")
    if link == "argument":  # requests: ConnectionError(MaxRetryError) without raise-from
        outer = requests.exceptions.ConnectionError(inner)
    else:
        outer = requests.exceptions.ConnectionError("failed")
        setattr(outer, {"cause": "__cause__", "context": "__context__", "reason": "reason"}[link], inner)
    assert classify(outer).detail == "connection refused"


def test_a_cause_deep_in_a_long_chain_of_raise_from_is_found():
    # each `raise ... from e` inside `except e` makes e both the cause and the context
    exc = ConnectionRefusedError(errno.ECONNREFUSED, "refused")
    for depth in range(8):
        try:
            try:
                raise exc
            except OSError as inner:
                raise OSError(f"level {depth}") from inner
        except OSError as outer:
            exc = outer
    assert classify(exc).detail == "connection refused"


def test_a_cause_beside_an_uninformative_one_is_still_found():
    # raised from a wrapper that says nothing, carrying the socket error as its argument
    outer = requests.exceptions.ConnectionError(ConnectionRefusedError(errno.ECONNREFUSED, "refused"))
    outer.__cause__ = RuntimeError("adapter failed")
    assert classify(outer).detail == "connection refused"


def test_an_exception_chain_that_loops_is_classified_once():
    first, second = OSError("first"), OSError("second")
    first.__context__, second.__context__ = second, first
    expect(classify(first), TransportError, "cannot reach events.1password.com (request failed (OSError))")


def test_the_innermost_cause_that_says_something_wins_over_its_wrappers():
    # the outer SSLError says only "handshake failed"; the verify code inside says which
    exc = wrapped(requests.exceptions.SSLError, verify_failure(10))
    assert classify(exc).detail == "certificate verification failed: the certificate has expired"


def test_an_answer_that_never_finished_within_the_deadline_says_so():
    error = deadline_error(HOST, 10.4)
    expect(error, TransportError, "events.1password.com did not send its whole answer within 10s "
                                  "(the request's total deadline passed while the answer was still arriving)")


# -- statuses ------------------------------------------------------------------------------
REDACTOR = Redactor(TOKEN)


def answer(status, body=b"", headers=None):
    return status_error(HOST, status, body, headers or {}, REDACTOR)


@pytest.mark.parametrize("status, kind, text", [
    (401, AuthError, "the token is invalid, expired or revoked (HTTP 401); issue a new Events Reporting token "
                     "in 1Password and update the account"),
    (403, FeatureNotGrantedError, "the token may not read this data (HTTP 403)"),
    (400, BadRequestError, "events.1password.com refused the request (HTTP 400)"),
    (404, ConfigurationError, "events.1password.com has no such endpoint (HTTP 404); check the region or custom URL"),
    (429, RateLimitError, "rate limited by events.1password.com (HTTP 429)"),
    (500, ServerError, "events.1password.com had a server error (HTTP 500)"),
    (503, ServerError, "events.1password.com had a server error (HTTP 503)"),
    (499, EventsApiError, "unexpected answer from events.1password.com (HTTP 499)"),
    (204, EventsApiError, "unexpected answer from events.1password.com (HTTP 204)"),
    (418, EventsApiError, "unexpected answer from events.1password.com (HTTP 418)"),
])
def test_every_status_is_the_error_its_documented_meaning_asks_for(status, kind, text):
    error = answer(status)
    assert type(error) is kind and error.status == status
    assert error.message == text and error.detail is None


@pytest.mark.parametrize("status", [300, 301, 308, 399])
def test_a_redirect_is_refused_as_a_configuration_error(status):
    error = answer(status, b'{"message":"moved"}', {"Location": "https://elsewhere.example/"})
    assert type(error) is ConfigurationError and error.status == status
    assert str(error) == (f"events.1password.com answered with a redirect (HTTP {status}), which the Events API "
                          "never sends; redirects are not followed: check the region or custom URL")


@pytest.mark.parametrize("body, detail", [
    (b'{"Error":{"Message":"Unauthorized"}}', "API message: 'Unauthorized'"),
    (b'{"status":401,"message":"token revoked"}', "API message: 'token revoked'"),
    (b'{"Error":"not the documented shape","message":"the other shape"}', "API message: 'the other shape'"),
    (b'{"Error":{"Message":42}}', None),
    (b'{"message":["not", "text"]}', None),
    (b'["Unauthorized"]', None),
    (b"<html><body>Unauthorized</body></html>", None),
    (b"[" * 100_000, None),  # nested deeper than the JSON parser goes
    (b'{"message":"bad \xff cursor"}', "API message: 'bad cursor'"),  # not UTF-8: still read
    (b"", None),
])
def test_only_a_documented_error_body_becomes_the_detail(body, detail):
    error = answer(401, body)
    assert type(error) is AuthError and error.detail == detail


def test_an_echoed_token_in_the_api_message_is_masked():
    error = answer(400, b'{"message":"bad token %s"}' % TOKEN.encode())
    assert TOKEN not in str(error) and error.detail == "API message: 'bad token ***'"


def test_api_message_reads_both_documented_shapes_and_nothing_else():
    assert api_message('{"Error":{"Message":"Unauthorized"}}') == "Unauthorized"
    assert api_message('{"status":400,"message":"invalid cursor"}') == "invalid cursor"
    assert api_message('{"error":{"message":"a stranger\'s shape"}}') is None
    assert api_message("not json") is None


def test_a_429_carries_the_wait_its_retry_after_asks_for():
    assert answer(429, headers={"Retry-After": "7"}).retry_after == 7.0
    assert answer(429).retry_after is None


@pytest.mark.parametrize("value, seconds", [
    ("7", 7.0), (" 120 ", 120.0), ("0", 0.0), ("999999999", 999999999.0),
    ("1234567890", None),  # ten digits: not a delay a server means
    ("-5", None), ("1.5", None), ("soon", None), ("", None), (None, None), ("٣", None),
])
def test_retry_after_in_seconds_is_taken_only_when_sane(value, seconds):
    assert parse_retry_after(value, now=0) == seconds


NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc).timestamp()


def test_retry_after_as_a_future_http_date_is_the_wait_until_then():
    assert parse_retry_after("Sun, 01 Mar 2026 12:00:30 GMT", now=NOW) == 30.0
    assert parse_retry_after("Sun, 01 Mar 2026 12:00:01 GMT", now=NOW + 0.75) == 0.25
    assert parse_retry_after("Sun, 01 Mar 2026 12:00:00 GMT", now=NOW) is None  # now: no wait asked
    assert parse_retry_after("Sun, 01 Mar 2026 11:59:00 GMT", now=NOW) is None  # past
    assert parse_retry_after("Sun, 01 Mar 2026 12:00:30 -0000", now=NOW) is None  # no zone: unknown instant
    assert parse_retry_after("Sun, 41 Mar 2026 12:00:30 GMT", now=NOW) is None


def test_retry_after_as_an_http_date_is_measured_from_the_clock_by_default():
    soon = datetime.now(timezone.utc).timestamp() + 3600
    wait = parse_retry_after(format_datetime(datetime.fromtimestamp(soon, timezone.utc), usegmt=True))
    assert 3590 < wait <= 3600
