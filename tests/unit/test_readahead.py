"""The read-ahead fetcher (and FetchNow, its synchronous twin) against a real socket: a stop ends a
waiting page at once, and a 200 that is not a page is asked for again under the one retry budget."""

import threading
import time

import pytest

from onepassword_events.client import RetryPolicy
from onepassword_events.errors import MalformedResponseError, StopRequested
from onepassword_events.readahead import FetchNow, ReadAhead
from test_transport import PATH, client  # the raw-socket client settings of the transport tests
from hostile_server import HostileServer, response  # noqa: E402  (tests/functional, put on the path by test_transport)


def test_read_ahead_page_returns_on_a_stop_while_its_worker_waits():
    stop = threading.Event()

    def behave(conn, request):
        server.stopped.wait(30)  # says nothing at all
        return False

    with HostileServer(behave) as server:
        fetcher = ReadAhead(client(server, read_timeout=30, stop_requested=stop.is_set), PATH)
        fetcher.request({"cursor": "x"})
        threading.Timer(0.3, stop.set).start()
        started = time.monotonic()
        with pytest.raises(StopRequested):
            fetcher.page()
        fetcher.close()
    assert time.monotonic() - started < 0.9


@pytest.mark.parametrize("fetcher_class", [FetchNow, ReadAhead])
def test_a_200_that_is_not_a_page_is_asked_for_again_under_the_one_budget(fetcher_class):
    def behave(conn, request):
        conn.sendall(response(200, "<html>not a page</html>"))

    with HostileServer(behave) as server:
        api = client(server, retry=RetryPolicy(budget=60, max_attempts=3))
        fetcher = fetcher_class(api, PATH)
        fetcher.request({"cursor": "x"})
        with pytest.raises(MalformedResponseError, match="gave up after 3 attempts"):
            fetcher.page()
        fetcher.close()
        api.close()
    assert len(server.requests) == 3



@pytest.mark.parametrize("fetcher_class", [FetchNow, ReadAhead])
def test_an_answer_that_is_not_utf8_is_asked_for_again_and_the_next_page_is_taken(fetcher_class):
    from hostile_server import page

    def behave(conn, request):
        if len(server.requests) == 1:
            conn.sendall(response(200, b'{"cursor":"\xff\xfe","has_more":false,"items":[]}'))
        else:
            conn.sendall(response(200, page("C2", [{"uuid": "U1", "timestamp": "2026-11-30T12:00:00Z"}])))

    with HostileServer(behave) as server:
        api = client(server, retry=RetryPolicy(budget=60, max_attempts=3))
        fetcher = fetcher_class(api, PATH)
        fetcher.request({"cursor": "x"})
        answered = fetcher.page()
        fetcher.close()
        api.close()
    assert answered.cursor == "C2" and [obj["uuid"] for _, obj in answered.items] == ["U1"]
    assert len(server.requests) == 2



# -- against `responses` (the Events API at the unit level) ---------------------------------------
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import responses  # noqa: E402

from onepassword_events.client import EventsApiClient  # noqa: E402
from onepassword_events.errors import AuthError  # noqa: E402
from helpers.tokens import make_token  # noqa: E402

BASE = "https://events.1password.com"
PAGE = '{"cursor":"next","has_more":false,"items":[{"uuid":"U1"}]}'


def api_client(**kwargs):
    kwargs.setdefault("sleep", lambda seconds: None)
    return EventsApiClient(BASE, make_token(), **kwargs)


@pytest.mark.parametrize("fetcher_class", [FetchNow, ReadAhead])
@responses.activate
def test_each_fetcher_sends_the_body_it_was_given_and_hands_over_its_page(fetcher_class):
    responses.add(responses.POST, BASE + PATH, body=PAGE)
    fetcher = fetcher_class(api_client(), PATH)
    fetcher.request({"cursor": "abc"})
    page = fetcher.page()
    fetcher.close()
    assert page.cursor == "next" and [obj["uuid"] for _, obj in page.items] == ["U1"]
    assert [json.loads(call.request.body) for call in responses.calls] == [{"cursor": "abc"}]


@pytest.mark.parametrize("fetcher_class", [FetchNow, ReadAhead])
@responses.activate
def test_an_error_met_by_the_worker_is_raised_by_page(fetcher_class):
    responses.add(responses.POST, BASE + PATH, status=401, body='{"Error":{"Message":"Unauthorized"}}')
    fetcher = fetcher_class(api_client(), PATH)
    fetcher.request({"cursor": "abc"})
    started = time.monotonic()
    with pytest.raises(AuthError):
        fetcher.page()
    fetcher.close()
    assert time.monotonic() - started < 1


class RetryWait:
    """A retry wait that a stop does not end (the worker is busy where no cut reaches it)."""

    def __init__(self):
        self.release = threading.Event()
        self.entered = threading.Event()

    def __call__(self, seconds):
        self.entered.set()
        self.release.wait(30)


@responses.activate
def test_page_looks_at_the_stop_flag_itself_while_the_worker_waits_to_retry():
    responses.add(responses.POST, BASE + PATH, status=503)
    wait, stop = RetryWait(), threading.Event()
    fetcher = ReadAhead(api_client(sleep=wait, stop_requested=stop.is_set), PATH)
    try:
        fetcher.request({"cursor": "abc"})
        assert wait.entered.wait(5)
        threading.Timer(0.1, stop.set).start()
        started = time.monotonic()
        with pytest.raises(StopRequested):
            fetcher.page()
        assert time.monotonic() - started < 0.6  # the flag is looked at every 0.2 s
    finally:
        wait.release.set()
        fetcher.close()


@responses.activate
def test_closing_never_waits_long_for_a_worker_it_cannot_cut():
    responses.add(responses.POST, BASE + PATH, status=503)
    wait = RetryWait()
    fetcher = ReadAhead(api_client(sleep=wait), PATH)
    fetcher.request({"cursor": "abc"})
    assert wait.entered.wait(5)
    started = time.monotonic()
    fetcher.close()
    assert time.monotonic() - started < 1.6  # a grace of 1 s, then the run goes on
    wait.release.set()


@responses.activate
def test_a_closed_read_ahead_says_so_rather_than_wait_forever():
    responses.add(responses.POST, BASE + PATH, body=PAGE)
    fetcher = ReadAhead(api_client(), PATH)
    fetcher.close()
    fetcher.request({"cursor": "abc"})
    with pytest.raises(RuntimeError) as caught:
        fetcher.page()
    assert str(caught.value) == "the read-ahead worker of /api/v2/signinattempts ended"


def test_a_process_whose_worker_is_still_waiting_to_retry_exits_at_once():
    script = (
        "import sys, threading, time\n"
        "sys.path[:0] = sys.argv[1:3]\n"
        "import responses\n"
        "from onepassword_events.client import EventsApiClient\n"
        "from onepassword_events.readahead import ReadAhead\n"
        "from helpers.tokens import make_token\n"
        "mock = responses.RequestsMock(assert_all_requests_are_fired=False)\n"
        "mock.start()\n"
        "mock.add(responses.POST, 'https://events.1password.com/api/v2/signinattempts', status=503)\n"
        "entered = threading.Event()\n"
        "def wait(seconds):\n"
        "    entered.set()\n"
        "    threading.Event().wait(60)\n"
        "fetcher = ReadAhead(EventsApiClient('https://events.1password.com', make_token(), sleep=wait),\n"
        "                    '/api/v2/signinattempts')\n"
        "fetcher.request({'cursor': 'abc'})\n"
        "entered.wait(5)\n"
        "fetcher.close()\n"
    )
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bin_dir = os.path.join(os.path.dirname(tests), "package", "bin")
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", script, bin_dir, tests], check=True, timeout=30)
    assert time.monotonic() - started < 10  # not the 60 s of the worker's wait


@pytest.mark.parametrize("fetcher_class", [FetchNow, ReadAhead])
@responses.activate
def test_pages_are_handed_over_in_the_order_asked_each_request_with_the_cursor_it_was_given(fetcher_class):
    for n in range(1, 6):
        responses.add(responses.POST, BASE + PATH, body=json.dumps(
            {"cursor": "C%d" % n, "has_more": n < 5, "items": [{"uuid": "U%d" % n}]}))
    fetcher = fetcher_class(api_client(), PATH)
    fetcher.request({"cursor": "C0"})
    handed = []
    while True:
        page = fetcher.page()
        handed.append((page.cursor, [obj["uuid"] for _, obj in page.items]))
        if not page.has_more:
            break
        fetcher.request({"cursor": page.cursor})  # read ahead, as the pager does before writing the page
    fetcher.close()
    assert handed == [("C%d" % n, ["U%d" % n]) for n in range(1, 6)]
    assert [json.loads(call.request.body)["cursor"] for call in responses.calls] == ["C%d" % n for n in range(5)]


@responses.activate
def test_a_request_not_yet_sent_when_the_read_ahead_closes_is_never_sent():
    """The pager asks for the next page and the run ends at once (a stop, a failed write):
    that request must not reach the API after the run is over."""
    responses.add(responses.POST, BASE + PATH, body=PAGE)
    fetcher = ReadAhead(api_client(), PATH)
    # the worker cannot take the request before close() does unless the interpreter switches
    # threads in between; a long switch interval rules that out, so the test never depends on luck
    interval = sys.getswitchinterval()
    sys.setswitchinterval(5)
    try:
        fetcher.request({"cursor": "abc"})
        started = time.monotonic()
        fetcher.close()
    finally:
        sys.setswitchinterval(interval)
    assert time.monotonic() - started < 1  # the worker ended at once, well within the grace
    time.sleep(0.2)
    assert len(responses.calls) == 0
