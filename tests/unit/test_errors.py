"""What an error tells the admin: the label and category a log record carries (each one a row of the
README's troubleshooting table, each label one solnlib writes), its message and detail."""

import inspect
import logging
import os

import pytest
from solnlib import log as solnlib_log

from onepassword_events import errors
from onepassword_events.checkpoint import CheckpointError
from onepassword_events.records import error_fields

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ERROR_CLASSES = [cls for _, cls in inspect.getmembers(errors, inspect.isclass)
                 if issubclass(cls, errors.CollectorError)] + [CheckpointError]


def _readme_error_rows():
    """(label, category) of each row of the README's troubleshooting table."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("| error (`label` / `category`)"))
    rows = set()
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        first = line.split("|")[1].strip()
        label, _, category = first.rpartition(" / ")
        category = category.strip("`")
        rows.add((label or category, category))
    return rows


def _solnlib_labels():
    """The labels solnlib's error writers (log_authentication_error and the like) log under."""
    labels = set()

    class Catch(logging.Handler):
        def emit(self, record):
            labels.add(record.getMessage().split('"')[1])

    logger = logging.getLogger("test_errors.solnlib")
    logger.addHandler(Catch())
    for name in dir(solnlib_log):
        if name.startswith("log_") and name.endswith("_error"):
            getattr(solnlib_log, name)(logger, Exception("x"), full_msg=False)
    return labels


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_each_error_is_logged_under_a_label_and_category_the_readme_explains(cls):
    fields = error_fields(cls("what went wrong"))
    assert (fields["label"], fields["category"]) in _readme_error_rows()
    # a label is one of solnlib's, or (no solnlib writer for it) the category itself
    assert fields["label"] in _solnlib_labels() | {fields["category"], "Checkpoint Error"}


def test_the_message_comes_with_the_servers_sanitised_detail_only_when_there_is_one():
    assert str(errors.ServerError("the server failed (HTTP 503)", status=503)) == "the server failed (HTTP 503)"
    failed = errors.ServerError("the server failed (HTTP 503)", status=503, detail="API message: 'maintenance'")
    assert str(failed) == "the server failed (HTTP 503) (API message: 'maintenance')"
    assert error_fields(failed)["message"] == "the server failed (HTTP 503) (API message: 'maintenance')"


def test_an_error_given_up_on_keeps_its_kind_status_and_detail_under_its_new_message():
    first = errors.RateLimitError("rate limited (HTTP 429)", retry_after=30, detail="API message: 'slow down'")
    given_up = first.with_message("rate limited (HTTP 429) after 5 attempts in 300 s")
    assert isinstance(given_up, errors.RateLimitError)
    assert (given_up.status, given_up.retry_after, given_up.detail) == (429, 30, "API message: 'slow down'")
    assert str(given_up) == "rate limited (HTTP 429) after 5 attempts in 300 s (API message: 'slow down')"
    assert str(first) == "rate limited (HTTP 429) (API message: 'slow down')"  # the raised error is not changed
    assert error_fields(given_up)["label"] == "Server Error"


def _client(**kwargs):
    from onepassword_events.client import EventsApiClient, RetryPolicy
    from helpers.tokens import make_token

    return EventsApiClient("https://events.1password.com", make_token(), sleep=lambda s: None,
                           retry=RetryPolicy(max_attempts=10), **kwargs)


PAGE = '{"cursor": "c1", "has_more": false, "items": [{"uuid": "A", "timestamp": "2026-03-04T15:12:09Z"}]}'
URL = "https://events.1password.com/api/v2/signinattempts"


def test_an_answer_that_is_no_page_is_asked_for_again():
    import responses

    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, body='{"cursor": "c1", "has_more": fal')
        rsps.add(responses.POST, URL, body=PAGE)
        with _client() as client:
            page = client.fetch_page("/api/v2/signinattempts", {"limit": 10, "start_time": "2026-03-04T00:00:00Z"})
        assert [raw for raw, _ in page.items] == ['{"uuid": "A", "timestamp": "2026-03-04T15:12:09Z"}']
        assert len(rsps.calls) == 2


def test_a_proxy_that_fails_once_is_tried_again():
    import requests
    import responses

    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, body=requests.exceptions.ProxyError("the proxy answered 502"))
        rsps.add(responses.POST, URL, body=PAGE)
        with _client(proxy_url="http://proxy.corp.example:3128") as client:
            page = client.fetch_page("/api/v2/signinattempts", {"limit": 10, "start_time": "2026-03-04T00:00:00Z"})
        assert [raw for raw, _ in page.items] == ['{"uuid": "A", "timestamp": "2026-03-04T15:12:09Z"}']
        assert len(rsps.calls) == 2


def test_a_proxy_that_refuses_connections_is_given_up_on_after_three_attempts():
    import requests
    import responses
    from urllib3.exceptions import NewConnectionError, ProxyError as Urllib3ProxyError

    refused = ConnectionRefusedError(111, "Connection refused")
    cause = Urllib3ProxyError("Unable to connect to proxy", NewConnectionError(None, "refused"))
    cause.__cause__ = refused
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, URL, body=requests.exceptions.ProxyError(cause))
        with _client(proxy_url="http://proxy.corp.example:3128") as client:
            with pytest.raises(errors.ProxyUnreachableError) as failed:
                client.fetch_page("/api/v2/signinattempts", {"limit": 10, "start_time": "2026-03-04T00:00:00Z"})
        assert len(rsps.calls) == 3
    assert error_fields(failed.value)["label"] == "Connection Error"
