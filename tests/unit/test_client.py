import errno
import http.client
import json
import os
import socket
import ssl

import pytest
import requests
import responses

from onepassword_events.client import EventsApiClient, RetryPolicy
from onepassword_events.errors import (
    AuthError,
    BadRequestError,
    ConfigurationError,
    FeatureNotGrantedError,
    HostUnreachableError,
    MalformedResponseError,
    ProxyError,
    RateLimitError,
    ServerError,
    TlsError,
    TransportError,
)
from helpers.wrapping import wrapped
from helpers.tokens import make_token

BASE = "https://events.1password.com"
URL = BASE + "/api/v2/signinattempts"
TOKEN = make_token()
GOOD_PAGE = json.dumps({"cursor": "next", "has_more": False, "items": [{"uuid": "U1"}]})


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


def verify_failure(code):
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_code = code
    return error


with open(os.path.join(os.path.dirname(__file__), "..", "..", "globalConfig.json"), encoding="utf-8") as _config:
    SHIPPED_VERSION = json.load(_config)["meta"]["version"]


def client(sleeps=None, **kwargs):
    return EventsApiClient(BASE, TOKEN, sleep=sleeps if sleeps is not None else Sleeps(), **kwargs)


@responses.activate
def test_sends_bearer_token_json_body_and_user_agent():
    responses.add(responses.POST, URL, body=GOOD_PAGE)
    page = client().fetch_page("/api/v2/signinattempts", {"limit": 1000, "start_time": "2026-01-01T00:00:00Z"})
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == "Bearer " + TOKEN
    assert sent.headers["Content-Type"] == "application/json"
    # the add-on's name and the version it ships as (UCC writes app.conf's version from globalConfig.json)
    assert sent.headers["User-Agent"] == f"TA-1password-events/{SHIPPED_VERSION}"
    assert json.loads(sent.body) == {"limit": 1000, "start_time": "2026-01-01T00:00:00Z"}
    assert page.items == [('{"uuid": "U1"}', {"uuid": "U1"})]


@responses.activate
def test_one_keep_alive_session_serves_every_request():
    responses.add(responses.POST, URL, body=GOOD_PAGE)
    api = client()
    transport = api._transport
    for _ in range(3):
        api.fetch_page("/api/v2/signinattempts", {"cursor": "x"})
    assert api._transport is transport and api.requests_made == 3


@responses.activate
def test_introspect_v2():
    responses.add(responses.GET, BASE + "/api/v2/auth/introspect",
                  json={"uuid": "T", "issued_at": "2026-01-01T00:00:00Z", "features": ["auditevents"], "account_uuid": "ACC"})
    assert client().introspect() == {"features": ["auditevents"], "account_uuid": "ACC",
                                     "issued_at": "2026-01-01T00:00:00Z", "uuid": "T"}


@responses.activate
def test_introspect_falls_back_to_the_v1_shape():
    responses.add(responses.GET, BASE + "/api/v2/auth/introspect", status=404, body="404 page not found")
    responses.add(responses.GET, BASE + "/api/auth/introspect",
                  json={"UUID": "T", "IssuedAt": "2026-01-01T00:00:00Z", "Features": ["itemusages"]})
    info = client().introspect()
    assert info["features"] == ["itemusages"] and info["uuid"] == "T" and info["account_uuid"] is None


def test_granted_features_come_from_the_token_without_a_request():
    api = EventsApiClient(BASE, make_token(features=["signinattempts"]))
    with responses.RequestsMock() as rsps:  # any request would fail: none registered
        assert api.granted_features() == ["signinattempts"]
        assert len(rsps.calls) == 0


@pytest.mark.parametrize(
    "status, body, error, words, api_message",
    [
        # the two documented error shapes (events-api.md section 9): their message is kept, as detail
        (401, '{"Error":{"Message":"Unauthorized"}}', AuthError, ["invalid, expired or revoked"], "Unauthorized"),
        (400, '{"Error":{"Message":"Bad Request"}}', BadRequestError, ["HTTP 400"], "Bad Request"),
        (400, '{"status":400,"message":"invalid cursor"}', BadRequestError, ["HTTP 400"], "invalid cursor"),
        (403, '{"status":403,"message":"forbidden feature"}', FeatureNotGrantedError, ["HTTP 403"], "forbidden feature"),
        # a plain-text 404 (a wrong URL) is not an Events API answer: nothing of it is kept
        (404, "404 page not found", ConfigurationError, ["HTTP 404", "region"], None),
    ],
)
@responses.activate
def test_errors_that_must_not_be_retried(status, body, error, words, api_message):
    responses.add(responses.POST, URL, status=status, body=body)
    sleeps = Sleeps()
    with pytest.raises(error) as caught:
        client(sleeps).fetch_page("/api/v2/signinattempts", {"cursor": "x"})
    assert len(responses.calls) == 1 and sleeps == []
    for word in words:
        assert word in caught.value.message
    # the message is ours alone; the API's own text is only in the logged form
    assert "page not found" not in str(caught.value)
    if api_message:
        assert api_message not in caught.value.message and f"'{api_message}'" in str(caught.value)
    assert TOKEN not in str(caught.value)


@responses.activate
def test_429_honours_retry_after_then_succeeds():
    responses.add(responses.POST, URL, status=429, headers={"Retry-After": "7"}, body="")
    responses.add(responses.POST, URL, body=GOOD_PAGE)
    sleeps = Sleeps()
    page = client(sleeps).fetch_page("/api/v2/signinattempts", {"cursor": "x"})
    assert page.cursor == "next"
    assert len(sleeps) == 1 and 7 <= sleeps[0] <= 7.5


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@responses.activate
def test_server_errors_back_off_exponentially_with_jitter(status):
    for _ in range(4):
        responses.add(responses.POST, URL, status=status, body="<html><h1>oops</h1></html>")
    responses.add(responses.POST, URL, body=GOOD_PAGE)
    sleeps = Sleeps()
    client(sleeps, retry=RetryPolicy(base_delay=1, max_delay=60)).fetch_page("/api/v2/signinattempts", {"cursor": "x"})
    assert len(sleeps) == 4
    for attempt, delay in enumerate(sleeps):
        assert 2 ** attempt / 2 <= delay <= 2 ** attempt


@responses.activate
def test_gives_up_within_the_time_budget_with_the_last_error():
    responses.add(responses.POST, URL, status=503, body='{"status":503,"message":"maintenance"}')
    sleeps = Sleeps()
    with pytest.raises(ServerError) as caught:
        client(sleeps, retry=RetryPolicy(budget=10, base_delay=1, max_delay=60)).fetch_page("/api/v2/signinattempts", {})
    assert sum(sleeps) <= 10
    assert "maintenance" in str(caught.value) and "gave up after" in caught.value.message


@responses.activate
def test_retry_after_longer_than_the_budget_gives_up_at_once():
    responses.add(responses.POST, URL, status=429, headers={"Retry-After": "3600"})
    sleeps = Sleeps()
    with pytest.raises(RateLimitError):
        client(sleeps, retry=RetryPolicy(budget=60)).fetch_page("/api/v2/signinattempts", {})
    assert sleeps == []


@responses.activate
def test_malformed_200_is_retried_and_never_returned_half():
    responses.add(responses.POST, URL, body='{"cursor":"c","has_more":true,"items":[{"uuid":"U1"},{"uu')
    responses.add(responses.POST, URL, body="<html>proxy error page</html>")
    responses.add(responses.POST, URL, body=GOOD_PAGE)
    page = client().fetch_page("/api/v2/signinattempts", {"cursor": "x"})
    assert [obj["uuid"] for _, obj in page.items] == ["U1"] and len(responses.calls) == 3


@responses.activate
def test_malformed_200_that_never_heals_is_a_categorized_error():
    responses.add(responses.POST, URL, body="not json")
    with pytest.raises(MalformedResponseError) as caught:
        client(retry=RetryPolicy(max_attempts=3)).fetch_page("/api/v2/signinattempts", {})
    assert caught.value.category == "malformed_response" and len(responses.calls) == 3


@pytest.mark.parametrize(
    "exception, error, words",
    [
        (wrapped(requests.exceptions.SSLError, verify_failure(18)), TlsError, ["CA bundle", "self-signed"]),
        (wrapped(requests.exceptions.SSLError, verify_failure(10)), TlsError, ["has expired"]),
        (wrapped(requests.exceptions.SSLError, verify_failure(62)), TlsError, ["another host name"]),
        (wrapped(requests.exceptions.ProxyError, OSError(errno.ECONNRESET, "x")), ProxyError,
         ["through the proxy proxy.corp:3128"]),
        (wrapped(requests.exceptions.ConnectTimeout, socket.timeout()), TransportError, ["timed out connecting"]),
        (wrapped(requests.exceptions.ReadTimeout, socket.timeout()), TransportError, ["did not answer within"]),
        (wrapped(requests.exceptions.ConnectionError, ConnectionResetError(errno.ECONNRESET, "x")), TransportError,
         ["cannot reach", "reset"]),
        # the words of a message do not decide: a garbage status line naming a TLS failure is not one
        (wrapped(requests.exceptions.ConnectionError, http.client.BadStatusLine("certificate has expired")),
         TransportError, ["not HTTP"]),
    ],
)
@responses.activate
def test_transport_failures_are_categorized(exception, error, words):
    responses.add(responses.POST, URL, body=exception)
    proxy = "http://proxy.corp:3128" if error is ProxyError else None
    with pytest.raises(error) as caught:
        client(retry=RetryPolicy(max_attempts=2), proxy_url=proxy).fetch_page("/api/v2/signinattempts", {})
    for word in words:
        assert word in str(caught.value)
    expected_calls = 2 if error.retryable else 1
    assert len(responses.calls) == expected_calls


@responses.activate
def test_proxy_credentials_never_appear_in_errors():
    proxy = "http://ops%40corp:s3cr%3At@proxy.corp:3128"
    responses.add(responses.POST, URL, body=requests.exceptions.ProxyError(
        f"Cannot connect to proxy {proxy} (ops@corp:s3cr:t)"))
    with pytest.raises(ProxyError) as caught:
        client(proxy_url=proxy, retry=RetryPolicy(max_attempts=1)).fetch_page("/api/v2/signinattempts", {})
    assert "s3cr" not in str(caught.value) and "proxy" in caught.value.message


@responses.activate
def test_environment_proxies_and_netrc_are_ignored(monkeypatch, tmp_path):
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine events.1password.com login someone password other\n")
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    responses.add(responses.POST, URL, body=GOOD_PAGE)
    client().fetch_page("/api/v2/signinattempts", {})
    assert responses.calls[0].request.headers["Authorization"] == "Bearer " + TOKEN


def test_tls_settings_reach_the_transport(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    assert EventsApiClient(BASE, TOKEN)._transport.verify is True
    assert EventsApiClient(BASE, TOKEN, ca_bundle=str(bundle))._transport.verify == str(bundle)
    assert EventsApiClient(BASE, TOKEN, verify_tls=False)._transport.verify is False


def test_refuses_to_start_without_a_token():
    with pytest.raises(ConfigurationError):
        EventsApiClient(BASE, "")


@responses.activate
def test_an_echoed_token_is_masked_before_the_message_is_cut():
    body = json.dumps({"status": 400, "message": "x" * 50 + " rejected token " + TOKEN + " " + "y" * 500})
    responses.add(responses.POST, URL, status=400, body=body)
    with pytest.raises(BadRequestError) as caught:
        client(retry=RetryPolicy(max_attempts=1)).fetch_page("/api/v2/signinattempts", {})
    logged = str(caught.value)
    assert "rejected token ***" in logged
    for part in TOKEN.split("."):
        assert part[:8] not in logged


@responses.activate
def test_an_html_error_page_is_never_shown():
    responses.add(responses.POST, URL, status=502, body="<html><body>INTERNAL-SECRET: db=10.0.0.5</body></html>")
    with pytest.raises(ServerError) as caught:
        client(retry=RetryPolicy(max_attempts=1)).fetch_page("/api/v2/signinattempts", {})
    assert "HTTP 502" in str(caught.value) and "INTERNAL" not in str(caught.value)


@responses.activate
def test_huge_json_error_messages_are_capped():
    responses.add(responses.POST, URL, status=400, json={"status": 400, "message": "m" * 100000})
    with pytest.raises(BadRequestError) as caught:
        client().fetch_page("/api/v2/signinattempts", {})
    assert len(str(caught.value)) < 300


@responses.activate
def test_a_host_that_refuses_connections_is_retried_briefly_and_said_so():
    responses.add(responses.POST, URL, body=wrapped(requests.exceptions.ConnectionError,
                                                    ConnectionRefusedError(errno.ECONNREFUSED, "refused")))
    sleeps = Sleeps()
    with pytest.raises(HostUnreachableError) as caught:
        client(sleeps).fetch_page("/api/v2/signinattempts", {})
    assert len(responses.calls) == 3 and len(sleeps) == 2  # not the 10 attempts of a 5-minute budget
    assert "gave up after 3 attempts" in caught.value.message and "connection refused" in str(caught.value)


@pytest.mark.parametrize("proxy", ["ftp://proxy:21", "proxy.corp:3128", "http://proxy.corp", "socks6://p:1"])
def test_a_proxy_url_requests_cannot_use_is_refused_up_front(proxy):
    with pytest.raises(ConfigurationError, match="proxy URL"):
        EventsApiClient(BASE, TOKEN, proxy_url=proxy)


@responses.activate
def test_a_gzip_page_is_decompressed_here():
    import gzip

    responses.add(responses.POST, URL, body=gzip.compress(GOOD_PAGE.encode()), headers={"Content-Encoding": "gzip"})
    page = client().fetch_page("/api/v2/signinattempts", {"cursor": "x"})
    assert page.cursor == "next" and [obj["uuid"] for _, obj in page.items] == ["U1"]
    assert responses.calls[0].request.headers["Accept-Encoding"] == "gzip"


@responses.activate
def test_a_body_in_an_encoding_not_asked_for_is_malformed():
    responses.add(responses.POST, URL, body=b"\x00\x01", headers={"Content-Encoding": "br"})
    with pytest.raises(MalformedResponseError, match="content encoding that was not asked for"):
        client(retry=RetryPolicy(max_attempts=1)).fetch_page("/api/v2/signinattempts", {})
