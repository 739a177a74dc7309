"""The add-on's Splunk edge against a fake splunkd (tests/splunkd_fake): real
HTTP on 127.0.0.1, so solnlib / splunklib / splunktaucclib run unmodified.

In-process tests call onepassword_splunk's SplunkEdge (account, proxy, log level, KV store
checkpoints) and the input's REST handler. The end-to-end test runs the
GENERATED modular input (output/TA-1password-events/bin/onepassword.py) as
splunkd does: a child process of python3.13 / python3.9 with -I -S (only the
standard library, the add-on's lib/ and splunkd's own `splunk` package), the
XML input definition on stdin, against the Events API simulator (tests/simulator).
"""

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

import pytest

from conf_reader import read_conf
from onepassword_splunk import SplunkEdge
from helpers.tokens import make_token
from splunkd_fake import (
    ACCOUNT_CONF,
    ADDON,
    CHECKPOINT_COLLECTION,
    CRED_END_MARK,
    CRED_SEP,
    ENCRYPTED,
    SETTINGS_CONF,
    FakeSplunkd,
    activate_splunk_home,
    credential_realm,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCETYPES = {
    "signinattempts": "1password:insights:signin_attempts",
    "itemusages": "1password:insights:item_usages",
    "auditevents": "1password:insights:audit_events",
}


def _logger():
    logger = logging.getLogger("test_splunk_edge")
    logger.addHandler(logging.NullHandler())
    return logger


@pytest.fixture
def splunkd(tmp_path):
    """A fake splunkd, and this process pointed at it as a modular input would be."""
    with FakeSplunkd(splunk_home=tmp_path / "splunk") as fake, fake.activate():
        yield fake


def _log_text(fake, input_name):
    path = os.path.join(fake.splunk_home, "var", "log", "splunk", "ta_1password_events_%s.log" % input_name)
    with open(path, encoding="utf-8") as handle:
        return handle.read()


# -- the built add-on, copied so a run cannot touch output/ ---------------------------------
@pytest.fixture(scope="module")
def built_app(built_addon, tmp_path_factory):
    dest = str(tmp_path_factory.mktemp("built") / ADDON)
    shutil.copytree(built_addon, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    yield dest
    shutil.rmtree(dest, ignore_errors=True)


# -- discovery and configuration -------------------------------------------------------------
def test_solnlib_finds_splunkd_through_server_and_web_conf(splunkd):
    from solnlib import splunkenv

    local = os.path.join(splunkd.splunk_home, "etc", "system", "local")
    assert read_conf(os.path.join(local, "web.conf"))["settings"]["mgmtHostPort"] == "127.0.0.1:%d" % splunkd.port
    assert read_conf(os.path.join(local, "server.conf"))["sslConfig"]["enableSplunkdSSL"] == "false"
    assert splunkenv.get_splunkd_access_info(splunkd.session_key) == ("http", "127.0.0.1", splunkd.port)
    asked = [(r.path, r.query.get("output_mode")) for r in splunkd.requests]
    assert asked == [("/servicesNS/nobody/system/configs/conf-server/sslConfig", "json"),
                     ("/servicesNS/nobody/system/configs/conf-web/settings", "json")]


def test_read_account_returns_the_account_with_its_token_decrypted(splunkd):
    token = make_token("events.1password.com")
    splunkd.set_account("acme", token=token, region="custom", custom_url="http://127.0.0.1:9", verify_tls=True)
    # stored as UCC stores it: '******' in the conf, JSON in storage/passwords, in 255-char pieces
    assert splunkd.conf_stanza(ACCOUNT_CONF, "acme")["token"] == ENCRYPTED
    pieces = splunkd.passwords()
    assert len(token) > 255 and len(pieces) == 3
    assert {p["realm"] for p in pieces} == {credential_realm(ADDON, ACCOUNT_CONF)}
    assert pieces[-1]["clear_password"] == CRED_END_MARK
    assert "".join(p["clear_password"] for p in pieces[:-1]) == json.dumps({"token": token})

    account = SplunkEdge(splunkd.session_key).read_account("acme")

    assert account["token"] == token
    assert (account["region"], account["custom_url"], account["verify_tls"]) == ("custom", "http://127.0.0.1:9", "1")
    assert not [key for key in account if key.startswith("eai:")]  # splunkd's metadata is not the account's
    searches = [r.query.get("search") for r in splunkd.requests_for(kind="passwords")]
    assert searches == ["realm=" + credential_realm(ADDON, ACCOUNT_CONF)]
    assert all(r.authorized and r.status < 400 for r in splunkd.requests)


def test_an_account_saved_through_solnlib_reads_back_like_one_set_by_the_fake(splunkd):
    """Cross-check of the fake's credential layout with solnlib's own writer."""
    from solnlib import conf_manager

    token = make_token("events.1password.eu", features=("auditevents",))
    splunkd.set_account("by_fake", token=token, region="auto")
    manager = conf_manager.ConfManager(splunkd.session_key, ADDON, realm=credential_realm(ADDON, ACCOUNT_CONF))
    manager.get_conf(ACCOUNT_CONF).update("by_solnlib", {"token": token, "region": "auto"}, encrypt_keys=["token"])

    assert SplunkEdge(splunkd.session_key).read_account("by_solnlib")["token"] == token
    assert splunkd.conf_stanza(ACCOUNT_CONF, "by_solnlib")["token"] == ENCRYPTED

    def layout(name):
        return [(p["username"].replace(name, "NAME"), p["clear_password"]) for p in splunkd.passwords()
                if p["username"].split(CRED_SEP)[0] == name]

    assert layout("by_solnlib") == layout("by_fake")


def test_a_missing_account_reads_as_none(splunkd):
    splunkd.set_account("acme", token=make_token(), region="auto")
    assert SplunkEdge(splunkd.session_key).read_account("ghost") is None
    assert splunkd.requests_for(contains="conf-ta_1password_events_account/ghost")[-1].status == 404


# The build ships no account conf: until an account is saved, splunkd answers 404
# for the file itself, which must read as "no such account", not as a crash.
def test_an_account_conf_never_saved_reads_as_a_missing_account(splunkd):
    assert SplunkEdge(splunkd.session_key).read_account("acme") is None


def test_an_input_whose_account_conf_was_never_saved_reports_a_configuration_error(splunkd):
    import io

    import onepassword_events_helper as helper
    from onepassword_events.sinks import ModularInputStream

    helper.collect_input("onepassword://fresh", {"account": "acme"}, SplunkEdge(splunkd.session_key),
                         ModularInputStream(io.StringIO()))
    log = _log_text(splunkd, "fresh")
    assert '"label":"Configuration Error"' in log and "'acme', which does not exist" in log, log


def test_an_input_whose_account_is_missing_reports_a_configuration_error(splunkd):
    import io

    import onepassword_events_helper as helper
    from onepassword_events.sinks import ModularInputStream

    splunkd.set_account("acme", token=make_token(), region="auto")
    out = io.StringIO()
    helper.collect_input("onepassword://orphan", {"account": "ghost"}, SplunkEdge(splunkd.session_key),
                         ModularInputStream(out))
    log = _log_text(splunkd, "orphan")
    assert '"label":"Configuration Error"' in log and "'ghost', which does not exist" in log, log
    assert "Traceback" not in log and out.getvalue() == ""


def test_read_proxy_returns_the_stanza_with_the_password_decrypted(splunkd):
    from onepassword_events.proxy import proxy_url

    splunkd.set_proxy(proxy_enabled="1", proxy_type="http", proxy_url="proxy.corp", proxy_port="3128",
                      proxy_username="svc", proxy_password="p@ss:word", proxy_rdns="0")
    assert splunkd.conf_stanza(SETTINGS_CONF, "proxy")["proxy_password"] == ENCRYPTED

    proxy = SplunkEdge(splunkd.session_key).read_proxy(_logger())

    assert proxy == {"proxy_enabled": "1", "proxy_type": "http", "proxy_url": "proxy.corp", "proxy_port": "3128",
                     "proxy_username": "svc", "proxy_password": "p@ss:word", "proxy_rdns": "0"}
    assert proxy_url(proxy) == "http://svc:p%40ss%3Aword@proxy.corp:3128"


def test_read_proxy_is_empty_when_the_proxy_stanza_was_never_saved(splunkd):
    splunkd.set_log_level("INFO")  # the settings conf exists, without a proxy stanza
    assert SplunkEdge(splunkd.session_key).read_proxy(_logger()) == {}


def test_read_log_level(splunkd):
    splunkd.create_conf(SETTINGS_CONF)
    edge = SplunkEdge(splunkd.session_key)
    assert edge.read_log_level(_logger()) == "INFO"  # solnlib's default
    splunkd.set_log_level("DEBUG")
    assert SplunkEdge(splunkd.session_key).read_log_level(_logger()) == "DEBUG"  # the next run's edge


def test_the_built_defaults_mean_no_proxy_and_info_until_the_admin_saves_settings(built_app, tmp_path_factory):
    from onepassword_events.proxy import proxy_url

    with FakeSplunkd(splunk_home=tmp_path_factory.mktemp("splunk-home")) as fake, fake.activate():
        fake.install_app(built_app)
        edge = SplunkEdge(fake.session_key)
        proxy = edge.read_proxy(_logger())
        assert proxy["proxy_type"] == "http" and not proxy["proxy_enabled"] and not proxy["proxy_password"]
        assert proxy_url(proxy) is None
        assert edge.read_log_level(_logger()) == "INFO"
        fake.set_log_level("WARNING")  # local/ overrides default/
        assert SplunkEdge(fake.session_key).read_log_level(_logger()) == "WARNING"
        # collections.conf defined the checkpoint collection: nothing to create
        edge.checkpoint_store()
        assert fake.kv_collections()[CHECKPOINT_COLLECTION] == {"state": "string"}
        assert not [r for r in fake.requests if r.method == "POST"]
        fake.stop(remove_home=True)


def test_an_edge_asks_where_splunkd_is_once_however_many_clients_it_builds(splunkd, monkeypatch):
    monkeypatch.delenv("SPLUNKD_URI", raising=False)  # a REST handler's process, which splunkd does not tell
    splunkd.set_account("acme", token=make_token(), region="auto")
    splunkd.create_conf(SETTINGS_CONF)
    edge = SplunkEdge(splunkd.session_key)
    splunkd.clear_requests()
    assert edge.read_account("acme")["region"] == "auto"
    assert edge.read_proxy(_logger()) == {}
    assert edge.read_log_level(_logger()) == "INFO"
    edge.checkpoint_store().save("acme_events.auditevents", json.dumps({"cursor": "c"}))
    lookups = [r.path for r in splunkd.requests if "/conf-server/" in r.path or "/conf-web/" in r.path]
    assert lookups == ["/servicesNS/nobody/system/configs/conf-server/sslConfig",
                       "/servicesNS/nobody/system/configs/conf-web/settings"]
    assert splunkd.kv_states(CHECKPOINT_COLLECTION)["acme_events.auditevents"]["cursor"] == "c"


def test_a_wrong_session_key_is_refused(splunkd):
    token = make_token()
    splunkd.set_account("acme", token=token, region="auto")
    with pytest.raises(Exception) as caught:
        SplunkEdge("not-the-session-key").read_account("acme")
    assert token not in str(caught.value)
    assert splunkd.requests[-1].status == 401 and not splunkd.requests[-1].authorized


# -- KV store checkpoints ----------------------------------------------------------------------
def test_the_input_rest_handler_deletes_the_checkpoints_of_a_removed_input(splunkd):
    import onepassword_input_handler as handler

    for key in ("old.signinattempts", "old.auditevents", "kept.auditevents"):
        splunkd.kv_put(key, {"state": json.dumps({"cursor": key})})
    handler.delete_checkpoints(SplunkEdge(splunkd.session_key), "old")
    assert list(splunkd.kv_records()) == ["kept.auditevents"]
    log = _log_text(splunkd, "old")
    for name in ("signinattempts", "itemusages", "auditevents"):  # itemusages: 404, still fine
        assert "event=checkpoint_deleted key=old.%s" % name in log
    assert "checkpoint_delete_failed" not in log


def test_the_fake_runs_as_its_own_process(tmp_path):
    token = make_token()
    secrets_dir = tempfile.mkdtemp(prefix="fake-splunkd-state-")  # holds the token: outside tmp_path
    try:
        state = os.path.join(secrets_dir, "state.json")
        with open(state, "w", encoding="utf-8") as handle:
            json.dump({"accounts": {"acme": {"token": token, "region": "auto"}}, "log_level": "DEBUG"}, handle)
        dump = str(tmp_path / "dump.json")
        server = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests", "splunkd_fake", "server.py"), "--state", state,
             "--dump", dump, "--splunk-home", str(tmp_path / "splunk")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            ready = json.loads(server.stdout.readline())
            with activate_splunk_home(ready["splunk_home"]):
                edge = SplunkEdge(ready["session_key"])
                assert edge.read_account("acme")["token"] == token
                assert edge.read_log_level(_logger()) == "DEBUG"
                edge.checkpoint_store().save("i.auditevents", json.dumps({"cursor": "x"}))
        finally:
            server.send_signal(signal.SIGTERM)
            _, err = server.communicate(timeout=20)
        assert server.returncode == 0, err
        with open(dump, encoding="utf-8") as handle:
            dumped = json.load(handle)
        record = dumped["kvstore"]["%s/%s" % (ADDON, CHECKPOINT_COLLECTION)]["i.auditevents"]
        assert json.loads(json.loads(record["state"])) == {"cursor": "x"}  # the state's JSON text, as a JSON string
        assert any(r["kind"] == "passwords" for r in dumped["requests"])
    finally:
        shutil.rmtree(secrets_dir, ignore_errors=True)


# -- end to end: the generated modular input as splunkd runs it ------------------------------
def _rfc3339(second, fraction=""):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)) + ("." + fraction if fraction else "") + "Z"


def _served_items():
    """Raw item texts with the spacing, escapes and characters Splunk must get verbatim."""
    base = int(time.time()) - 7200
    items = {
        "signinattempts": [
            '{"uuid":"SIA-1","session_uuid":"S1","timestamp":"%s","category":"success","type":"credentials_ok",'
            '"target_user":{"email":"ana@example.com","name":"Ana"}}' % _rfc3339(base, "5"),
            '{ "uuid" : "SIA-2", "timestamp" : "%s", "category" : "credentials_failed",\n'
            '  "client" : {"app_name":"1Password Browser Extension","platform_name":"Chrome <beta> & co"} }'
            % _rfc3339(base + 1, "123456789"),
        ],
        "auditevents": [
            '{"uuid":"AUD-1","timestamp":"%s","actor_uuid":"A1","action":"join","object_type":"user",'
            '"aux_info":"<b>&amp;</b>"}' % _rfc3339(base + 2),
            '{"uuid":"AUD-2","timestamp":"%s","actor_details":{"name":"Zo\u00eb \u00d1and\u00fa \u2603",'
            '"email":"zoe@example.com"},"action":"\\u00e9t\\u00e9\\n"}' % _rfc3339(base + 3, "25"),
            '{"uuid":"AUD-3","timestamp":"%s","action":"grant","session":{"ip":"192.0.2.7"},"note":"\\"quoted\\""}'
            % _rfc3339(base + 4, "000001"),
        ],
    }
    times = {
        "SIA-1": "%d.5" % base, "SIA-2": "%d.123456" % (base + 1), "AUD-1": "%d" % (base + 2),
        "AUD-2": "%d.25" % (base + 3), "AUD-3": "%d.000001" % (base + 4),
    }
    return items, times


def _interpreter(version, command):
    """The real interpreter behind a pyenv shim, or None when it is not installed."""
    env = dict(os.environ, PYENV_VERSION=version)
    try:
        code = "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])"
        found = subprocess.run([command, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = found.stdout.split()
    if found.returncode != 0 or len(lines) != 2 or lines[1] != version.rsplit(".", 1)[0]:
        return None
    return lines[0]


# Dropped into the installed app's bin/: what the child imports, and from where.
PROBE = r"""
import import_declare_test  # noqa: F401
import json, sys, sysconfig
import requests, solnlib.conf_manager, solnlib.modular_input.checkpointer, splunklib.client  # noqa: F401
import splunk, splunk.rest, splunk.clilib.bundle_paths  # noqa: F401  (splunkd's own package)
import onepassword_events_helper  # noqa: F401
print(json.dumps({
    "version": "%d.%d" % sys.version_info[:2],
    "site": "site" in sys.modules,
    "stdlib": [sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]],
    "files": sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())} - {""}),
}))
"""


def _check_child_python(splunkd, python, version, app_dir):
    """The child sees the stdlib, the add-on (bin/, lib/) and splunkd's `splunk` package, nothing else;
    and splunkd's other calls (--scheme, --validate-arguments) work."""
    probe = os.path.join(app_dir, "bin", "_splunkd_fake_probe.py")
    with open(probe, "w", encoding="utf-8") as handle:
        handle.write(PROBE)
    result = subprocess.run(splunkd.python_command(python, probe), capture_output=True, env=splunkd.env(),
                            timeout=60, text=True)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["version"] == version.rsplit(".", 1)[0] and not seen["site"]
    allowed = [os.path.join(app_dir, "bin") + os.sep, os.path.join(app_dir, "lib") + os.sep,
               os.path.join(splunkd.splunk_home, "lib", "python3", "site-packages") + os.sep,
               os.path.dirname(splunkd.python_command(python, probe)[3]) + os.sep]
    allowed += [os.path.join(p, "") for p in seen["stdlib"]]
    site = os.path.join(splunkd.splunk_home, "lib", "python3", "site-packages")
    foreign = [f for f in seen["files"] if not f.startswith(tuple(allowed))
               or ("site-packages" in f and not f.startswith(site))]  # the interpreter's own packages
    assert not foreign, foreign
    assert any(f.startswith(os.path.join(app_dir, "lib", "solnlib")) for f in seen["files"])

    scheme = subprocess.run(splunkd.python_command(python, os.path.join(app_dir, "bin", "onepassword.py"), "--scheme"),
                            capture_output=True, env=splunkd.env(), timeout=60, text=True)
    assert scheme.returncode == 0, scheme.stderr
    root = ET.fromstring(scheme.stdout)
    assert (root.tag, root.findtext("title"), root.findtext("use_external_validation"),
            root.findtext("streaming_mode")) == ("scheme", "onepassword", "true", "xml")
    names = {arg.get("name") for arg in root.iter("arg")}
    assert {"account", "event_types", "start_time", "page_size"} <= names

    def validate(params):
        return subprocess.run(
            splunkd.python_command(python, os.path.join(app_dir, "bin", "onepassword.py"), "--validate-arguments"),
            input=splunkd.validation_definition("acme_events", params), capture_output=True, env=splunkd.env(),
            timeout=60, text=True)

    good = validate({"account": "acme", "event_types": "auditevents,signinattempts", "page_size": "500"})
    assert good.returncode == 0 and good.stdout == "", good.stdout + good.stderr
    bad = validate({"account": "acme", "event_types": "auditevents,passwords", "page_size": "500"})
    assert bad.returncode == 1 and "passwords" in ET.fromstring(bad.stdout).findtext("message")


class _Outputs:
    """The outputs of a run, also handed to the functional suite's token scanner when it is there."""

    def __init__(self, request):
        self.outputs = []
        try:
            self._scanner = request.getfixturevalue("scanner")
        except pytest.FixtureLookupError:
            self._scanner = None

    def add_token(self, token):
        if self._scanner is not None:
            self._scanner.add_token(token)

    def add_directory(self, path):
        if self._scanner is not None:
            self._scanner.add_directory(path)

    def add(self, label, text):
        self.outputs.append((label, text))
        if self._scanner is not None:
            self._scanner.add(label, text)


def _parse_stream(stdout):
    """The events of a modular-input XML stream, checked element by element."""
    root = ET.fromstring(stdout)
    assert root.tag == "stream"
    events = []
    for event in root:
        assert event.tag == "event"
        assert [child.tag for child in event] == ["time", "source", "sourcetype", "index", "data", "done"]
        events.append(dict(event.attrib, **{child.tag: child.text for child in event}))
    return events


@pytest.mark.parametrize("version,command", [("3.13.0", "python3.13"), ("3.9.18", "python3.9")],
                         ids=["python3.13", "python3.9"])
def test_the_generated_input_runs_as_splunkd_runs_it(version, command, built_app, tmp_path_factory, request,
                                                     make_sim):
    python = _interpreter(version, command)
    if python is None:
        pytest.skip("%s (PYENV_VERSION=%s) is not installed" % (command, version))
    sim = make_sim(features=("signinattempts", "auditevents"))  # no backlog: only the items below
    token = sim.token
    scanner = _Outputs(request)
    scanner.add_token(token)
    items, times = _served_items()
    for stream, raws in items.items():
        for raw in raws:
            sim.append_raw(stream, raw)
    home = tmp_path_factory.mktemp("splunk-home")
    with FakeSplunkd(splunk_home=home) as splunkd:
        app_dir = splunkd.install_app(built_app)
        scanner.add_directory(os.path.join(splunkd.splunk_home, "var"))
        splunkd.set_account("acme", token=token, region="custom", custom_url=sim.url, verify_tls=True)
        _check_child_python(splunkd, python, version, app_dir)
        script = os.path.join(app_dir, "bin", "onepassword.py")
        definition = splunkd.input_definition({
            # first an input whose account is gone: the next one must still run
            "onepassword://orphan": {"account": "ghost", "index": "main", "interval": "60"},
            "onepassword://acme_events": {
                "account": "acme", "event_types": "", "index": "op_events", "interval": "60", "page_size": "2",
                "host": splunkd.server_name, "python.version": "python3", "python.required": "3.13",
                "disabled": "0",
            },
        })

        def run(*flags):
            result = subprocess.run([python, *flags] + splunkd.python_command(python, script)[1:], input=definition.encode(),
                                    capture_output=True, env=splunkd.env(), cwd=splunkd.splunk_home, timeout=120)
            # the XML stream is UTF-8 whatever the items hold (strict decoding fails otherwise)
            stdout, stderr = result.stdout.decode("utf-8"), result.stderr.decode("utf-8", "replace")
            scanner.add("input stdout", stdout)
            scanner.add("input stderr", stderr)
            assert result.returncode == 0, stderr
            # stderr goes to splunkd.log: no EventWriter ERROR/FATAL, and no log records (the
            # orphan input's missing account is in its own log file, below)
            records = [line for line in stderr.splitlines()
                       if line.startswith(("DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "FATAL"))]
            assert records == [], stderr
            return stdout, stderr

        # -- first run: everything served lands in the stream, cursors in the KV store
        events = _parse_stream(run()[0])
        assert len(events) == 5
        for stream, raws in items.items():
            got = [e for e in events if e["sourcetype"] == SOURCETYPES[stream]]
            assert [e["data"] for e in got] == raws  # verbatim, item by item, in order
        for event in events:
            uuid = json.loads(event["data"])["uuid"]
            assert event["time"] == times[uuid]
            assert (event["stanza"], event["unbroken"]) == ("onepassword://acme_events", "1")
            assert (event["source"], event["index"]) == ("1password:acme", "op_events")
        first = [r for r in sim.requests if r.endpoint in SOURCETYPES]
        assert sorted(r.path for r in first) == ["/api/v2/auditevents", "/api/v2/auditevents",
                                                 "/api/v2/signinattempts"]  # itemusages is not granted
        assert all(r.auth == "ok" for r in sim.requests)
        resets = [r.body for r in first if r.is_reset]
        assert len(resets) == 2 and all(body["limit"] == 2 for body in resets)

        states = splunkd.kv_states(CHECKPOINT_COLLECTION)
        assert sorted(states) == ["acme_events.auditevents", "acme_events.signinattempts"]
        host = sim.url.split("://", 1)[1]
        for key, state in states.items():
            assert (state["account"], state["host"]) == ("acme", host)
        for stream in ("auditevents", "signinattempts"):  # the cursor of the last page served
            assert states["acme_events." + stream]["cursor"] == sim.stream_requests(stream)[-1].cursor_out
        for record in splunkd.kv_records(CHECKPOINT_COLLECTION).values():
            assert isinstance(record["state"], str)

        log = _log_text(splunkd, "acme_events")
        summaries = [json.loads(line.split(" | ", 1)[1]) for line in log.splitlines()
                     if '"event":"run_summary"' in line]
        assert len(summaries) == 1 and summaries[0]["events"] == 5 and summaries[0]["host"] == host
        assert summaries[0]["requests"] == 3 and summaries[0]["statuses"] == "200:3"
        assert (summaries[0]["input"], summaries[0]["account"]) == ("acme_events", "acme")
        assert "action=events_ingested" in log
        orphan = _log_text(splunkd, "orphan")
        assert '"label":"Configuration Error"' in orphan and "'ghost', which does not exist" in orphan

        # the way in: the conf, the realm's passwords, the KV store
        paths = [r.path for r in splunkd.requests]
        for expected in ("/servicesNS/nobody/%s/configs/conf-%s/acme" % (ADDON, ACCOUNT_CONF),
                         "/servicesNS/nobody/%s/configs/conf-%s" % (ADDON, SETTINGS_CONF),
                         "/servicesNS/nobody/%s/storage/passwords" % ADDON,
                         "/servicesNS/nobody/%s/storage/collections/config/%s" % (ADDON, CHECKPOINT_COLLECTION),
                         "/servicesNS/nobody/%s/storage/collections/data/%s/batch_save"
                         % (ADDON, CHECKPOINT_COLLECTION)):
            assert expected in paths, expected
        assert all(r.authorized for r in splunkd.requests)
        assert not [r for r in splunkd.requests if r.kind == "unknown" or r.status >= 500]

        # -- second run: only the saved cursors go out, nothing new comes in
        sim.clear_log()
        splunkd.clear_requests()
        stdout, stderr = run("-X", "importtime")
        assert "<event" not in stdout
        # neither requests nor solnlib (with its own imports, about 60 ms of CPU per run) on a run without a proxy
        imported = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|( *)(\S+)$", stderr, re.M)
        assert {"splunklib", "urllib3", "onepassword_events_helper"} <= {module for _, module in imported}
        assert not [module for _, module in imported if module.split(".")[0] in ("requests", "solnlib", "certifi")]
        # splunkd names itself in the input's definition: the run never asks where splunkd
        # is (server.conf, web.conf), lists the settings conf once for the level and the proxy,
        # and asks everything over one connection
        idle_paths = [r.path for r in splunkd.requests]
        assert not [path for path in idle_paths if "/conf-server/" in path or "/conf-web/" in path], idle_paths
        assert idle_paths.count("/servicesNS/nobody/%s/configs/conf-%s" % (ADDON, SETTINGS_CONF)) == 1, idle_paths
        assert len({r.connection for r in splunkd.requests}) == 1, splunkd.requests
        again = [r for r in sim.requests if r.endpoint in SOURCETYPES]
        assert all(set(r.body) == {"cursor"} for r in again)
        assert sorted((r.path, r.body["cursor"]) for r in again) == sorted(
            ("/api/v2/" + key.split(".", 1)[1], state["cursor"]) for key, state in states.items())
        saved = {key: state["cursor"] for key, state in splunkd.kv_states(CHECKPOINT_COLLECTION).items()}
        assert saved == {key: state["cursor"] for key, state in states.items()}
        summaries = [json.loads(line.split(" | ", 1)[1]) for line in _log_text(splunkd, "acme_events").splitlines()
                     if '"event":"run_summary"' in line]
        assert len(summaries) == 2 and summaries[1]["events"] == 0

        # -- the token went nowhere it should not
        outputs = [text for label, text in scanner.outputs]
        outputs.append(json.dumps(splunkd.kv_records(CHECKPOINT_COLLECTION)))
        outputs.append(json.dumps([r._asdict() for r in splunkd.requests]))
        for folder, _, files in os.walk(os.path.join(splunkd.splunk_home, "var")):
            for name in files:
                with open(os.path.join(folder, name), "rb") as handle:
                    outputs.append(handle.read().decode("utf-8", "replace"))
        for part in [token] + token.split(".")[1:]:
            assert not [text for text in outputs if part in text]
    shutil.rmtree(app_dir)  # 23 MB; the logs stay for a look


def _remove_input_through_its_rest_handler(fake, app_dir, input_name):
    """DELETE of an input as splunkd hands it to the generated ta_1password_events_rh_onepassword.py
    (run as __main__ from the app's bin/, where splunktaucclib reads the app's name)."""
    import runpy

    from splunk import admin

    script = os.path.join(app_dir, "bin", "ta_1password_events_rh_onepassword.py")
    environment = dict(os.environ)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPLUNKD_URI", fake.url)  # where splunktaucclib looks for splunkd first
        runpy.run_path(script, run_name="__main__")
        handler_class, _ = admin.initialized[-1]
        patch.setattr(sys.modules["__main__"], "__file__", script, raising=False)  # (none under xdist)
        handler = handler_class("persistent", admin.CONTEXT_APP_ONLY,
                                admin.eai_request(admin.ACTION_REMOVE, input_name, {}, fake.session_key,
                                                  user="admin"))
        handler.handleRemove(admin.ConfigInfo())
    os.environ.clear()
    os.environ.update(environment)  # (the generated file drops proxy variables)


def test_deleting_an_input_deletes_it_and_its_checkpoints_even_while_the_kvstore_is_down(built_app, tmp_path_factory):
    with FakeSplunkd(splunk_home=tmp_path_factory.mktemp("splunk-home")) as fake, fake.activate():
        app_dir = fake.install_app(built_app)
        for name in ("gone", "old", "kept"):
            fake.set_stanza("inputs", "onepassword://%s" % name, {"account": "acme", "index": "main", "interval": "60"})
            fake.kv_put("%s.auditevents" % name, {"state": json.dumps({"cursor": name})})
        _remove_input_through_its_rest_handler(fake, app_dir, "gone")
        assert fake.conf_stanza("inputs", "onepassword://gone") is None
        assert sorted(fake.kv_records()) == ["kept.auditevents", "old.auditevents"]
        assert "event=checkpoint_deleted key=gone.auditevents" in _log_text(fake, "gone")

        fake.fail_kvstore(times=1000, status=503)  # down: every KV store request fails from now on
        _remove_input_through_its_rest_handler(fake, app_dir, "old")
        assert fake.conf_stanza("inputs", "onepassword://old") is None
        assert fake.conf_stanza("inputs", "onepassword://kept")["account"] == "acme"
        # the record stays (nothing could reach it), and the input's log says which were left
        assert "event=checkpoint_delete_failed keys=old.signinattempts,old.itemusages,old.auditevents" in \
            _log_text(fake, "old")
        fake.stop(remove_home=True)


@pytest.mark.parametrize("version,command", [("3.13.0", "python3.13"), ("3.9.18", "python3.9")],
                         ids=["python3.13", "python3.9"])
def test_sigterm_while_splunkd_reads_slowly_loses_no_event_and_repeats_none(
        version, command, built_app, tmp_path_factory, make_sim, scanner):
    """splunkd stops the input (SIGTERM) while the stdout pipe is full, the input blocked in the
    middle of a page: what splunkd read and what the next run reads from the saved checkpoint
    are every event once, in order."""
    python = _interpreter(version, command)
    if python is None:
        pytest.skip("%s (PYENV_VERSION=%s) is not installed" % (command, version))
    sim = make_sim(seed=23, signinattempts=3000, span_seconds=86400)
    start = sim.anchor - 2 * 86400
    with FakeSplunkd(splunk_home=tmp_path_factory.mktemp("splunk-home")) as fake:
        app_dir = fake.install_app(built_app)
        scanner.add_directory(os.path.join(fake.splunk_home, "var"))
        fake.set_account("acme", token=sim.token, region="custom", custom_url=sim.url)
        definition = fake.input_definition({"onepassword://slow_reader": {
            "account": "acme", "event_types": "signinattempts", "index": "main", "interval": "60",
            "page_size": "1000", "start_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))}})
        command = fake.python_command(python, os.path.join(app_dir, "bin", "onepassword.py"))

        def run(stop_early):
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       env=fake.env(), cwd=fake.splunk_home, bufsize=0)
            process.stdin.write(definition.encode("utf-8"))
            process.stdin.close()
            process.stdin = None
            head = b""
            if stop_early:
                head = process.stdout.read(4096)  # the first page is under way
                time.sleep(1.0)  # the pipe (64 KiB) fills; the input blocks inside a write of 100 events
                process.send_signal(signal.SIGTERM)
            rest, err = process.communicate(timeout=120)
            scanner.add("input stdout", (head + rest).decode("utf-8", "replace"))
            scanner.add("input stderr", err.decode("utf-8", "replace"))
            assert process.returncode == 0, err.decode("utf-8", "replace")[-3000:]
            out = head + rest
            return [event["data"] for event in _parse_stream(out)] if out else []  # nothing new: not even <stream>

        stopped = run(stop_early=True)
        saved = fake.kv_states(CHECKPOINT_COLLECTION)["slow_reader.signinattempts"]
        resumed = run(stop_early=False)
        log = _log_text(fake, "slow_reader")
        fake.stop(remove_home=True)
    expected = sim.expected("signinattempts", start)
    assert 0 < len(stopped) < len(expected), "the stop came after the whole backlog; nothing was tested"
    assert "SIGTERM" in log and saved["cursor"]
    assert stopped + resumed == expected
