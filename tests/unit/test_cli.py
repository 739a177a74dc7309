import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import responses

import onepassword_events_cli as cli
from onepassword_events.client import RetryPolicy
from helpers import events
from helpers.fake_api import BASE_URL, FakeEventsApi
from helpers.tokens import make_token

CLI = os.path.join(os.path.dirname(cli.__file__), "onepassword_events_cli.py")


@pytest.fixture
def api(monkeypatch):
    monkeypatch.setattr(RetryPolicy, "delay", lambda self, attempt: 0.0)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeEventsApi(rsps)
        monkeypatch.setenv("OP_EVENTS_TOKEN", fake.token)
        yield fake


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_prints_one_json_object(api, capsys):
    code, out, err = run(capsys, "check")
    assert code == 0 and err == ""
    assert json.loads(out) == {"features": ["signinattempts", "itemusages", "auditevents"],
                               "account_uuid": "ACCOUNTUUID", "issued_at": "2026-01-01T00:00:00Z",
                               "host": "events.1password.com"}


def test_check_with_a_revoked_token_fails_with_one_clear_line(api, capsys):
    api.revoked = True
    code, out, err = run(capsys, "check", "--region", "com")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "[authentication]" in err and "revoked" in err and api.token not in err


def test_token_from_stdin(api, capsys, monkeypatch):
    monkeypatch.delenv("OP_EVENTS_TOKEN")
    monkeypatch.setattr(sys, "stdin", io.StringIO(api.token + "\n"))
    code, out, _ = run(capsys, "check")
    assert code == 0 and json.loads(out)["host"] == "events.1password.com"


def test_no_token_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.delenv("OP_EVENTS_TOKEN", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, out, err = run(capsys, "check")
    assert code == 2 and "OP_EVENTS_TOKEN" in err


def test_fetch_jsonl_prints_only_events_and_resumes_from_its_state(api, capsys, tmp_path):
    api.add("signinattempts", [events.signin(n) for n in range(5)])
    api.add("auditevents", [events.auditevent(n) for n in range(2)])
    code, out, err = run(capsys, "fetch", "--state-dir", str(tmp_path), "--limit", "2",
                         "--event-types", "signinattempts,auditevents")
    # stderr says what was written, and nothing else
    assert code == 0 and err == "wrote 7 events (signinattempts 5, auditevents 2)\n"
    assert sorted(json.loads(line)["uuid"] for line in out.splitlines()) == sorted(
        [events.signin(n)["uuid"] for n in range(5)] + [events.auditevent(n)["uuid"] for n in range(2)])
    api.add("signinattempts", [events.signin(5)])
    code, out, err = run(capsys, "fetch", "--state-dir", str(tmp_path), "--event-types", "signinattempts,auditevents")
    assert code == 0 and [json.loads(line)["uuid"] for line in out.splitlines()] == [events.signin(5)["uuid"]]
    assert err == "wrote 1 event (signinattempts 1, auditevents 0)\n"
    code, out, err = run(capsys, "fetch", "--state-dir", str(tmp_path), "--event-types", "signinattempts,auditevents")
    assert code == 0 and out == "" and err.startswith("wrote 0 events: nothing new since the last run")


def test_fetch_defaults_to_every_type_the_token_grants(api, capsys, monkeypatch):
    api.token = make_token(features=["itemusages"])
    monkeypatch.setenv("OP_EVENTS_TOKEN", api.token)
    api.add("itemusages", [events.itemusage(0)])
    code, out, _ = run(capsys, "fetch")
    assert code == 0 and len(out.splitlines()) == 1 and {name for name, _ in api.requests} == {"itemusages"}


def test_fetch_splunk_xml_is_a_modular_input_stream(api, capsys):
    api.add("signinattempts", [events.signin(0)])
    code, out, _ = run(capsys, "fetch", "--format", "splunk-xml", "--event-types", "signinattempts", "--index", "op")
    root = ET.fromstring(out)
    (event,) = root.findall("event")
    assert event.findtext("sourcetype") == "1password:insights:signin_attempts" and event.findtext("index") == "op"
    assert json.loads(event.findtext("data")) == events.signin(0)


def test_fetch_with_a_revoked_token_exits_non_zero(api, capsys):
    api.revoked = True
    code, out, err = run(capsys, "fetch", "--event-types", "auditevents")
    assert code == 1 and out == "" and "[authentication]" in err


@pytest.mark.parametrize("argv, words", [
    (["fetch", "--limit", "0"], "1 to 1000"),
    (["fetch", "--start-time", "last tuesday"], "RFC 3339"),
    (["fetch", "--event-types", "logins"], "unknown event type"),
    (["check", "--base-url", "http://events.example.com"], "only for a literal loopback address"),
])
def test_bad_options_are_explained(api, capsys, argv, words):
    code, out, err = run(capsys, *argv)
    assert code == 2 and words in err and out == ""


def test_an_input_name_is_taken_up_to_the_inputs_pages_100_characters(api, capsys, tmp_path):
    name = "n" * 100
    code, out, err = run(capsys, "fetch", "--event-types", "auditevents", "--state-dir", str(tmp_path),
                         "--input-name", name)
    assert code == 0, err
    assert os.path.exists(tmp_path / f"{name}.auditevents.json")
    for refused in ("n" * 101, ""):
        with pytest.raises(SystemExit) as exited:  # argparse's usage error
            cli.main(["fetch", "--input-name", refused])
        out, err = capsys.readouterr()
        assert exited.value.code == 2 and out == ""
        assert f"an input name of {len(refused)} characters; use 1 to 100, as on the Inputs page" in err


def test_runs_as_a_script_and_takes_no_token_argument(tmp_path):
    helped = subprocess.run([sys.executable, CLI, "fetch", "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "--token" not in helped.stdout and "--state-dir" in helped.stdout
    env = dict(os.environ, OP_EVENTS_TOKEN=make_token())
    refused = subprocess.run([sys.executable, CLI, "check", "--base-url", "http://127.0.0.1:9", "--retry-budget", "3"],
                             capture_output=True,
                             text=True, timeout=120, env=env, stdin=subprocess.DEVNULL)
    assert refused.returncode == 1 and "cannot reach 127.0.0.1:9" in refused.stderr


def test_sigterm_during_a_retry_wait_exits_promptly_with_state_kept(tmp_path):
    import signal
    import time

    from simulator import EventsApiSimulator

    simulator = EventsApiSimulator(auditevents=5).start()
    simulator.inject("http_error", stream="auditevents", status=503, shape="empty", times=None)
    env = dict(os.environ, OP_EVENTS_TOKEN=simulator.token)
    process = subprocess.Popen(
        [sys.executable, CLI, "fetch", "--base-url", simulator.url, "--event-types",
         "auditevents", "--state-dir", str(tmp_path)], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    out, err = process.communicate(timeout=30)
    simulator.stop()
    assert simulator.count("auditevents", status=503) >= 1  # SIGTERM came during the wait after a 503
    assert time.monotonic() - started < 2
    assert process.returncode == 0 and out == ""
