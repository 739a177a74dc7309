"""The built setup pages in a real browser: headless Chromium drives Configuration and Inputs as
an admin would, against the add-on's own REST handlers running in the fake splunkd, the Events
API simulator and a stand-in for Splunk Web (browser_harness.py, splunk_web.py).

One browser session (browser/drive.js) goes through five steps; each test checks one of them
from what the page showed and from what reached splunkd."""

import json
import os
import shutil

import pytest

from browser_harness import GRANTED, SetupStack, drive, missing_tools
from setup_pages_helpers import account_entity, input_entity
from splunk_web import BootstrapChanged, check_bootstrap
from splunkd_fake import ACCOUNT_CONF, ENCRYPTED, SETTINGS_CONF, credential_realm

APP = "TA-1password-events"
ACCOUNT_ENDPOINT = "/servicesNS/nobody/%s/ta_1password_events_account" % APP
# Splunk Web's own page chrome (the Splunk bar, its theme script): the stand-in does not draw it,
# and the page falls back to drawing without it ("Unable to load layout." in the console)
NOT_PROVIDED = {"/build/api/layout.js", "/build/api/get_theme.js", "/favicon.ico"}


@pytest.fixture(scope="module")
def session(built_addon, tmp_path_factory):
    reason = missing_tools()
    if reason:
        pytest.skip("setup pages not tested in a browser: " + reason)
    with SetupStack(built_addon) as stack:
        report = drive(stack, str(tmp_path_factory.mktemp("setup-pages")))
        yield stack, report


def _posts(stack, endpoint):
    return [r for r in stack.web.posts() if r.path.endswith(endpoint)]


def _stored_secret(stack, conf, stanza):
    """The JSON of a stanza's encrypted fields as stored in storage/passwords (pieces joined)."""
    pieces = sorted((p for p in stack.splunkd.passwords()
                     if p["realm"] == credential_realm(APP, conf) and p["username"].startswith(stanza + "``")),
                    key=lambda p: int(p["username"].rsplit("``", 1)[1]))
    text = "".join(p["clear_password"] for p in pieces)
    return json.loads(text[:text.index("``splunk_cred_sep``")]) if pieces else None


def test_the_session_ran_every_step_without_a_page_error(session):
    stack, report = session
    assert report["problems"] == [], "\n".join(report["problems"]) + "\n" + report.get("failureText", "")
    assert set(report["steps"]) == {"refused", "good", "refusedInPage", "proxy", "input"}
    # the only failed loads: the chrome not provided, and the refused account's answer
    refused = "%s/splunkd/__raw%s?output_mode=json" % (stack.web.origin + "/en-US", ACCOUNT_ENDPOINT)
    failed = [r for r in report["failedResponses"]
              if not any(r["url"].endswith(p) for p in NOT_PROVIDED) and (r["url"], r["status"]) != (refused, 500)]
    assert failed == []
    assert [e for e in report["consoleErrors"] if not e.startswith("Failed to load resource:")
            and e != "Unable to load layout."] == []


def test_the_page_starts_as_splunk_web_serves_it(session):
    stack, _ = session
    answered = {(r.path, r.status) for r in stack.web.requests if r.method == "GET"}
    scripts = stack.web.scripts
    for name in ("config", "i18n", "catalog", "entry"):
        path = "/en-US/" + scripts[name].replace("../../", "").split("?")[0]
        assert (path, 200) in answered, "%s script %s not served" % (name, path)
    unexpected = [r for r in stack.web.unanswered if not any(r.path.endswith(p) for p in NOT_PROVIDED)]
    assert unexpected == []
    feeds = {r.path.split(APP + "/", 1)[-1] for r in stack.web.requests if r.method == "GET" and r.status == 200
             and "/splunkd/__raw/" in r.path}
    assert {"ta_1password_events_account", "ta_1password_events_settings/proxy", "data/indexes"} <= feeds
    builds = [r for r in stack.web.posts("search/jobs") if "apps/local/" + APP in r.form.get("search", "")]
    assert builds and all(r.status == 201 for r in builds)


def test_a_change_in_how_ucc_starts_the_page_fails_loudly(built_addon, tmp_path):
    copy = tmp_path / APP
    shutil.copytree(os.path.join(built_addon, "appserver"), copy / "appserver")
    template = copy / "appserver" / "templates" / "base.html"
    template.write_text(template.read_text(encoding="utf-8").replace("i18ncatalog", "i18n_catalog_v2"),
                        encoding="utf-8")
    with pytest.raises(BootstrapChanged, match="base.html loads no catalog script"):
        check_bootstrap(str(copy))
    assert check_bootstrap(built_addon)["entry"].endswith("/js/build/entry_page.js")


def test_a_token_the_api_refuses_shows_the_handlers_message_and_stores_nothing(session):
    stack, report = session
    step = report["steps"]["refused"]
    assert "Account not saved: [authentication] the token is invalid, expired or revoked (HTTP 401)" in step["error"]
    assert stack.refused_token not in step["error"]
    assert step["rows"] == []
    [post] = [r for r in _posts(stack, ACCOUNT_ENDPOINT) if r.form.get("name") == "acme_refused"]
    assert post.status == 500  # splunkd's answer to an exception in a Python REST handler
    assert stack.splunkd.conf_stanza(ACCOUNT_CONF, "acme_refused") is None
    assert _stored_secret(stack, ACCOUNT_CONF, "acme_refused") is None


def test_a_good_token_is_saved_encrypted_listed_masked_with_its_event_types(session):
    stack, report = session
    [post] = [r for r in _posts(stack, ACCOUNT_ENDPOINT) if r.form.get("name") == "acme"]
    assert post.form == {"name": "acme", "region": "custom", "custom_url": stack.simulator.url,
                         "token": stack.good_token, "verify_tls": "true"}
    assert post.query == {"output_mode": "json"} and post.status == 201
    stanza = stack.splunkd.conf_stanza(ACCOUNT_CONF, "acme")
    assert stanza["token"] == ENCRYPTED and stack.good_token not in json.dumps(stanza)
    assert stanza["granted_event_types"] == ",".join(GRANTED)
    assert _stored_secret(stack, ACCOUNT_CONF, "acme") == {"token": stack.good_token}
    step = report["steps"]["good"]
    assert step["notice"] == 'Created "acme"'
    assert step["tokenShownWhenEditing"] == "******"
    assert [row[:4] for row in step["rows"]] == [
        ["acme", "Custom URL", stack.simulator.url, "Sign-in attempts, Audit events"]]


def test_values_the_page_refuses_are_never_sent(session):
    stack, report = session
    shown = report["steps"]["refusedInPage"]
    refusal = next(v["errorMsg"] for v in account_entity("custom_url")["validators"] if v["pattern"] == "^[^@]*$")
    assert refusal in shown["customUrl"]
    assert [r.form.get("name") for r in _posts(stack, ACCOUNT_ENDPOINT)] == ["acme_refused", "acme"]
    assert input_entity("page_size")["validators"][0]["errorMsg"] in shown["pageSize"]
    assert [r.form.get("page_size") for r in _posts(stack, "ta_1password_events_onepassword")] == ["1000"]


def test_enabling_the_proxy_saves_it_with_the_password_encrypted(session):
    stack, report = session
    [post] = _posts(stack, "ta_1password_events_settings/proxy")
    assert post.form == {"proxy_enabled": "1", "proxy_type": "http", "proxy_url": "proxy.example.internal",
                         "proxy_port": "3128", "proxy_username": "svc_splunk", "proxy_password": "proxy-pass-123",
                         "proxy_rdns": ""}
    assert post.status == 200 and report["steps"]["proxy"]["message"] == 'Updated "Proxy"'
    stanza = stack.splunkd.conf_stanza(SETTINGS_CONF, "proxy")
    assert (stanza["proxy_enabled"], stanza["proxy_url"], stanza["proxy_port"], stanza["proxy_password"]) == (
        "1", "proxy.example.internal", "3128", ENCRYPTED)
    assert _stored_secret(stack, SETTINGS_CONF, "proxy") == {"proxy_password": "proxy-pass-123"}


def test_an_input_is_created_and_listed(session):
    stack, report = session
    [post] = _posts(stack, "ta_1password_events_onepassword")
    start = post.form.get("start_time")
    assert post.form == {"name": "acme_events", "account": "acme", "event_types": "signinattempts,auditevents",
                         "index": "onepassword", "interval": "60", "start_time": start, "page_size": "1000"}
    assert post.status == 201 and len(start) == 10
    stanza = stack.splunkd.conf_stanza("inputs", "onepassword://acme_events")
    assert {k: stanza.get(k) for k in ("account", "event_types", "index", "interval", "start_time")} == {
        "account": "acme", "event_types": "signinattempts,auditevents", "index": "onepassword", "interval": "60",
        "start_time": start}
    step = report["steps"]["input"]
    assert step["notice"] == 'Created "acme_events"'
    assert [row[1:6] for row in step["rows"]] == [
        ["acme_events", "acme", "Sign-in attempts, Audit events", "60", "onepassword"]]
