"""What an admin reads from the client: the exact refusals and error texts,
the retry log line, the request sent, the status counts of the run summary.
The Events API is faked with `responses`; everything of ours runs for real."""

import json
import logging
import os
import re
import socket
import sys
import warnings

import pytest
import requests
import responses
from urllib3.exceptions import InsecureRequestWarning

from onepassword_events.client import EventsApiClient, RetryPolicy, check_proxy_url, check_token
from onepassword_events.errors import ConfigurationError, MalformedResponseError, ServerError
from onepassword_events.errors import StopRequested, TransportError
from helpers.tokens import make_token
from helpers.wrapping import wrapped

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "functional"))
from hostile_server import HostileServer, trickle  # noqa: E402

BASE = "https://events.1password.com"
HOST = "events.1password.com"
PATH = "/api/v2/signinattempts"
URL = BASE + PATH
V2 = BASE + "/api/v2/auth/introspect"
V1 = BASE + "/api/auth/introspect"
TOKEN = make_token()
GOOD_PAGE = json.dumps({"cursor": "next", "has_more": False, "items": []})
SCHEMES_REFUSAL = (
    "the proxy URL must start with one of http://, https://, socks4://, socks4a://, socks5://, socks5h://, "
    "e.g. http://proxy.example.com:3128"
)
HOST_PORT_REFUSAL = "the proxy URL needs a host and a port, e.g. http://proxy.example.com:3128"


def first_words(error):
    """The message without the give-up's "(gave up after N attempts in Ns)"."""
    return error.message.split(" (gave up after ")[0]


def client(**kwargs):
    kwargs.setdefault("retry", RetryPolicy(max_attempts=1))
    return EventsApiClient(BASE, TOKEN, sleep=lambda seconds: None, **kwargs)


@pytest.mark.parametrize("token, message", [
    ("", "no API token is configured"),
    (TOKEN + "\n", "the token contains characters an Events Reporting token never has (it holds only letters, "
                   "digits, '-', '_' and '.'); copy it again from 1Password, without spaces, quotes or line breaks"),
])
def test_a_token_that_cannot_be_one_is_refused_with_what_to_do(token, message):
    with pytest.raises(ConfigurationError) as caught:
        check_token(token)
    assert caught.value.message == message


@pytest.mark.parametrize("scheme", ["http", "HTTPS", "socks4", "socks4a", "socks5", "socks5h"])
def test_every_proxy_scheme_requests_can_use_is_accepted(scheme):
    assert check_proxy_url(f"{scheme}://proxy.corp:3128") == "proxy.corp:3128"


@pytest.mark.parametrize("proxy, message", [
    ("ftp://proxy.corp:21", SCHEMES_REFUSAL),
    ("proxy.corp:3128", SCHEMES_REFUSAL),
    ("http://proxy.corp", HOST_PORT_REFUSAL),
    ("http://:3128", HOST_PORT_REFUSAL),
    ("http://proxy.corp:port", HOST_PORT_REFUSAL),  # urllib3 cannot parse it at all
])
def test_a_proxy_url_that_cannot_be_used_is_refused_with_an_example(proxy, message):
    with pytest.raises(ConfigurationError) as caught:
        EventsApiClient(BASE, TOKEN, proxy_url=proxy)
    assert caught.value.message == message


@responses.activate
def test_the_request_asks_for_json():
    responses.add(responses.POST, URL, body=GOOD_PAGE)
    client().fetch_page(PATH, {"cursor": "x"})
    assert responses.calls[0].request.headers["Accept"] == "application/json"


@responses.activate
def test_the_statuses_seen_are_counted_once_each_for_the_run_summary():
    responses.add(responses.POST, URL, status=503, body="{}")
    responses.add(responses.POST, URL, status=503, body="{}")
    responses.add(responses.POST, URL, body=GOOD_PAGE)
    api = client(retry=RetryPolicy(max_attempts=3))
    api.fetch_page(PATH, {"cursor": "x"})
    assert api.status_counts == {503: 2, 200: 1} and api.requests_made == 3


@responses.activate
def test_a_retry_is_logged_with_its_category_attempt_wait_path_and_message(caplog):
    responses.add(responses.POST, URL, status=503, body="{}")
    responses.add(responses.POST, URL, body=GOOD_PAGE)
    logger = logging.getLogger("test_client_messages.retry")
    api = client(retry=RetryPolicy(max_attempts=2, base_delay=1, max_delay=1), logger=logger)
    with caplog.at_level(logging.WARNING, logger=logger.name):
        api.fetch_page(PATH, {"cursor": "x"})
    [record] = caplog.records
    assert re.fullmatch(r"event=retry category=server attempt=1 delay_s=(0\.[5-9]|1\.0) path=/api/v2/signinattempts "
                        r"message='events\.1password\.com had a server error \(HTTP 503\)'", record.getMessage())


@pytest.mark.parametrize("body, headers, message", [
    (b"\xff\xfe not utf-8", {}, f"the answer of {HOST} is not UTF-8"),
    (b"\x00\x01", {"Content-Encoding": "br"}, f"{HOST} answered in a content encoding that was not asked for"),
    (b'{"cursor": 1}', {}, f"{HOST} sent an answer that is not a valid Events API page"),
])
@responses.activate
def test_an_answer_that_is_no_page_says_why(body, headers, message):
    responses.add(responses.POST, URL, body=body, headers=headers)
    with pytest.raises(MalformedResponseError) as caught:
        client().fetch_page(PATH, {"cursor": "x"})
    assert first_words(caught.value) == message


@responses.activate
def test_an_answer_beyond_the_cap_names_the_cap_in_megabytes():
    responses.add(responses.POST, URL, body=b"[" * (3 * 1024 * 1024 + 1))
    with pytest.raises(MalformedResponseError) as caught:
        client(max_body_bytes=3 * 1024 * 1024).fetch_page(PATH, {"cursor": "x"})
    assert first_words(caught.value) == f"the answer of {HOST} is larger than 3 MB, far beyond an Events API page"


@pytest.mark.parametrize("body, message", [
    ("not json", f"the introspect answer of {HOST} is not JSON"),
    ("[1, 2]", f"the introspect answer of {HOST} is not a JSON object"),
])
@responses.activate
def test_an_introspect_answer_that_is_no_object_says_so(body, message):
    responses.add(responses.GET, V2, body=body)
    with pytest.raises(MalformedResponseError) as caught:
        client().introspect()
    assert caught.value.message == message


@responses.activate
def test_the_v1_introspect_fields_are_read():
    responses.add(responses.GET, V2, status=404, body="404 page not found")
    responses.add(responses.GET, V1, json={"UUID": "T", "IssuedAt": "2026-01-01T00:00:00Z",
                                           "AccountUUID": "ACC", "Features": ["itemusages"]})
    assert client().introspect() == {"features": ["itemusages"], "account_uuid": "ACC",
                                     "issued_at": "2026-01-01T00:00:00Z", "uuid": "T"}
    assert [call.request.method for call in responses.calls] == ["GET", "GET"]


@responses.activate
def test_granted_features_ask_introspect_when_the_token_does_not_list_them():
    responses.add(responses.GET, V2, json={"features": ["auditevents"]})
    api = EventsApiClient(BASE, make_token(features=None), sleep=lambda seconds: None)
    assert api.granted_features() == ["auditevents"]


@pytest.mark.parametrize("length, kept", [(64, True), (65, False)])
@responses.activate
def test_an_introspect_identifier_is_kept_up_to_64_characters(length, kept):
    uuid = "U" * length
    responses.add(responses.GET, V2, json={"uuid": uuid, "account_uuid": uuid, "issued_at": uuid, "features": []})
    info = client().introspect()
    expected = uuid if kept else None
    assert (info["uuid"], info["account_uuid"], info["issued_at"]) == (expected, expected, expected)


@responses.activate
def test_a_v2_redirect_is_not_taken_for_a_missing_v2_endpoint():
    responses.add(responses.GET, V2, status=308, headers={"Location": V1})
    with pytest.raises(ConfigurationError, match="redirect"):
        client().introspect()
    assert [call.request.url for call in responses.calls] == [V2]


@responses.activate
def test_a_v1_introspect_missing_after_a_retry_is_not_asked_for_again():
    responses.add(responses.GET, V2, status=404, body="404 page not found")
    responses.add(responses.GET, V1, status=503, body="{}")
    responses.add(responses.GET, V1, status=404, body="404 page not found")
    with pytest.raises(ConfigurationError, match="HTTP 404"):
        client(retry=RetryPolicy(max_attempts=3)).introspect()
    assert [call.request.url for call in responses.calls] == [V2, V1, V1]


def test_insecure_mode_silences_urllib3s_per_request_warning_and_only_it():
    with warnings.catch_warnings(record=True) as seen:
        EventsApiClient(BASE, TOKEN)
        warnings.warn("verified", InsecureRequestWarning)
        assert len(seen) == 1
        EventsApiClient(BASE, TOKEN, verify_tls=False)
        warnings.warn("unverified request", InsecureRequestWarning)
        assert len(seen) == 1


@responses.activate
def test_a_read_timeout_names_the_default_60_seconds_and_a_connect_timeout_10():
    responses.add(responses.POST, URL, body=wrapped(requests.exceptions.ReadTimeout, socket.timeout()))
    responses.add(responses.POST, URL, body=wrapped(requests.exceptions.ConnectTimeout, socket.timeout()))
    api = client()
    with pytest.raises(Exception) as read:
        api.fetch_page(PATH, {"cursor": "x"})
    with pytest.raises(Exception) as connect:
        api.fetch_page(PATH, {"cursor": "x"})
    assert first_words(read.value) == f"{HOST} did not answer within 60s"
    assert first_words(connect.value) == f"timed out connecting to {HOST} after 10s"


def trickling(conn, request):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
    trickle(conn, b"[" * 100, trickling.stopped, interval=0.1)
    return False


def socket_client(server, **kwargs):
    return EventsApiClient(server.url, TOKEN, sleep=lambda seconds: None, retry=RetryPolicy(budget=0, max_attempts=1),
                           connect_timeout=0.5, read_timeout=0.5, **kwargs)


def test_a_stop_during_a_request_says_it_is_sent_again_next_run():
    with HostileServer(trickling) as server:
        trickling.stopped = server.stopped
        with socket_client(server, stop_requested=lambda: True) as api, pytest.raises(StopRequested) as caught:
            api.fetch_page(PATH, {"cursor": "x"})
    assert str(caught.value) == "stop requested while a request was under way; it is sent again next run"


def test_an_answer_still_arriving_at_the_deadline_names_the_attempts_seconds():
    with HostileServer(trickling) as server:
        trickling.stopped = server.stopped
        with socket_client(server) as api, pytest.raises(TransportError) as caught:
            api.fetch_page(PATH, {"cursor": "x"})
    host = server.url.split("://", 1)[1]
    assert first_words(caught.value) == f"{host} did not send its whole answer within 1s"


def test_an_answer_shorter_than_declared_is_cut_short():
    def short(conn, request):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{}")
        return False

    with HostileServer(short) as server, socket_client(server) as api, pytest.raises(MalformedResponseError) as caught:
        api.fetch_page(PATH, {"cursor": "x"})
    host = server.url.split("://", 1)[1]
    assert first_words(caught.value) == f"the answer of {host} was cut short"
    assert caught.value.detail == "the connection closed before the whole answer arrived"
