"""The collector against a hostile or broken server: nothing hangs, floods, leaks or forges.

Each test puts one misbehaviour of a malicious server on 127.0.0.1
(hostile_server.py) in place of the Events API and runs the real code: the CLI
as a subprocess (bounded by a timeout), the modular input in-process, or the
Accounts REST handler (splunkd's side: the fake splunkd). Expected outcomes come
from the issue's rules (every run ends, progress or stop, no forgery, bounded
resources, isolation, sane clocks, one writer, valid XML, no secret, sane
Retry-After, cosmetic URL edits), not from the code under test.
"""

import base64
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from functional_helpers import CLI, ROOT, run_input
from helpers.accounts_tab import AccountsTab
from hostile_server import HostileServer, base64_text, gzip_bomb, item, page, response, trickle

FETCH = ["fetch", "--event-types", "signinattempts", "--limit", "1000", "--start-time", "2026-11-20T00:00:00Z"]


def hostile_token():
    """A JWT-shaped token with a random signature (the scanner looks for its pieces)."""
    def b64(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"jti": secrets.token_hex(12), "aud": ["events.1password.com"],
              "1password.com/fts": ["signinattempts", "itemusages", "auditevents"]}
    return "%s.%s.%s" % (b64({"alg": "ES256", "typ": "JWT"}), b64(claims), secrets.token_urlsafe(48))


class Cli:
    """The CLI as a subprocess; its outputs go to the token scan."""

    def __init__(self, scanner, tmp_path):
        self.scanner = scanner
        self.tmp_path = tmp_path

    def command(self, url, args, state_dir=None):
        command = [sys.executable, CLI] + list(args) + ["--base-url", url]
        if state_dir is not None:
            command += ["--state-dir", str(state_dir)]
        return command

    def env(self, token):
        self.scanner.add_token(token)
        env = {k: v for k, v in os.environ.items() if k != "OP_EVENTS_TOKEN"}
        env.update(OP_EVENTS_TOKEN=token, PYTHONDONTWRITEBYTECODE="1")
        return env

    def start(self, url, args, state_dir=None):
        """The CLI started in the background (the caller ends it)."""
        return subprocess.Popen(self.command(url, args, state_dir), env=self.env(hostile_token()),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)

    def run(self, url, args, token=None, state_dir=None, timeout=60):
        started = time.monotonic()
        result = subprocess.run(self.command(url, args, state_dir), env=self.env(token or hostile_token()),
                                stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, cwd=ROOT)
        result.seconds = time.monotonic() - started
        result.err = result.stderr.decode("utf-8", "replace")
        self.scanner.add("cli stdout", result.stdout)
        self.scanner.add("cli stderr", result.err)
        if state_dir is not None:
            self.scanner.add_directory(str(state_dir))
        return result


@pytest.fixture
def cli(scanner, tmp_path):
    return Cli(scanner, tmp_path)


def wait_for_requests(server, count, timeout=20):
    deadline = time.monotonic() + timeout
    while len(server.requests) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def serve_pages(pages):
    """A behaviour answering the n-th request with pages[n] (the last one forever)."""
    def behave(conn, request):
        index = min(len(behave.served), len(pages) - 1)
        behave.served.append(request)
        conn.sendall(response(200, pages[index]))
    behave.served = []
    return behave


# -- 1. every run ends ------------------------------------------------------------------------
def test_a_body_trickled_a_byte_a_second_ends_within_the_deadline(cli):
    def behave(conn, request):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
        trickle(conn, b"{" * 100000, server.stopped)
        return False

    with HostileServer(behave) as server:
        result = cli.run(server.url, FETCH + ["--read-timeout", "5", "--retry-budget", "3"], timeout=60)
    assert result.seconds < 15, result.seconds
    assert result.returncode == 1 and "[connection]" in result.err and "whole answer within" in result.err


def test_a_status_line_trickled_a_byte_a_second_ends_within_the_deadline(cli):
    def behave(conn, request):
        trickle(conn, b"HTTP/1.1 200 OK\r\n" * 1000, server.stopped)
        return False

    with HostileServer(behave) as server:
        result = cli.run(server.url, FETCH + ["--read-timeout", "5", "--retry-budget", "3"], timeout=60)
    assert result.seconds < 15 and result.returncode == 1 and "whole answer within" in result.err


def test_the_retry_budget_bounds_the_whole_retry_loop(cli):
    def behave(conn, request):
        conn.sendall(response(503, '{"status":503,"message":"busy"}', {"Retry-After": "1"}))

    with HostileServer(behave) as server:
        result = cli.run(server.url, FETCH + ["--retry-budget", "4"], timeout=60)
        requests = len(server.requests)
    assert result.returncode == 1 and "[server]" in result.err and "gave up after" in result.err
    assert result.seconds < 10 and 2 <= requests <= 5


def test_sigterm_ends_a_run_within_seconds_with_the_checkpoint_at_the_last_written_page(cli, tmp_path):
    first = page("CURSOR-1", [item(n) for n in range(3)], has_more=True)

    def behave(conn, request):
        if "CURSOR-1" not in request.body:
            conn.sendall(response(200, first))
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        trickle(conn, b"[" * 100000, server.stopped)  # the read-ahead page never completes
        return False

    state = tmp_path / "state"
    with HostileServer(behave) as server:
        process = cli.start(server.url, FETCH, state)
        try:
            wait_for_requests(server, 2)
            time.sleep(1.0)  # well inside a trickled answer
            signalled = time.monotonic()
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=20)
            ended = time.monotonic() - signalled
        finally:
            if process.poll() is None:
                process.kill()
    cli.scanner.add("cli stdout", out)
    cli.scanner.add("cli stderr", err)
    assert ended < 3, ended
    assert [json.loads(line)["uuid"] for line in out.decode().splitlines()] == [item(n)["uuid"] for n in range(3)]
    saved = json.loads((state / "cli.signinattempts.json").read_text())
    assert saved["cursor"] == "CURSOR-1"


# -- 2. progress or stop ------------------------------------------------------------------------
def test_the_same_cursor_and_item_forever_stop_after_one_repeated_page(cli):
    repeated = page("STUCK", [item(1)], has_more=True)
    with HostileServer(serve_pages([repeated])) as server:
        result = cli.run(server.url, FETCH, timeout=60)
        requests = len(server.requests)
    assert result.returncode == 1 and "[malformed_response]" in result.err and "would not progress" in result.err
    assert result.stdout.decode().splitlines() == [json.dumps(item(1), separators=(",", ":"))]
    assert requests <= 3  # the repeated page, plus at most the one read ahead of it


def test_the_same_page_under_new_cursors_stops_too(cli):
    items = [item(n) for n in range(5)]

    def behave(conn, request):
        conn.sendall(response(200, page("C%d" % len(server.requests), items, has_more=True)))

    with HostileServer(behave) as server:
        result = cli.run(server.url, FETCH, timeout=60)
    assert result.returncode == 1 and "previous page again" in result.err
    assert len(result.stdout.decode().splitlines()) == 5


# -- 3. no forgery, no echo ---------------------------------------------------------------------
@pytest.fixture
def internal_service():
    """A service the search head can reach but the caller must not: it answers with secrets."""
    def behave(conn, request):
        conn.sendall(response(403, '{"message":"INTERNAL-SECRET: db password hunter2"}'))

    with HostileServer(behave) as server:
        yield server


def test_a_redirect_is_never_followed(cli, internal_service):
    def behave(conn, request):
        conn.sendall(response(302, "", {"Location": internal_service.url + "/admin"}))

    with HostileServer(behave) as server:
        result = cli.run(server.url, ["check"], timeout=60)
    assert result.returncode == 2 and "redirect (HTTP 302)" in result.err
    assert internal_service.requests == [] and "INTERNAL" not in result.err


@pytest.mark.parametrize("url", [
    "http://2130706433:{port}\\@127.0.0.1:{port}/",  # one parser sees 127.0.0.1, another 2130706433
    "http://user:pw-secret@127.0.0.1:{port}",
    "http://0x7f000001:{port}",
    "http://localhost:{port}",
    "https://127.0.0.1:{port}/api/v2",
])
def test_urls_that_could_mislead_are_refused_before_any_connection(cli, url):
    with HostileServer(serve_pages([page("C", [])])) as server:
        result = cli.run(url.format(port=server.port), ["check"], timeout=60)
        assert server.connections == 0
    assert result.returncode == 2 and "[configuration]" in result.err and "pw-secret" not in result.err


@pytest.mark.parametrize("status, headers", [(302, "internal"), (403, None), (404, None), (500, None)])
def test_the_accounts_page_shows_what_failed_never_what_the_server_said(splunkd, monkeypatch, internal_service,
                                                                         status, headers):
    body = '{"message":"INTERNAL-SECRET: db password hunter2"}'
    extra = {"Location": internal_service.url + "/"} if headers == "internal" else {}

    def behave(conn, request):
        conn.sendall(response(status, body, extra))

    tab = AccountsTab(splunkd, monkeypatch)
    with HostileServer(behave) as server:
        error = tab.call("create", {"region": "custom", "custom_url": server.url, "token": hostile_token()})
    assert error is not None and tab.saved == []
    assert "HTTP %d" % status in str(error) and "INTERNAL" not in str(error) and "hunter2" not in str(error)
    assert internal_service.requests == []


def test_the_accounts_page_refuses_a_misleading_url_without_connecting(splunkd, monkeypatch):
    tab = AccountsTab(splunkd, monkeypatch)
    with HostileServer(serve_pages([page("C", [])])) as server:
        error = tab.call("create", {"region": "custom", "token": hostile_token(),
                                    "custom_url": "http://2130706433:%d\\@127.0.0.1:%d/" % (server.port, server.port)})
        assert server.connections == 0
    assert error is not None and "[configuration]" in str(error) and tab.saved == []


def test_a_caller_without_the_admin_capability_cannot_make_the_server_connect(splunkd, monkeypatch):
    tab = AccountsTab(splunkd, monkeypatch, capabilities=("search", "edit_own_objects"))
    with HostileServer(serve_pages([page("C", [])])) as server:
        error = tab.call("create", {"region": "custom", "custom_url": server.url, "token": hostile_token()})
        assert server.connections == 0
    assert error.status == 403 and tab.saved == []


# -- 4. bounded resources -------------------------------------------------------------------
def test_a_gzip_bomb_is_refused_without_inflating_it(cli):
    bomb = gzip_bomb(512)  # about 0.5 MB that inflates to 512 MB

    def behave(conn, request):
        conn.sendall(response(200, bomb, {"Content-Encoding": "gzip"}))

    measure = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:]); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    with HostileServer(behave) as server:
        command = [sys.executable, "-c", measure] + cli.command(server.url, FETCH + ["--retry-budget", "2"])
        result = subprocess.run(command, env=cli.env(hostile_token()), capture_output=True, timeout=120, cwd=ROOT)
    peak_mb = int(result.stdout.decode().split()[-1]) / 1024
    err = result.stderr.decode()
    cli.scanner.add("cli stderr", err)
    print("gzip bomb (512 MB inflated from %d KB): peak RSS of the CLI %.0f MB" % (len(bomb) // 1024, peak_mb))
    assert "[malformed_response]" in err and "larger than 64 MB" in err
    assert peak_mb < 200, peak_mb


@pytest.mark.parametrize("declared, sent", [(10, b'{"cursor":"C","has_more":false,"items":[]}'),
                                            (5000, b'{"cursor":"C","has_more":false,"items":[')])
def test_a_body_that_lies_about_its_length_is_never_taken_for_a_page(cli, declared, sent):
    def behave(conn, request):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % declared + sent)
        return False  # and close

    with HostileServer(behave) as server:
        result = cli.run(server.url, FETCH + ["--retry-budget", "2"], timeout=60)
    assert result.returncode == 1 and "[malformed_response]" in result.err and result.stdout == b""


def test_an_oversized_cursor_or_uuid_never_reaches_the_checkpoint(cli, tmp_path):
    state = tmp_path / "state"
    long_uuid = [item(n, uuid="U" * 100000) for n in range(3)]
    with HostileServer(serve_pages([page("C1", long_uuid, has_more=True), page("X" * 100000, [item(9)])])) as server:
        result = cli.run(server.url, FETCH + ["--retry-budget", "2"], state_dir=state, timeout=60)
    assert result.returncode == 1 and "cursor is longer than" in result.err
    saved = (state / "cli.signinattempts.json").read_text()
    assert json.loads(saved)["cursor"] == "C1" and len(saved) < 2000


# -- 5. isolation ---------------------------------------------------------------------------
def test_a_poisoned_page_of_one_stream_never_stops_the_others(cli, tmp_path):
    bodies = {
        "/api/v2/signinattempts": '{"cursor":"C","has_more":false,"items":[' + "[" * 100000 + "]" * 100000 + "]}",
        "/api/v2/itemusages": '{"cursor":"C","has_more":false,"items":[{"uuid":"big","n":' + "9" * 5000 + "}]}",
        "/api/v2/auditevents": page("C", [item(1, uuid=["not", "a", "string"]), item(2)]),
    }

    def behave(conn, request):
        if "cursor" in request.json():  # a stream that got through continues: nothing new
            conn.sendall(response(200, page(request.json()["cursor"], [])))
        else:
            conn.sendall(response(200, bodies[request.path]))

    state = tmp_path / "state"
    args = ["fetch", "--start-time", "2026-11-20T00:00:00Z", "--retry-budget", "2"]
    with HostileServer(behave) as server:
        first = cli.run(server.url, args, state_dir=state, timeout=60)
        second = cli.run(server.url, args, state_dir=state, timeout=60)
    lines = first.stdout.decode().splitlines()
    assert "[malformed_response]" in first.err and "signinattempts" in first.err
    assert len(lines) >= 2 and item(2)["uuid"] in first.stdout.decode()  # the audit events got through
    assert "Traceback" not in first.err + second.err and "unhashable" not in second.err
    # its checkpoint was not poisoned: the second run continues it without an error
    assert not [line for line in second.err.splitlines() if line.startswith("error:") and "auditevents" in line]


# -- 6. sane clocks -------------------------------------------------------------------------
def test_an_event_from_the_year_9999_moves_neither_the_recovery_point_nor_the_lag(cli, tmp_path):
    real = item(1, timestamp="2026-11-30T12:00:00Z")
    future = item(2, timestamp="9999-12-31T23:59:59Z")

    def behave(conn, request):
        if "cursor" in request.json():
            conn.sendall(response(400, '{"status":400,"message":"invalid cursor"}'))  # the cursor expired
        else:
            conn.sendall(response(200, page("C1", [real, future])))

    state = tmp_path / "state"
    with HostileServer(behave) as server:
        cli.run(server.url, FETCH, state_dir=state, timeout=60)
        cli.run(server.url, FETCH, state_dir=state, timeout=60)
        resets = [r.json() for r in server.requests if "start_time" in r.json()]
    saved = json.loads((state / "cli.signinattempts.json").read_text())
    assert saved["newest_time"] == "2026-11-30T12:00:00Z"
    # the restart after the expired cursor goes back 15 minutes before the real event, not to "now"
    assert resets[-1]["start_time"] == "2026-11-30T11:45:00Z"


# -- 7. one writer per checkpoint --------------------------------------------------------
def test_a_second_run_on_the_same_state_directory_refuses_and_writes_nothing(cli, tmp_path):
    def behave(conn, request):
        time.sleep(3)  # the first run is busy with its first page while the second starts
        conn.sendall(response(200, page("C", [item(1)])))

    state = tmp_path / "state"
    with HostileServer(behave) as server:
        first = cli.start(server.url, FETCH, state)
        try:
            wait_for_requests(server, 1)
            second = cli.run(server.url, FETCH, state_dir=state, timeout=30)
            requests_of_second = len(server.requests) - 1
        finally:
            first.communicate(timeout=30)
    assert second.returncode == 2 and second.stdout == b""
    assert len(second.err.strip().splitlines()) == 1 and "another run is using the state directory" in second.err
    assert requests_of_second == 0


# -- 8. the modular-input stream stays valid XML and faithful -----------------------------
def test_the_input_writes_valid_xml_that_gives_back_each_item_exactly(tmp_path, scanner, monkeypatch):
    raw_items = [
        '{"uuid":"A1","timestamp":"2026-11-30T12:00:00Z","name":"a\ufffeb\uffffc"}',
        '{"uuid":"A2",\r\n"timestamp":"2026-11-30T12:00:01Z","note":"carriage\\r return"}',
        '{"uuid":"A3","timestamp":"2026-11-30T12:00:02Z","name":"Zo\u00eb <&> \U0001F511"}',
    ]
    body = '{"cursor":"C","has_more":false,"items":[' + ",".join(raw_items) + "]}"

    def behave(conn, request):
        conn.sendall(response(200, body))

    with HostileServer(behave) as server:
        sim = type("Sim", (), {"url": server.url, "token": hostile_token()})()
        run = run_input(sim, scanner, monkeypatch, tmp_path / "state", event_types="signinattempts",
                        start="2026-11-20T00:00:00Z")
    data = [event.findtext("data") for event in ET.fromstring(run.raw_output.decode("utf-8")).iter("event")]
    assert data[1] == raw_items[1] and data[2] == raw_items[2]  # byte for byte, \r included
    assert data[0] == raw_items[0].replace("\ufffe", "\\ufffe").replace("\uffff", "\\uffff")
    assert [json.loads(d) for d in data] == [json.loads(r) for r in raw_items]


# -- 9. the token and the proxy credentials never appear ----------------------------------
@pytest.mark.parametrize("bad", ['"', "\\", "\n", " "])
def test_a_token_with_characters_outside_the_jwt_alphabet_is_refused_up_front(cli, bad):
    token = hostile_token()
    broken = token[:40] + bad + token[40:]
    with HostileServer(serve_pages([page("C", [])])) as server:
        result = cli.run(server.url, ["check"], token=broken, timeout=60)
        assert server.connections == 0
    assert result.returncode == 2 and "characters an Events Reporting token never has" in result.err
    assert token[30:60] not in result.err


def test_a_server_echoing_the_token_in_every_encoding_leaks_nothing(cli):
    def behave(conn, request):
        bearer = request.headers["authorization"]
        token = bearer.split(" ", 1)[1]
        echo = "%s %s %s %s" % (bearer, json.dumps(token), base64_text(token), base64_text("x" + token))
        conn.sendall(response(500, json.dumps({"status": 500, "message": "bad token " + echo})))

    with HostileServer(behave) as server:
        result = cli.run(server.url, FETCH + ["--retry-budget", "2", "-v"], timeout=60)
    # the scanner fixture fails the test if any piece of the token is in the outputs
    assert result.returncode == 1 and "bad token" in result.err and "***" in result.err


def test_a_proxy_echoing_its_credentials_leaks_nothing(cli):
    password = 'p"ss\\w:rd-7f3Q'
    user = "svc-op"
    basic = base64_text("%s:%s" % (user, password))

    def behave(conn, request):
        echoed = request.headers.get("proxy-authorization", "")
        body = json.dumps({"message": "proxy auth failed for %s (%s) password=%s" % (echoed, basic, password)})
        conn.sendall(response(407, body, {"Proxy-Authenticate": 'Basic realm="x"'}))
        return False

    from urllib.parse import quote

    with HostileServer(behave) as proxy:
        url = "https://events.1password.com"
        proxy_url = "http://%s:%s@127.0.0.1:%d" % (quote(user, safe=""), quote(password, safe=""), proxy.port)
        result = cli.run(url, ["check", "--proxy", proxy_url, "--retry-budget", "2", "-v"], timeout=60)
    output = result.stdout.decode() + result.err
    assert result.returncode != 0 and "[proxy]" in result.err
    for secret in (password, basic, quote(password, safe=""), json.dumps(password)[1:-1], "rd-7f3Q"):
        assert secret not in output, secret


# -- 10. Retry-After ------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["nan", "-5", "Thu, 01 Jan 1970 00:00:00 GMT", "1e3", "0x10"])
def test_a_retry_after_that_is_not_a_sane_delay_falls_back_to_the_backoff(cli, value):
    def behave(conn, request):
        conn.sendall(response(429, "", {"Retry-After": value}))

    with HostileServer(behave) as server:
        cli.run(server.url, FETCH + ["--retry-budget", "2.5"], timeout=60)
        requests = len(server.requests)
    assert 1 <= requests <= 4  # 1 s, 2 s backoff (with jitter): not ten requests in 2.5 s


def test_a_retry_after_beyond_the_budget_ends_the_request_saying_how_long(cli):
    def behave(conn, request):
        conn.sendall(response(429, "", {"Retry-After": "86400"}))

    with HostileServer(behave) as server:
        result = cli.run(server.url, FETCH, timeout=60)
        requests = len(server.requests)
    assert requests == 1 and result.returncode == 1 and result.seconds < 10
    assert "asked to wait 86,400 s" in result.err


# -- 11. cosmetic URL edits -----------------------------------------------------------------
def test_a_cosmetic_edit_of_the_url_keeps_the_checkpoint(cli, tmp_path):
    state = tmp_path / "state"
    with HostileServer(serve_pages([page("C1", [item(1)]), page("C1", [])])) as server:
        cli.run(server.url, FETCH, state_dir=state, timeout=60)
        edited = server.url.replace("http://", "HTTP://") + "/"
        result = cli.run(edited, FETCH, state_dir=state, timeout=60)
        bodies = [r.json() for r in server.requests]
    assert result.returncode == 0 and bodies[-1] == {"cursor": "C1"}


# -- 13. one HTTP session per stream ----------------------------------------------------------
def test_read_ahead_gives_each_stream_a_connection_of_its_own(cli):
    def behave(conn, request):
        n = sum(1 for r in server.requests if r.path == request.path)
        more = n < 3
        stream = request.path.rsplit("/", 1)[1]
        conn.sendall(response(200, page("%s-%d" % (stream, n), [item(n, uuid="%s-%d" % (stream, n))], has_more=more)))

    args = ["fetch", "--start-time", "2026-11-20T00:00:00Z"]
    with HostileServer(behave) as server:
        result = cli.run(server.url, args, timeout=60)
        paths_per_connection = {}
        for request in server.requests:
            paths_per_connection.setdefault(request.connection_id, set()).add(request.path)
    assert result.returncode == 0 and len(result.stdout.decode().splitlines()) == 9
    assert all(len(paths) == 1 for paths in paths_per_connection.values()), paths_per_connection


def test_kv_store_failures_are_logged_as_checkpoint_errors(tmp_path, scanner, built_addon):
    import io

    from splunkd_fake import FakeSplunkd

    import onepassword_events_helper as helper
    from onepassword_events.sinks import ModularInputStream
    from onepassword_splunk import SplunkEdge

    token = hostile_token()
    scanner.add_token(token)
    with HostileServer(serve_pages([page("C", [item(1)])])) as server, \
            FakeSplunkd(splunk_home=tmp_path / "splunk") as splunkd, splunkd.activate():
        splunkd.install_app(built_addon)
        splunkd.set_account("acme", token=token, region="custom", custom_url=server.url)
        splunkd.fail_kvstore(1000)
        out = io.StringIO()
        helper.collect_input("onepassword://kv", {"account": "acme", "event_types": "signinattempts"},
                             SplunkEdge(splunkd.session_key), ModularInputStream(out))
        with open(os.path.join(splunkd.splunk_home, "var", "log", "splunk", "ta_1password_events_kv.log")) as handle:
            log = handle.read()
    assert '"label":"Checkpoint Error"' in log and '"category":"checkpoint"' in log and "KV store" in log
    assert "Traceback" not in log and '"traceback"' not in log  # an expected failure, not an unexpected one
    assert out.getvalue() == ""  # nothing written without its checkpoint


# -- 12. every transport path ends by its deadline, and at once on SIGTERM -------------------------
def trickled_answer(kind):
    """A behaviour sending a 200 whose body never completes, one byte every half second:
    on a `Connection: close` answer, an HTTP/1.0 one, a chunked one, or keep-alive."""
    heads = {
        "close": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 200\r\n\r\n",
        "http/1.0": b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n",
        "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100\r\n",
        "keep-alive": b"HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n",
    }

    def behave(conn, request):
        conn.sendall(heads[kind])
        trickle(conn, b"[" * 200, behave.server.stopped, interval=0.5)
        return False
    return behave


def stop_with_sigterm(process, ready, settle=1.0):
    """Once ready() (or after 60 s) and `settle` seconds more, SIGTERM the
    process; (stdout, stderr, seconds it took to end after the signal)."""
    try:
        deadline = time.monotonic() + 60
        while not ready() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(settle)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
        return out, err, time.monotonic() - signalled
    finally:
        if process.poll() is None:
            process.kill()


TRICKLES = ["close", "http/1.0", "chunked", "keep-alive"]


@pytest.mark.parametrize("kind", TRICKLES)
def test_a_trickled_answer_ends_within_the_deadline_however_it_is_framed(cli, kind):
    behave = trickled_answer(kind)
    with HostileServer(behave) as server:
        behave.server = server
        result = cli.run(server.url, FETCH + ["--read-timeout", "3", "--retry-budget", "2"], timeout=60)
    # connect timeout 10 s + read timeout 3 s, cut at the budget's end (2 s, one attempt at least 1 s)
    assert result.seconds < 8, result.seconds
    assert result.returncode == 1 and "[connection]" in result.err and "whole answer within" in result.err


@pytest.mark.parametrize("kind", ["close", "http/1.0"])
def test_sigterm_ends_a_cli_run_on_a_trickled_answer_at_once(cli, tmp_path, kind):
    behave = trickled_answer(kind)
    with HostileServer(behave) as server:
        behave.server = server
        process = cli.start(server.url, FETCH, tmp_path / "state")
        out, err, ended = stop_with_sigterm(process, lambda: server.requests)
    cli.scanner.add("cli stderr", err)
    assert ended < 3, ended
    assert out == b"" and not (tmp_path / "state" / "cli.signinattempts.json").exists()


def socks_proxy_trickling(version):
    """A SOCKS proxy that accepts the connection and answers its handshake a byte at a time, each
    byte well inside the socket timeout: SOCKS5's reply names a 255-character host (about 2 minutes
    at 0.5 s a byte), SOCKS4's 8 bytes come 2 s apart."""
    if version == 5:
        reply, interval = b"\x05\x00" + b"\x05\x00\x00\x03\xff" + b"a" * 255 + b"\x00\x50", 0.5
    else:
        reply, interval = b"\x00\x5a\x00\x50\x7f\x00\x00\x01", 2.0

    def behave(conn, request):
        trickle(conn, reply, behave.server.stopped, interval=interval)
    return behave


def connect_proxy_trickling():
    """An HTTP proxy that answers CONNECT with headers that never end."""
    def behave(conn, request):
        trickle(conn, b"HTTP/1.1 200 Connection established\r\n" + b"X-Pad: a\r\n" * 100, behave.server.stopped,
                interval=0.5)
    return behave


def tls_server_trickling():
    """A TLS server whose handshake record arrives a byte every half second."""
    def behave(conn, request):
        trickle(conn, b"\x16\x03\x03\x40\x00" + b"\x02" * 2000, behave.server.stopped, interval=0.5)
    return behave


HANDSHAKES = {
    "socks5": (lambda: socks_proxy_trickling(5), "socks5h://127.0.0.1:%d", "http://127.0.0.1:9"),
    "socks4": (lambda: socks_proxy_trickling(4), "socks4://127.0.0.1:%d", "http://127.0.0.1:9"),
    "connect": (connect_proxy_trickling, "http://127.0.0.1:%d", "https://127.0.0.1:9"),
    "tls": (tls_server_trickling, None, None),
}


def handshake_command(kind, server):
    behaviour, proxy, url = HANDSHAKES[kind]
    if proxy is None:  # the server itself stalls its TLS handshake
        return "https://127.0.0.1:%d" % server.port, []
    return url, ["--proxy", proxy % server.port]


@pytest.mark.parametrize("kind", sorted(HANDSHAKES))
def test_a_stalled_handshake_ends_within_the_deadline(cli, kind):
    behave = HANDSHAKES[kind][0]()
    with HostileServer(behave, raw=True) as server:
        behave.server = server
        url, extra = handshake_command(kind, server)
        result = cli.run(url, FETCH + extra + ["--read-timeout", "3", "--retry-budget", "2", "--no-verify-tls"],
                         timeout=90)
        connections = server.connections
    assert connections >= 1  # the handshake was under way, not refused up front
    assert result.seconds < 8, (result.seconds, result.err)
    assert result.returncode == 1 and "whole answer within" in result.err, result.err


@pytest.mark.parametrize("kind", ["socks5", "connect", "tls"])
def test_sigterm_ends_a_run_stalled_in_a_handshake_at_once(cli, kind):
    behave = HANDSHAKES[kind][0]()
    with HostileServer(behave, raw=True) as server:
        behave.server = server
        url, extra = handshake_command(kind, server)
        process = cli.start(url, FETCH + extra + ["--no-verify-tls"])
        out, err, ended = stop_with_sigterm(process, lambda: server.connections)
    cli.scanner.add("cli stderr", err)
    assert ended < 3, ended


def test_the_run_deadline_stops_a_server_that_always_has_more_at_the_last_written_page(cli, tmp_path):
    """Fresh cursors and fresh items forever, each page slow but within the attempt's deadline."""
    def behave(conn, request):
        n = len(server.requests)
        time.sleep(0.3)
        conn.sendall(response(200, page("CURSOR-%d" % n, [item(n, uuid="RUN%017d" % n)], has_more=True)))

    state = tmp_path / "state"
    with HostileServer(behave) as server:
        result = cli.run(server.url, FETCH + ["--run-deadline", "3"], state_dir=state, timeout=60)
    written = [json.loads(line)["uuid"] for line in result.stdout.decode().splitlines()]
    assert result.seconds < 6, result.seconds
    assert result.returncode == 0 and len(written) >= 2
    assert len([line for line in result.err.splitlines() if "wall-clock bound of 3 s" in line]) == 1, result.err
    saved = json.loads((state / "cli.signinattempts.json").read_text())
    last = int(written[-1][3:])
    assert saved["cursor"] == "CURSOR-%d" % last  # the cursor of the page that carried the last item written


@pytest.mark.parametrize("option, value", [
    ("--read-timeout", "nan"), ("--read-timeout", "inf"), ("--read-timeout", "-1"), ("--read-timeout", "0"),
    ("--retry-budget", "nan"), ("--retry-budget", "inf"), ("--retry-budget", "1e308"), ("--retry-budget", "-5"),
    ("--run-deadline", "nan"), ("--run-deadline", "0"), ("--read-timeout", "ten"),
])
def test_numeric_options_outside_sane_ranges_are_refused_in_one_line(cli, option, value):
    with HostileServer(serve_pages([page("C", [])])) as server:
        result = cli.run(server.url, FETCH + [option, value], timeout=30)
        connections = server.connections
    assert result.returncode == 2 and connections == 0 and result.stdout == b""
    assert result.err.count("\n") == 1 and option in result.err and "seconds from" in result.err


@pytest.mark.parametrize("kind", ["close", "http/1.0"])
def test_the_accounts_page_ends_a_trickled_check_within_its_budget(splunkd, monkeypatch, kind):
    import onepassword_account_validation as account_rh

    monkeypatch.setattr(account_rh, "VALIDATION_RETRY_BUDGET", 3.0)
    behave = trickled_answer(kind)
    tab = AccountsTab(splunkd, monkeypatch)
    with HostileServer(behave) as server:
        behave.server = server
        started = time.monotonic()
        error = tab.call("create", {"region": "custom", "custom_url": server.url, "token": hostile_token()})
        seconds = time.monotonic() - started
    assert seconds < 6, seconds
    assert error is not None and "[connection]" in str(error) and tab.saved == []


def test_the_accounts_handler_keeps_no_thread_per_save(splunkd, monkeypatch):
    import threading

    introspect = json.dumps({"features": ["signinattempts"], "account_uuid": "A", "issued_at": "x", "uuid": "U"})

    def behave(conn, request):
        conn.sendall(response(200, introspect))

    def watchdogs():  # of this handler's clients: other tests of this process may hold clients of their own
        return {thread.ident for thread in threading.enumerate() if thread.name == "events-api-watchdog"}

    tab = AccountsTab(splunkd, monkeypatch)
    with HostileServer(behave) as server:
        tab.call("create", {"region": "custom", "custom_url": server.url, "token": hostile_token()})
        before, watchdogs_before = threading.active_count(), watchdogs()
        for _ in range(300):
            assert tab.call("create", {"region": "custom", "custom_url": server.url, "token": hostile_token()}) is None
        after, watchdogs_after = threading.active_count(), watchdogs()
    assert len(tab.saved) == 301 and watchdogs_after - watchdogs_before == set()
    assert after <= before + 5, (before, after)  # the server's own connection threads may still be ending


@pytest.mark.parametrize("kind", ["close", "http/1.0"])
def test_sigterm_ends_the_generated_modular_input_on_a_trickled_answer_at_once(tmp_path, scanner, built_addon, kind):
    """The input as splunkd runs it (the generated script, its own process), stopped as splunkd stops it."""
    from splunkd_fake import FakeSplunkd

    token = hostile_token()
    scanner.add_token(token)
    behave = trickled_answer(kind)
    with HostileServer(behave) as server, FakeSplunkd(splunk_home=tmp_path / "splunk") as splunkd:
        behave.server = server
        app_dir = splunkd.install_app(built_addon)
        splunkd.set_account("acme", token=token, region="custom", custom_url=server.url)
        definition = splunkd.input_definition({"onepassword://trickled": {
            "account": "acme", "event_types": "signinattempts", "index": "main", "interval": "60"}})
        # Splunk 10's Python 3.13 when pyenv has it (where the input once ran on for 45 s after SIGTERM)
        python, extra_env = ("python3.13", {"PYENV_VERSION": "3.13.0"}) if shutil.which("python3.13") else \
            (sys.executable, {})
        command = splunkd.python_command(python, os.path.join(app_dir, "bin", "onepassword.py"))
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=splunkd.env(extra_env), cwd=splunkd.splunk_home)
        process.stdin.write(definition.encode("utf-8"))
        process.stdin.close()
        process.stdin = None  # splunkd writes the definition once, then waits
        out, err, ended = stop_with_sigterm(process, lambda: server.requests)
        assert server.requests, "the input never sent its request"
        with open(os.path.join(splunkd.splunk_home, "var", "log", "splunk", "ta_1password_events_trickled.log")) as log:
            logged = log.read()
    scanner.add("input stdout", out)
    scanner.add("input stderr", err)
    scanner.add("input log", logged)
    assert ended < 3, ended
    assert "event=stop_requested" in logged and "SIGTERM" in logged, logged[-2000:]
