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

