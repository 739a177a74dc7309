"""The modular input's edge: Splunk configuration in, XML events out, categorized logs."""

import io
import json
import logging
import os
import xml.etree.ElementTree as ET

import pytest
import responses

import onepassword_events_helper as helper
from onepassword_splunk import LocalEdge, SplunkEdge
from onepassword_events.sinks import ModularInputStream
from helpers import events
from helpers.fake_api import FakeEventsApi
from helpers.tokens import make_token


@pytest.fixture
def api(splunkd):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru(splunkd.url)  # solnlib asks splunkd through requests too
        yield FakeEventsApi(rsps)


def log_lines(splunkd, input_name="acme_in"):
    """The input's log file, as solnlib wrote it under splunkd's var/log/splunk."""
    path = os.path.join(splunkd.splunk_home, "var", "log", "splunk", "ta_1password_events_%s.log" % input_name)
    with open(path, encoding="utf-8") as handle:
        return handle.read().splitlines()


def run_input(splunkd, item, name="onepassword://acme_in", stop_requested=lambda: False, out=None, edge=None):
    out = out or io.StringIO()
    stream = ModularInputStream(out)
    helper.collect_input(name, item, edge or SplunkEdge(splunkd.session_key), stream, stop_requested)
    stream.close()
    return out.getvalue()


def parsed(xml_text):
    return ET.fromstring(xml_text).findall("event")


def test_events_of_every_granted_stream_arrive_verbatim_with_their_sourcetype(splunkd, api):
    splunkd.set_account("acme", token=api.token, region="auto", verify_tls="1")
    api.add("signinattempts", [events.signin(n) for n in range(3)])
    api.add("itemusages", [events.itemusage(n) for n in range(2)])
    api.add("auditevents", [events.auditevent(n) for n in range(2)])
    xml_text = run_input(splunkd, {"account": "acme", "index": "onepassword", "page_size": "2", "start_time": ""})
    received = parsed(xml_text)
    by_type = {}
    for event in received:
        by_type.setdefault(event.findtext("sourcetype"), []).append(event)
        assert event.findtext("index") == "onepassword"
        assert event.findtext("source") == "1password:acme"
        assert event.get("stanza") == "onepassword://acme_in"
    assert {k: len(v) for k, v in by_type.items()} == {
        "1password:insights:signin_attempts": 3, "1password:insights:item_usages": 2, "1password:insights:audit_events": 2}
    served = {item["uuid"]: json.dumps(item) for stream in api.items.values() for item in stream}
    for event in received:
        text = event.findtext("data")
        assert text == served[json.loads(text)["uuid"]]  # the API's text, unchanged
    assert any('"event":"run_summary"' in line and '"events":7}' in line for line in log_lines(splunkd))
    assert any("action=events_ingested" in line for line in log_lines(splunkd))


def test_event_time_is_the_item_timestamp_to_the_microsecond(splunkd, api):
    splunkd.set_account("acme", token=api.token)
    api.add("signinattempts", [events.signin(0)])
    xml_text = run_input(splunkd, {"account": "acme", "event_types": "signinattempts"})
    (event,) = parsed(xml_text)
    assert event.findtext("time") == "%d.123456" % events.BASE


def test_event_type_the_token_lacks_is_skipped_with_a_permission_error(splunkd, api):
    limited = make_token(features=["auditevents"])
    api.token = limited
    splunkd.set_account("acme", token=limited)
    api.add("auditevents", [events.auditevent(0)])
    xml_text = run_input(splunkd, {"account": "acme", "event_types": "signinattempts,auditevents"})
    assert len(parsed(xml_text)) == 1
    assert [name for name, _ in api.requests] == ["auditevents"]
    skipped = [line for line in log_lines(splunkd) if "Permission Error" in line]
    assert skipped and "does not grant signinattempts" in skipped[0]


def test_revoked_token_is_an_authentication_error_without_the_token(splunkd, api):
    splunkd.set_account("acme", token=api.token)
    api.revoked = True
    run_input(splunkd, {"account": "acme"})
    errors = [line for line in log_lines(splunkd) if "Authentication Error" in line]
    assert len(errors) == 3 and "invalid, expired or revoked" in errors[0]
    assert not any(api.token in line for line in log_lines(splunkd))


def test_bad_input_settings_are_refused_by_validation():
    class Definition:
        parameters = {"event_types": "signinattempts,logins", "page_size": "1000", "start_time": ""}

    with pytest.raises(ValueError, match="unknown event type"):
        helper.validate_input(Definition)
    Definition.parameters = {"page_size": "5000"}
    with pytest.raises(ValueError, match="1 to 1000"):
        helper.validate_input(Definition)
    Definition.parameters = {"start_time": "2020-01-01T00:00:00Z"}
    with pytest.raises(ValueError, match="120 days"):
        helper.validate_input(Definition)
    Definition.parameters = {"event_types": "auditevents", "page_size": "100", "start_time": ""}
    helper.validate_input(Definition)


def test_proxy_settings_are_used_and_a_bad_proxy_is_explained(splunkd, api):
    splunkd.set_account("acme", token=api.token)
    splunkd.set_proxy(proxy_enabled="1", proxy_url="proxy.corp", proxy_port="nope")
    run_input(splunkd, {"account": "acme"})
    errors = [line for line in log_lines(splunkd) if "Configuration Error" in line]
    assert errors and "proxy port" in errors[0] and api.requests == []


def test_a_splunkd_that_cannot_give_the_settings_fails_the_input_in_one_record(splunkd, api, monkeypatch):
    import onepassword_splunkd

    monkeypatch.setattr(onepassword_splunkd, "RETRY_WAITS", (0, 0, 0))
    splunkd.set_account("acme", token=api.token)
    splunkd.fail_requests("conf", times=8, status=503)  # 4 tries for the log level (INFO then), 4 for the account
    run_input(splunkd, {"account": "acme"})
    failed = [json.loads(line.split(" | ", 1)[1]) for line in log_lines(splunkd) if '"event":"input_failed"' in line]
    assert len(failed) == 1 and api.requests == []
    assert (failed[0]["category"], failed[0]["label"]) == ("configuration", "Configuration Error")
    assert "HTTP 503" in failed[0]["message"] and "traceback" not in failed[0]


def test_sigterm_flag_stops_between_pages(splunkd, api):
    splunkd.set_account("acme", token=api.token)
    api.add("signinattempts", [events.signin(n) for n in range(10)])
    out = io.StringIO()

    def first_page_written():  # SIGTERM right after the first page
        return "</event>" in out.getvalue()

    xml_text = run_input(splunkd, {"account": "acme", "event_types": "signinattempts", "page_size": "5"},
                         stop_requested=first_page_written, out=out)
    assert len(parsed(xml_text)) == 5
    assert any('"status":"interrupted"' in line for line in log_lines(splunkd))


def test_stop_during_a_retry_wait_ends_the_run_at_once(splunkd, api):
    import threading
    import time

    from onepassword_events.stopping import StopFlag

    splunkd.set_account("acme", token=api.token)
    api.fail_next("signinattempts", 503, "busy", times=100)
    stop = StopFlag()
    threading.Timer(0.5, stop.request).start()
    started = time.monotonic()
    run_input(splunkd, {"account": "acme", "event_types": "signinattempts"}, stop_requested=stop)
    assert time.monotonic() - started < 3
    assert any('"status":"interrupted"' in line for line in log_lines(splunkd))
    assert not any("Server Error" in line for line in log_lines(splunkd))


def test_a_start_time_that_aged_past_the_retention_keeps_the_input_running(splunkd, api):
    # saved 100 days ago as "20 days back": now 120+ days old; the checkpoint makes it irrelevant
    splunkd.set_account("acme", token=api.token)
    api.add("auditevents", [events.auditevent(0)])
    old = "2020-01-01T00:00:00Z"
    xml_text = run_input(splunkd, {"account": "acme", "event_types": "auditevents", "start_time": old})
    assert len(parsed(xml_text)) == 1
    assert not any("Configuration Error" in line for line in log_lines(splunkd))
    assert any("event=start_time_clamped" in line for line in log_lines(splunkd))


def test_without_splunkd_the_local_edge_gives_its_account_checkpoint_files_and_the_count(tmp_path, caplog):
    """What the benchmark driver and the in-process functional runs hand the input instead of splunkd."""
    logger = logging.getLogger("test_input_helper.local_edge")
    caplog.set_level(logging.INFO, logger=logger.name)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        api = FakeEventsApi(rsps)
        api.add("auditevents", [events.auditevent(n) for n in range(3)])
        edge = LocalEdge("acme", {"token": api.token}, logger, state_dir=str(tmp_path))
        xml_text = run_input(None, {"account": "acme", "event_types": "auditevents"}, edge=edge)
        assert len(parsed(xml_text)) == 3 and edge.ingested == 3
        assert json.loads((tmp_path / "acme_in.auditevents.json").read_text())["account"] == "acme"
        assert run_input(None, {"account": "ghost"}, edge=edge) == ""
    assert any("Configuration Error" in line and "'ghost', which does not exist" in line for line in caplog.messages)
