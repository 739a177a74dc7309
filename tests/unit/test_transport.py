"""The client's invariants against a real socket, in seconds: every framing of
an answer ends by the attempt's deadline, a stop cuts at once, a short body is
never a page, one retry budget per request whoever parses, jitter, threads.

The outside world is the hostile server of the functional suite (a raw TCP
server on 127.0.0.1); everything of ours runs for real.
"""

import base64
import gzip
import os
import socket
import sys
import threading
import time

import pytest

from onepassword_events.client import EventsApiClient, RetryPolicy
from onepassword_events.errors import (AuthError, HostUnreachableError, MalformedResponseError, ProxyError, ServerError,
                                      StopRequested, TransportError)
from helpers.tokens import make_token

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "functional"))
from hostile_server import HostileServer, item, page, response, trickle  # noqa: E402

PATH = "/api/v2/signinattempts"
HEADS = {
    "close": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 100\r\n\r\n",
    "http/1.0": b"HTTP/1.0 200 OK\r\n\r\n",
    "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n",
    "keep-alive": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
    "status line": b"",
}


def client(server, **kwargs):
    kwargs.setdefault("retry", RetryPolicy(budget=0, max_attempts=1))
    kwargs.setdefault("connect_timeout", 0.5)
    kwargs.setdefault("read_timeout", 0.5)
    return EventsApiClient(server.url, make_token(), sleep=lambda s: None, **kwargs)


def trickling(head):
    def behave(conn, request):
        conn.sendall(head)
        trickle(conn, b"HTTP/1.1 200 OK\r\n" if not head else b"[" * 100, behave.stopped, interval=0.1)
        return False
    return behave


@pytest.mark.parametrize("framing", sorted(HEADS))
def test_an_attempt_ends_by_its_deadline_however_the_answer_is_framed(framing):
    behave = trickling(HEADS[framing])
    with HostileServer(behave) as server:
        behave.stopped = server.stopped
        started = time.monotonic()
        with client(server) as api, pytest.raises(TransportError, match="whole answer within"):
            api.fetch_page(PATH, {"cursor": "x"})
    assert time.monotonic() - started < 1.8  # the attempt's deadline is 1 s (connect + read timeout)


@pytest.mark.parametrize("framing", ["close", "http/1.0"])
def test_a_stop_cuts_the_attempt_in_flight_at_once(framing):
    stop = threading.Event()
    behave = trickling(HEADS[framing])
    with HostileServer(behave) as server:
        behave.stopped = server.stopped
        threading.Timer(0.3, stop.set).start()
        started = time.monotonic()
        with client(server, read_timeout=30, stop_requested=stop.is_set) as api, pytest.raises(StopRequested):
            api.fetch_page(PATH, {"cursor": "x"})
    assert time.monotonic() - started < 0.9


@pytest.mark.parametrize("declared, sent", [(500, b'{"cursor":"C","has_more":false,"items":[]}'),
                                            (10, b'{"cursor":"C","has_more":false,"items":[]}')])
def test_a_body_shorter_or_longer_than_declared_is_never_a_page(declared, sent):
    def behave(conn, request):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % declared + sent)
        return False

    with HostileServer(behave) as server, client(server) as api, pytest.raises(MalformedResponseError):
        api.fetch_page(PATH, {"cursor": "x"})


def test_the_introspect_fallback_shares_the_request_budget():
    def behave(conn, request):
        v2_answers = sum(1 for r in server.requests if r.path.startswith("/api/v2/"))
        if request.path.startswith("/api/v2/") and v2_answers <= 2:
            conn.sendall(response(503, "{}"))
        elif request.path.startswith("/api/v2/"):
            conn.sendall(response(404, "{}"))
        else:
            conn.sendall(response(503, "{}"))

    with HostileServer(behave) as server, client(server, retry=RetryPolicy(budget=60, max_attempts=4)) as api:
        with pytest.raises(ServerError, match="gave up after 4 attempts"):
            api.introspect()
    # 503, 503, 404 then v1 at once (the third attempt), and one more attempt on v1
    assert server.paths() == ["/api/v2/auth/introspect"] * 3 + ["/api/auth/introspect"] * 2


def test_the_retry_waits_are_jittered_within_their_ceiling():
    policy = RetryPolicy(base_delay=1, max_delay=60)
    for attempt, ceiling in ((0, 1), (3, 8), (10, 60)):
        delays = {policy.delay(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(delays) > 40  # full jitter: clients that failed together do not retry together


def test_the_watchdog_thread_ends_with_its_client():
    def behave(conn, request):
        conn.sendall(response(200, page("C", [])))

    with HostileServer(behave) as server:
        before = {thread.ident for thread in threading.enumerate()}
        for _ in range(20):
            with client(server) as api:
                api.fetch_page(PATH, {"cursor": "x"})
        left = [thread for thread in threading.enumerate()
                if thread.ident not in before and thread.name == "events-api-watchdog"]
    assert left == []


def test_a_ca_bundle_is_trusted_by_every_client_of_the_process_and_nothing_else(tmp_path):
    """The loaded CA bundle is shared by the clients of a process; verification is what it was."""
    from onepassword_events.errors import TlsError
    from simulator import EventsApiSimulator
    from simulator.tls import make_self_signed

    other_ca, _ = make_self_signed(str(tmp_path))
    with EventsApiSimulator(seed=3, itemusages=5, late_fraction=0, tls=True) as sim:
        path = "/api/v2/itemusages"
        body = {"limit": 10, "start_time": "2020-01-01T00:00:00Z"}
        first = EventsApiClient(sim.url, sim.token, ca_bundle=sim.cert_file, retry=RetryPolicy(max_attempts=1))
        with first, first.clone() as second:
            assert len(first.fetch_page(path, body).items) == 5 and len(second.fetch_page(path, body).items) == 5
        for ca_bundle in (other_ca, None):  # another CA, or the default bundle: the self-signed server is refused
            with EventsApiClient(sim.url, sim.token, ca_bundle=ca_bundle, retry=RetryPolicy(max_attempts=1)) as api, \
                    pytest.raises(TlsError, match="TLS verification"):
                api.fetch_page(path, body)


def test_the_default_bundle_is_certifis_and_verification_off_trusts_any_server():
    """Without a CA bundle the server is verified against the bundle requests' adapter verifies
    with (certifi's, found without importing certifi); with verification off, a self-signed
    server answers."""
    from requests.utils import DEFAULT_CA_BUNDLE_PATH

    from onepassword_events import transport
    from simulator import EventsApiSimulator

    assert transport._certifi_bundle() == DEFAULT_CA_BUNDLE_PATH
    with EventsApiSimulator(seed=3, itemusages=5, late_fraction=0, tls=True) as sim, \
            EventsApiClient(sim.url, sim.token, verify_tls=False, retry=RetryPolicy(max_attempts=1)) as api:
        assert len(api.fetch_page("/api/v2/itemusages", {"limit": 10, "start_time": "2020-01-01T00:00:00Z"}).items) == 5


# -- one connection, kept alive: sent on directly, dropped and reopened as the server says --------
def test_pages_share_one_kept_alive_connection():
    def behave(conn, request):
        conn.sendall(response(200, page("C%d" % len(server.requests), [])))

    with HostileServer(behave) as server, client(server) as api:
        cursors = [api.fetch_page(PATH, {"cursor": "x"}).cursor for _ in range(10)]
    assert cursors == ["C%d" % n for n in range(1, 11)] and server.connections == 1


def test_every_path_of_the_host_shares_the_one_kept_alive_connection():
    def behave(conn, request):
        if request.path.endswith("/introspect"):
            conn.sendall(response(200, '{"uuid":"T","issued_at":"2026-01-01T00:00:00Z","features":["auditevents"]}'))
        else:
            conn.sendall(response(200, page("C%d" % len(server.requests), [])))

    with HostileServer(behave) as server, client(server) as api:
        api.introspect()
        api.fetch_page(PATH, {"cursor": "x"})
        api.fetch_page("/api/v2/itemusages", {"cursor": "x"})
    assert server.paths() == ["/api/v2/auth/introspect", PATH, "/api/v2/itemusages"] and server.connections == 1


def test_an_answer_that_closes_its_connection_is_whole_and_the_next_request_opens_another():
    def behave(conn, request):
        body = page("C%d" % len(server.requests), []).encode()
        head = b"HTTP/1.0 200 OK\r\n\r\n" if len(server.requests) % 2 else \
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
        conn.sendall(head + body)
        return False

    with HostileServer(behave) as server, client(server) as api:
        cursors = [api.fetch_page(PATH, {"cursor": "x"}).cursor for _ in range(6)]
    assert cursors == ["C%d" % n for n in range(1, 7)] and server.connections == 6


def test_a_kept_alive_connection_the_server_dropped_is_not_used_again():
    """The server closes an idle connection between two requests (as a load balancer
    does): the next request goes out on a new connection, with no attempt lost."""
    def behave(conn, request):
        conn.sendall(response(200, page("C%d" % len(server.requests), [])))
        if len(server.requests) == 2:
            conn.shutdown(2)  # after a keep-alive answer, as an idle timeout would
            return False

    with HostileServer(behave) as server, client(server) as api:  # one attempt per request
        first, second = api.fetch_page(PATH, {"cursor": "x"}), api.fetch_page(PATH, {"cursor": "x"})
        time.sleep(0.1)
        third = api.fetch_page(PATH, {"cursor": "x"})
    assert [first.cursor, second.cursor, third.cursor] == ["C1", "C2", "C3"] and server.connections == 2


def test_after_a_cut_attempt_the_client_answers_on_a_new_connection():
    def behave(conn, request):
        if len(server.requests) == 1:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            trickle(conn, b"[" * 100, server.stopped, interval=0.1)
            return False
        conn.sendall(response(200, page("C", [])))

    with HostileServer(behave) as server, client(server) as api:
        with pytest.raises(TransportError, match="whole answer within"):
            api.fetch_page(PATH, {"cursor": "x"})
        assert api.fetch_page(PATH, {"cursor": "x"}).cursor == "C"
    assert server.connections == 2


def test_an_answer_declaring_two_lengths_is_never_a_page():
    body = page("C", []).encode()

    def behave(conn, request):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Length: 5\r\n\r\n" % len(body) + body)
        return False

    with HostileServer(behave) as server, client(server) as api, pytest.raises(TransportError):
        api.fetch_page(PATH, {"cursor": "x"})


# -- the body: its cap, its length, its encodings ----------------------------------------------------
def serving(head_and_body):
    def behave(conn, request):
        conn.sendall(head_and_body)
        return False
    return behave


def test_an_answer_declaring_more_than_64_mb_is_refused_before_its_body_is_read():
    over, at = 64 * 1024 * 1024 + 1, 64 * 1024 * 1024
    with HostileServer(serving(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % over)) as server, \
            client(server) as api, pytest.raises(MalformedResponseError, match="larger than 64 MB"):
        api.fetch_page(PATH, {"cursor": "x"})
    # at the cap exactly, the answer is read: here it ends at once, so it is cut short, not too large
    with HostileServer(serving(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % at)) as server, \
            client(server) as api, pytest.raises(MalformedResponseError, match="cut short"):
        api.fetch_page(PATH, {"cursor": "x"})


@pytest.mark.parametrize("encoding", ["identity", "gzip", "x-gzip"])
def test_a_body_exactly_at_the_cap_is_a_page_and_one_byte_more_is_refused(encoding):
    body = page("C", [item(n) for n in range(3)]).encode()
    sent = body if encoding == "identity" else gzip.compress(body)
    answer = response(200, sent, headers={"Content-Encoding": encoding})
    with HostileServer(serving(answer)) as server:
        with client(server, max_body_bytes=len(body)) as api:
            assert api.fetch_page(PATH, {"cursor": "x"}).cursor == "C"
        with client(server, max_body_bytes=len(body) - 1) as api, \
                pytest.raises(MalformedResponseError, match="larger than"):
            api.fetch_page(PATH, {"cursor": "x"})


@pytest.mark.parametrize("framing", ["length", "close"])
def test_a_gzip_answer_that_does_not_end_is_never_a_page(framing):
    body = page("C", [item(n) for n in range(3)]).encode()
    cut = gzip.compress(body)[:-8]  # the stream without its trailer
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n" + (
        b"Content-Length: %d\r\n" % len(cut) if framing == "length" else b"Connection: close\r\n")
    with HostileServer(serving(head + b"\r\n" + cut)) as server, client(server) as api, \
            pytest.raises(MalformedResponseError, match="cut short"):
        api.fetch_page(PATH, {"cursor": "x"})


def test_a_body_one_byte_shorter_than_declared_is_never_a_page():
    body = page("C", []).encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (len(body) + 1)
    with HostileServer(serving(head + body)) as server, client(server) as api, \
            pytest.raises(MalformedResponseError, match="cut short"):
        api.fetch_page(PATH, {"cursor": "x"})


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_a_page_of_many_reads_arrives_whole(encoding):
    """A page of a few hundred kilobytes comes in many reads (and inflated pieces): every one is kept."""
    items = [item(n, details="x" * 500) for n in range(600)]
    body = page("C", items).encode()
    assert len(body) > 4 * 64 * 1024
    sent = body if encoding == "identity" else gzip.compress(body)
    with HostileServer(serving(response(200, sent, headers={"Content-Encoding": encoding}))) as server, \
            client(server) as api:
        assert [decoded for _, decoded in api.fetch_page(PATH, {"cursor": "x"}).items] == items


def test_an_answer_in_an_encoding_not_asked_for_is_never_a_page():
    with HostileServer(serving(response(200, page("C", []), headers={"Content-Encoding": "br"}))) as server, \
            client(server) as api, pytest.raises(MalformedResponseError, match="content encoding"):
        api.fetch_page(PATH, {"cursor": "x"})


# -- the request as sent -------------------------------------------------------------------------------
def test_a_page_request_carries_its_json_with_its_type_and_length_and_nothing_else():
    def behave(conn, request):
        conn.sendall(response(200, page("C", [])))

    with HostileServer(behave) as server, client(server) as api:
        api.fetch_page(PATH, {"cursor": "x"})
    sent = server.requests[0]
    assert sorted(sent.headers) == ["accept", "accept-encoding", "authorization", "content-length",
                                    "content-type", "host", "user-agent"]
    assert sent.headers["content-type"] == "application/json" and sent.body == '{"cursor":"x"}'
    assert sent.headers["content-length"] == str(len(sent.body))


# -- timeouts, deadlines and stops -------------------------------------------------------------------
def a_port_nothing_listens_on():
    with socket.socket() as bound:  # bound, never listening: a connection to it is refused
        bound.bind(("127.0.0.1", 0))
        return bound.getsockname()[1]


def test_nothing_listening_is_connection_refused():
    url = "http://127.0.0.1:%d" % a_port_nothing_listens_on()
    with EventsApiClient(url, make_token(), sleep=lambda s: None, retry=RetryPolicy(budget=0, max_attempts=1)) \
            as api, pytest.raises(HostUnreachableError, match="cannot reach") as caught:
        api.fetch_page(PATH, {"cursor": "x"})
    assert caught.value.detail == "connection refused"


def test_the_read_timeout_not_the_connect_timeout_bounds_the_wait_for_an_answer():
    def behave(conn, request):
        time.sleep(0.6)
        conn.sendall(response(200, page("C", [])))

    with HostileServer(behave) as server, client(server, connect_timeout=0.2, read_timeout=3) as api:
        assert api.fetch_page(PATH, {"cursor": "x"}).cursor == "C"


def test_every_attempt_of_a_client_keeps_its_deadline_not_only_the_first():
    def behave(conn, request):
        if len(server.requests) % 2:
            conn.sendall(response(200, page("C", [])))
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        trickle(conn, b"[" * 100, server.stopped, interval=0.1)
        return False

    with HostileServer(behave) as server, client(server) as api:
        for _ in range(2):
            assert api.fetch_page(PATH, {"cursor": "x"}).cursor == "C"
            time.sleep(0.3)  # the watchdog looks again while no attempt is under way
            started = time.monotonic()
            with pytest.raises(TransportError, match="whole answer within"):
                api.fetch_page(PATH, {"cursor": "x"})
            assert time.monotonic() - started < 1.8


def test_a_deadline_shorter_than_the_watchdog_tick_is_kept():
    """The watchdog sleeps until the deadline when it comes before its next look (a tick, 0.2 s)."""
    def behave(conn, request):
        conn.sendall(HEADS["keep-alive"])
        trickle(conn, b"[" * 100, server.stopped, interval=0.02)  # well inside the 0.1 s read timeout
        return False

    cut_after = []
    with HostileServer(behave) as server:
        for _ in range(5):  # a loaded machine may delay the trickle past the read timeout now and then
            with client(server, connect_timeout=0.02, read_timeout=0.1) as api:
                started = time.monotonic()
                with pytest.raises(TransportError) as caught:
                    api.fetch_page(PATH, {"cursor": "x"})
                if "whole answer within" in str(caught.value):
                    cut_after.append(time.monotonic() - started)
    assert cut_after and min(cut_after) < 0.17, cut_after  # the deadline is 0.12 s


def test_abort_from_another_thread_cuts_the_request_in_flight_as_a_stop():
    behave = trickling(HEADS["keep-alive"])
    with HostileServer(behave) as server:
        behave.stopped = server.stopped
        with client(server, read_timeout=30) as api:
            threading.Timer(0.3, api.abort).start()
            started = time.monotonic()
            with pytest.raises(StopRequested):
                api.fetch_page(PATH, {"cursor": "x"})
            assert time.monotonic() - started < 0.9


def test_a_client_has_one_watchdog_thread_while_open_and_none_once_closed():
    def behave(conn, request):
        conn.sendall(response(200, page("C", [])))

    def watchdogs():
        return [t for t in threading.enumerate() if t.name == "events-api-watchdog" and t.ident not in before]

    with HostileServer(behave) as server:
        before = {thread.ident for thread in threading.enumerate()}
        api = client(server)
        for _ in range(5):
            api.fetch_page(PATH, {"cursor": "x"})
        assert len(watchdogs()) == 1
        api.close()
        assert watchdogs() == []


def test_a_closed_client_leaves_no_descriptor_open():
    def behave(conn, request):
        conn.sendall(response(200, page("C", [])))

    def descriptors():
        return len(os.listdir("/proc/self/fd"))

    with HostileServer(behave) as server:
        with client(server) as api:
            api.fetch_page(PATH, {"cursor": "x"})
        before = descriptors()
        for _ in range(10):
            with client(server) as api:
                api.fetch_page(PATH, {"cursor": "x"})
        time.sleep(0.1)  # the server's side of each connection closes too
        assert descriptors() <= before


# -- through a proxy: requests' adapter makes the connection --------------------------------------------
def proxied_client(base_url, proxy_url, **kwargs):
    kwargs.setdefault("retry", RetryPolicy(budget=0, max_attempts=1))
    kwargs.setdefault("connect_timeout", 0.5)
    kwargs.setdefault("read_timeout", 0.5)
    return EventsApiClient(base_url, make_token(), proxy_url=proxy_url, sleep=lambda s: None, **kwargs)


def test_a_page_through_an_http_proxy_is_asked_for_by_its_absolute_url_with_the_proxy_credentials():
    def behave(conn, request):
        conn.sendall(response(200, page("C", [])))

    with HostileServer(behave) as proxy, \
            proxied_client("http://events.example", "http://agent:s3cret@127.0.0.1:%d" % proxy.port) as api:
        assert api.fetch_page(PATH, {"cursor": "x"}).cursor == "C"
    sent = proxy.requests[0]
    assert sent.path == "http://events.example" + PATH and sent.headers["proxy-authorization"] == \
        "Basic " + base64.b64encode(b"agent:s3cret").decode()


def test_an_https_page_through_an_http_proxy_is_tunnelled_with_connect():
    def behave(conn, request):
        conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        return False

    with HostileServer(behave) as proxy, \
            proxied_client("https://events.example", "http://127.0.0.1:%d" % proxy.port) as api, \
            pytest.raises(ProxyError, match="through the proxy"):
        api.fetch_page(PATH, {"cursor": "x"})
    assert [(r.method, r.path) for r in proxy.requests] == [("CONNECT", "events.example:443")]


def socks5_proxy(seen):
    """A SOCKS5 proxy asking for a user name and password, and then the Events API itself
    on the tunnelled connection: `seen` gets the credentials and the target it was asked for."""
    def read(conn, size):
        data = b""
        while len(data) < size:
            more = conn.recv(size - len(data))
            if not more:
                raise OSError("closed")
            data += more
        return data

    def behave(conn, request):
        _, methods = read(conn, 2)
        read(conn, methods)
        conn.sendall(b"\x05\x02")  # user name and password
        _, size = read(conn, 2)
        user = read(conn, size)
        password = read(conn, read(conn, 1)[0])
        conn.sendall(b"\x01\x00")
        _, command, _, kind = read(conn, 4)
        host = read(conn, read(conn, 1)[0]) if kind == 3 else read(conn, 4 if kind == 1 else 16)
        port = int.from_bytes(read(conn, 2), "big")
        seen.append((user, password, command, host, port))
        conn.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x50")
        head = b""
        while b"\r\n\r\n" not in head:
            head += conn.recv(65536)
        conn.sendall(response(200, page("C", [])))
    return behave


def test_a_page_through_a_socks5_proxy_names_the_host_and_the_credentials_to_the_proxy():
    seen = []
    with HostileServer(socks5_proxy(seen), raw=True) as proxy, \
            proxied_client("http://events.example:8080", "socks5h://agent:s3cret@127.0.0.1:%d" % proxy.port) as api:
        assert api.fetch_page(PATH, {"cursor": "x"}).cursor == "C"
    assert seen == [(b"agent", b"s3cret", 1, b"events.example", 8080)]


def test_a_socks_proxy_nothing_listens_on_is_named_in_the_error():
    proxy_url = "socks5h://127.0.0.1:%d" % a_port_nothing_listens_on()
    with proxied_client("http://events.example", proxy_url) as api, \
            pytest.raises(ProxyError, match="through the proxy 127.0.0.1"):
        api.fetch_page(PATH, {"cursor": "x"})


def test_a_socks_proxy_that_never_answers_its_handshake_times_out_by_the_connect_timeout():
    def behave(conn, request):
        server.stopped.wait(5)

    with HostileServer(behave, raw=True) as server, \
            proxied_client("http://events.example", "socks5h://127.0.0.1:%d" % server.port, connect_timeout=0.3,
                           read_timeout=5) as api:
        started = time.monotonic()
        with pytest.raises(ProxyError, match="through the proxy") as caught:
            api.fetch_page(PATH, {"cursor": "x"})
        assert time.monotonic() - started < 1.5 and caught.value.detail == "timed out"


def test_a_ca_bundle_replaced_in_place_is_read_again(tmp_path):
    """An admin who puts the right certificate into the configured bundle file is trusted
    by the next client of the same process, without a restart."""
    from onepassword_events.errors import TlsError
    from simulator import EventsApiSimulator
    from simulator.tls import make_self_signed

    other_ca, _ = make_self_signed(str(tmp_path))
    bundle = tmp_path / "bundle.pem"
    with EventsApiSimulator(seed=3, itemusages=5, late_fraction=0, tls=True) as sim:
        path, body = "/api/v2/itemusages", {"limit": 10, "start_time": "2020-01-01T00:00:00Z"}
        bundle.write_bytes(open(other_ca, "rb").read())
        with EventsApiClient(sim.url, sim.token, ca_bundle=str(bundle), retry=RetryPolicy(max_attempts=1)) as api, \
                pytest.raises(TlsError, match="TLS verification"):
            api.fetch_page(path, body)
        bundle.write_bytes(open(sim.cert_file, "rb").read())
        with EventsApiClient(sim.url, sim.token, ca_bundle=str(bundle), retry=RetryPolicy(max_attempts=1)) as api:
            assert len(api.fetch_page(path, body).items) == 5


def test_a_socks_handshake_trickled_within_the_socket_timeout_ends_by_the_deadline():
    """The proxy's reply names a 255-character host a byte every 0.1 s (about 26 s): the
    socket timeout never fires, the attempt's deadline (1 s) does."""
    def behave(conn, request):
        read = conn.recv(3)  # the greeting: version, one method, no authentication
        assert read == b"\x05\x01\x00"
        conn.sendall(b"\x05\x00")
        conn.recv(4096)
        trickle(conn, b"\x05\x00\x00\x03\xff" + b"a" * 255 + b"\x00\x50", server.stopped, interval=0.1)

    with HostileServer(behave, raw=True) as server, \
            proxied_client("http://events.example", "socks5h://127.0.0.1:%d" % server.port) as api:
        started = time.monotonic()
        with pytest.raises(TransportError, match="whole answer within"):
            api.fetch_page(PATH, {"cursor": "x"})
        assert time.monotonic() - started < 1.8


def test_a_process_that_never_closed_its_client_still_exits():
    """A caller that forgets close() (a script, a crash path) is not held at exit by the watchdog."""
    import subprocess

    import onepassword_events

    def behave(conn, request):
        conn.sendall(response(200, page("C", [])))

    script = ("import sys; sys.path.insert(0, sys.argv[1]); from onepassword_events.client import EventsApiClient;"
              "print(EventsApiClient(sys.argv[2], sys.argv[3]).fetch_page(sys.argv[4], {}).cursor)")
    bin_dir = os.path.dirname(os.path.dirname(os.path.abspath(onepassword_events.__file__)))
    with HostileServer(behave) as server:
        done = subprocess.run([sys.executable, "-c", script, bin_dir, server.url, make_token(), PATH],
                              capture_output=True, timeout=20)
    assert done.returncode == 0 and done.stdout == b"C\n", done.stderr[-500:]


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_an_answer_cut_short_through_a_proxy_is_named_as_cut_short_not_as_unreachable(framing):
    body = page("C", []).encode()

    def behave(conn, request):
        if framing == "length":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (len(body) + 50) + body)
        else:  # a chunk that announces more than comes before the connection closes
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % (len(body) + 50) + body)
        return False

    with HostileServer(behave) as proxy, \
            proxied_client("http://events.example", "http://127.0.0.1:%d" % proxy.port) as api, \
            pytest.raises(MalformedResponseError, match="cut short"):
        api.fetch_page(PATH, {"cursor": "x"})


def test_a_chunked_answer_cut_short_is_named_as_cut_short_not_as_unreachable():
    body = page("C", []).encode()
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % (len(body) + 50) + body
    with HostileServer(serving(answer)) as server, client(server) as api, \
            pytest.raises(MalformedResponseError, match="cut short"):
        api.fetch_page(PATH, {"cursor": "x"})


def test_a_connection_never_accepted_times_out_by_the_connect_timeout():
    """A listener whose backlog is full drops the next SYN: the connect hangs, as behind a firewall."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(8):  # fill the backlog (its size is rounded up by the kernel)
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        try:
            with EventsApiClient("http://127.0.0.1:%d" % port, make_token(), sleep=lambda s: None,
                                 retry=RetryPolicy(budget=0, max_attempts=1), connect_timeout=0.2,
                                 read_timeout=3) as api:
                started = time.monotonic()
                with pytest.raises(TransportError, match="timed out connecting to 127.0.0.1:%d after 0.2s" % port):
                    api.fetch_page(PATH, {"cursor": "x"})
                assert time.monotonic() - started < 1.5
        finally:
            for filler in fillers:
                filler.close()


@pytest.mark.parametrize("unread", ["reset", "closed"])
def test_an_answer_sent_before_the_request_was_read_is_still_the_answer(unread):
    """A gateway may refuse a request from its headers alone and close without reading the rest;
    sending the rest then fails (EPIPE or ECONNRESET), and the answer it sent is what the user sees."""
    answer = b'{"Error":{"Message":"Unauthorized"}}'
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(5)

        def serve():
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(5)
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    piece = conn.recv(4096)
                    if not piece:
                        return
                    head += piece
                conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(answer), answer))
                if unread == "closed":
                    conn.shutdown(socket.SHUT_WR)
                    time.sleep(0.2)
                # closing with the request's body unread resets the connection

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        with EventsApiClient("http://127.0.0.1:%d" % listener.getsockname()[1], make_token(),
                             sleep=lambda s: None, retry=RetryPolicy(budget=0, max_attempts=1),
                             connect_timeout=1, read_timeout=5) as api:
            with pytest.raises(AuthError, match="HTTP 401"):
                api.fetch_page(PATH, {"cursor": "x" * 16_000_000})  # far more than the socket buffers hold
        server.join(5)
