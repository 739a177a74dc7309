"""Every failure the README's troubleshooting table describes is logged under the label and
category that row names (the table is what an admin searches by), and an error keeps what it
carries when a retry loop gives up and re-words it."""

import errno
import os
import re

import pytest
import requests
import responses

from onepassword_events.checkpoint import FileCheckpointStore
from onepassword_events.client import EventsApiClient, RetryPolicy
from onepassword_events.classify import status_error, transport_error
from onepassword_events.envelope import parse_page
from onepassword_events.errors import CollectorError, EventsApiError, RateLimitError, StopRequested
from onepassword_events.proxy import proxy_url
from onepassword_events.records import error_fields
from onepassword_events.redaction import Redactor
from helpers.tokens import make_token

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOST = "events.1password.com"
ROW = re.compile(r"^\| (?:(?P<label>[A-Z][A-Za-z ]+) / )?`(?P<category>[a-z_]+)` \|", re.M)


def documented_labels():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        rows = {m["category"]: m["label"] or m["category"] for m in ROW.finditer(handle.read())}
    assert len(rows) >= 10, "the README's error table was not found"
    return rows


def raised(call):
    try:
        call()
    except CollectorError as exc:
        return exc
    raise AssertionError("no error")


def checkpoint_failure(tmp_path):
    (tmp_path / "in.auditevents.json").write_text("{")
    store = FileCheckpointStore(str(tmp_path))
    try:
        return raised(lambda: store.get("in.auditevents"))
    finally:
        store.close()


@responses.activate
def not_a_page():
    responses.add(responses.POST, f"https://{HOST}/api/v2/auditevents", body="<html>proxy error</html>")
    client = EventsApiClient(f"https://{HOST}", make_token(), sleep=lambda s: None, retry=RetryPolicy(max_attempts=2))
    return raised(lambda: client.fetch_page("/api/v2/auditevents", {"cursor": "c"}))


def failures(tmp_path):
    """One failure of each row's meaning, raised by the code that meets it."""
    redactor = Redactor(make_token())

    def answered(status):
        return status_error(HOST, status, b"", {}, redactor)

    def network(cause, outer=requests.exceptions.ConnectionError, proxy=None):
        return transport_error(outer(cause), False, HOST, proxy, (10, 60))

    return {
        "a 401": (answered(401), "authentication"),
        "a 403": (answered(403), "permission"),
        "a 404": (answered(404), "configuration"),
        "bad proxy settings": (raised(lambda: proxy_url({"proxy_enabled": "1", "proxy_url": ""})), "configuration"),
        "a refused connection": (network(ConnectionRefusedError(errno.ECONNREFUSED, "refused")), "connection"),
        "a reset connection": (network(ConnectionResetError(errno.ECONNRESET, "reset")), "connection"),
        "a proxy that failed": (network(ConnectionResetError(errno.ECONNRESET, "reset"),
                                        requests.exceptions.ProxyError, "proxy:3128"), "proxy"),
        "a proxy that refused": (network(ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
                                         requests.exceptions.ProxyError, "proxy:3128"), "proxy"),
        "a failed handshake": (network(None, requests.exceptions.SSLError), "tls"),
        "a 429": (answered(429), "rate_limit"),
        "a 503": (answered(503), "server"),
        "a body that is no page": (raised(lambda: parse_page("<html>")), "malformed_response"),
        "a 200 that is never a page": (not_a_page(), "malformed_response"),
        "a 400": (answered(400), "bad_request"),
        "an unreadable checkpoint": (checkpoint_failure(tmp_path), "checkpoint"),
    }


def test_every_documented_failure_is_logged_under_its_rows_label_and_category(tmp_path):
    labels = documented_labels()
    for name, (error, category) in failures(tmp_path).items():
        fields = error_fields(error)
        assert (fields["category"], fields["label"]) == (category, labels[category]), name
        assert error.label == labels[category], name


def test_transient_failures_are_retried_and_the_admins_to_fix_are_not(tmp_path):
    retried = {name for name, (error, _) in failures(tmp_path).items() if error.retryable}
    assert retried == {"a refused connection", "a reset connection", "a proxy that failed", "a proxy that refused",
                       "a 429", "a 503", "a 200 that is never a page"}


def test_only_a_place_never_reached_is_unreachable(tmp_path):
    unreachable = {name for name, (error, _) in failures(tmp_path).items() if error.unreachable}
    assert unreachable == {"a refused connection", "a proxy that refused"}


def test_an_unexpected_status_is_an_api_error_logged_under_its_category():
    error = status_error(HOST, 418, b"", {}, Redactor(make_token()))
    assert error_fields(error)["category"] == "api_error" and error.label == "api_error"
    assert not error.retryable and not error.unreachable


def test_a_reworded_error_keeps_its_kind_status_detail_and_wait():
    error = RateLimitError("rate limited", 429, 30.0, "API message: 'slow down'")
    reworded = error.with_message("rate limited (gave up after 3 attempts in 60s)")
    assert type(reworded) is RateLimitError and reworded.category == "rate_limit"
    assert (reworded.status, reworded.retry_after, reworded.detail) == (429, 30.0, "API message: 'slow down'")
    assert str(reworded) == "rate limited (gave up after 3 attempts in 60s) (API message: 'slow down')"
    assert reworded.args == ("rate limited (gave up after 3 attempts in 60s)",)
    assert str(error) == "rate limited (API message: 'slow down')" and error.message == "rate limited"


def test_an_error_without_detail_is_its_message_alone():
    assert str(EventsApiError("cannot reach x", 503)) == "cannot reach x"
    assert str(EventsApiError("cannot reach x", 503, "")) == "cannot reach x"


def test_a_stop_is_not_an_error():
    assert not isinstance(StopRequested("asked to stop"), CollectorError)
    assert error_fields(StopRequested("asked to stop"))["category"] == "internal"
