"""The Splunk edge's one connection to splunkd (onepassword_splunkd): one connection per edge
over HTTP or HTTPS, solnlib's storage formats read as solnlib writes them, and every read
bounded, whatever splunkd (or something listening in its place) does."""

import json
import socket
import ssl
import threading
import time

import pytest

import onepassword_splunkd
from onepassword_splunk import ACCOUNT_CONF, CHECKPOINT_COLLECTION, SETTINGS_CONF, SplunkEdge
from onepassword_splunkd import Splunkd, SplunkdError
from onepassword_events.checkpoint import CheckpointError
from helpers.tokens import make_token
from splunkd_fake import ADDON, FakeSplunkd, credential_realm  # the fake's realm, not the module's


@pytest.fixture
def no_retry_waits(monkeypatch):
    monkeypatch.setattr(onepassword_splunkd, "RETRY_WAITS", (0, 0, 0))


def test_an_edge_over_https_asks_everything_on_one_connection(tmp_path, make_tls_server_context):
    """splunkd's management port speaks HTTPS with its own (here self-signed) certificate,
    which solnlib does not verify either."""
    token = make_token()
    with FakeSplunkd(splunk_home=tmp_path / "splunk", tls_context=make_tls_server_context()) as splunkd:
        assert splunkd.url.startswith("https://")
        splunkd.create_conf(SETTINGS_CONF)
        splunkd.set_account("acme", token=token, region="auto")
        splunkd.set_proxy(proxy_enabled="1", proxy_type="http", proxy_url="proxy.example", proxy_port="3128",
                          proxy_username="u", proxy_password="secret")
        edge = SplunkEdge(splunkd.session_key, splunkd.url)
        assert edge.read_account("acme")["token"] == token
        assert edge.read_proxy(None)["proxy_password"] == "secret"
        store = edge.checkpoint_store()
        store.save("acme_events.auditevents", json.dumps({"cursor": "c"}))
        assert store.get("acme_events.auditevents") == {"cursor": "c"}
        edge.close()
        assert len(splunkd.requests) >= 6
        assert len({r.connection for r in splunkd.requests}) == 1
        assert all(r.authorized and r.status < 500 for r in splunkd.requests)


def test_solnlib_reads_the_checkpoints_written_here_and_the_other_way_round(splunkd):
    """Checkpoints saved by earlier versions (through solnlib's checkpointer) still read, and the
    other way round: an upgrade or a downgrade keeps every cursor."""
    from solnlib.modular_input.checkpointer import KVStoreCheckpointer

    port = int(splunkd.url.rsplit(":", 1)[1])
    theirs = KVStoreCheckpointer(CHECKPOINT_COLLECTION, splunkd.session_key, ADDON, scheme="http",
                                 host="127.0.0.1", port=port)
    ours = SplunkEdge(splunkd.session_key, splunkd.url).checkpoint_store()
    state = {"cursor": "aGVsbG8=", "recent": [[1767225600, "U1"]]}
    theirs.update("old.signinattempts", json.dumps(state))
    assert ours.get("old.signinattempts") == state
    ours.save("new.auditevents", json.dumps(state))
    assert json.loads(theirs.get("new.auditevents")) == state


def test_a_conf_stanza_read_here_equals_what_solnlib_reads(splunkd):
    from solnlib import conf_manager

    token = make_token()
    splunkd.create_conf(ACCOUNT_CONF)  # as the add-on's first saved account does
    manager = conf_manager.ConfManager(splunkd.session_key, ADDON,
                                       realm=credential_realm(ADDON, ACCOUNT_CONF))
    manager.get_conf(ACCOUNT_CONF).update("acme", {"token": token, "region": "eu", "page_size": "100"},
                                          encrypt_keys=["token"])
    theirs = conf_manager.ConfManager(splunkd.session_key, ADDON,
                                      realm=credential_realm(ADDON, ACCOUNT_CONF)
                                      ).get_conf(ACCOUNT_CONF).get("acme")
    ours = SplunkEdge(splunkd.session_key, splunkd.url).read_account("acme")
    assert ours == {key: value for key, value in theirs.items() if not key.startswith("eai:") and key != "disabled"}
    assert ours["token"] == token


def test_an_encrypted_field_without_its_stored_value_says_what_to_do(splunkd):
    # a conf copied from another search head without its storage/passwords entries
    splunkd.set_stanza(ACCOUNT_CONF, "acme", {"token": "******", "region": "auto"})
    with pytest.raises(SplunkdError) as caught:
        SplunkEdge(splunkd.session_key, splunkd.url).read_account("acme")
    assert str(caught.value) == ("the encrypted fields of [acme] in ta_1password_events_account.conf have no readable "
                                 "stored value; save the stanza again on the add-on's page")


def test_a_5xx_is_asked_again_three_times_and_a_4xx_never(splunkd, no_retry_waits):
    splunkd.set_account("acme", token=make_token(), region="auto")
    connection = Splunkd(splunkd.url, splunkd.session_key, ADDON)
    splunkd.fail_requests("conf", times=3, status=503)
    assert connection.conf_stanza(ACCOUNT_CONF, "acme")["region"] == "auto"
    splunkd.fail_requests("conf", times=4, status=500)
    with pytest.raises(SplunkdError) as caught:
        connection.conf_stanza(ACCOUNT_CONF, "acme")
    assert (caught.value.status, caught.value.reason) == (500, "HTTP 500")
    splunkd.clear_requests()
    splunkd.fail_requests("conf", times=1, status=403)
    with pytest.raises(SplunkdError) as caught:
        connection.conf_stanza(ACCOUNT_CONF, "acme")
    assert caught.value.status == 403 and len(splunkd.requests) == 1


def test_a_keep_alive_connection_splunkd_closed_is_opened_again(splunkd):
    splunkd.set_account("acme", token=make_token(), region="auto")
    connection = Splunkd(splunkd.url, splunkd.session_key, ADDON)
    assert connection.conf_stanza(ACCOUNT_CONF, "acme") is not None
    connection._connection.sock.shutdown(socket.SHUT_RDWR)  # as a splunkd closing an idle connection
    assert connection.conf_stanza(ACCOUNT_CONF, "acme") is not None
    assert len({r.connection for r in splunkd.requests}) == 2


class _Silent:
    """Something listening where splunkd should be: it accepts, then does `behave(connection)`."""

    def __init__(self, behave):
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self._listener.getsockname()[1]
        self._behave = behave
        self._connections = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._connections.append(connection)
            threading.Thread(target=self._behave, args=(connection,), daemon=True).start()

    def close(self):
        self._listener.close()
        for connection in self._connections:
            connection.close()


def _never_answers(connection):
    connection.settimeout(30)
    try:
        while connection.recv(65536):
            pass
    except OSError:
        pass


def _answers_without_end(connection):
    connection.recv(65536)
    try:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
        for _ in range(1024):  # 64 MB, far past the client's bound (1 MB here); ends sooner when it closes
            connection.sendall(b" " * 65536)
    except OSError:
        pass


def test_a_splunkd_that_never_answers_ends_the_question_at_the_read_bound(monkeypatch, no_retry_waits):
    monkeypatch.setattr(onepassword_splunkd, "CONNECT_AND_READ_SECONDS", 0.3)
    server = _Silent(_never_answers)
    try:
        started = time.monotonic()
        with pytest.raises(SplunkdError) as caught:
            Splunkd(server.url, "the-session-key", ADDON).get("configs/conf-x")
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert caught.value.reason == "no answer within 0.3 s"
    assert 0.3 * 4 <= elapsed < 5  # the first try and 3 retries, each cut at the bound
    assert "the-session-key" not in str(caught.value)


def test_an_endless_answer_is_cut_at_its_size_bound(monkeypatch, no_retry_waits):
    monkeypatch.setattr(onepassword_splunkd, "MAX_ANSWER_BYTES", 1024 * 1024)
    server = _Silent(_answers_without_end)
    try:
        with pytest.raises(SplunkdError) as caught:
            Splunkd(server.url, "the-session-key", ADDON).get("configs/conf-x")
    finally:
        server.close()
    assert caught.value.reason == "answer too large"


def _answers(body):
    def behave(connection):
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                           % (len(body), body))
    return behave


@pytest.mark.parametrize("body,reason", [(b"<html>splunkd is starting</html>", "answer not JSON"),
                                         (b"[" * 100_000, "answer not JSON"),
                                         (b'["entry"]', "unexpected answer"),
                                         (b'{"entry": {"name": "x"}}', "unexpected answer")])
def test_an_answer_that_is_not_a_listing_is_an_error_of_ours_not_a_crash(body, reason, no_retry_waits):
    server = _Silent(_answers(body))
    try:
        with pytest.raises(SplunkdError) as caught:
            Splunkd(server.url, "the-session-key", ADDON).conf_stanzas(SETTINGS_CONF)
    finally:
        server.close()
    assert caught.value.reason == reason
    assert "splunkd is starting" not in str(caught.value)  # splunkd's own text stays out


def test_the_kv_store_unreachable_is_a_checkpoint_error_naming_the_collection(no_retry_waits):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now
    with pytest.raises(CheckpointError) as caught:
        SplunkEdge("the-session-key", "https://127.0.0.1:%d" % port).checkpoint_store()
    assert str(caught.value) == (f"could not open the KV store collection {CHECKPOINT_COLLECTION} "
                                 "(connection refused); check the KV store status in splunkd.log")


def test_an_address_that_is_not_http_is_refused_before_any_connection():
    for address in ("ftp://127.0.0.1:8089", "127.0.0.1:8089", "https://"):
        with pytest.raises(ValueError):
            Splunkd(address, "key", ADDON)


@pytest.fixture
def make_tls_server_context(tmp_path):
    """A server-side TLS context with a fresh self-signed certificate (the simulator's maker)."""
    from simulator.tls import make_self_signed

    def make():
        cert_file, key_file = make_self_signed(str(tmp_path))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        return context

    return make
