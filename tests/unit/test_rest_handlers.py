"""The Accounts tab's handler: only an admin may make the server connect, and only a working token
is saved. splunktaucclib's real handler class, splunkd answering through the fake splunkd
(tests/splunkd_fake, the `splunkd` fixture of tests/conftest.py), the token check against `responses`.
"""

import pytest
import requests
import responses

import onepassword_account_validation as account_rh
from onepassword_events.client import RetryPolicy
from helpers.accounts_tab import AccountsTab
from helpers.tokens import make_token

BASE = "https://events.1password.com"
INTROSPECT = BASE + "/api/v2/auth/introspect"


@pytest.fixture
def tab(splunkd, monkeypatch):
    """The Accounts tab of an admin (list_storage_passwords too, as Splunk's admin role has)."""
    monkeypatch.setattr(RetryPolicy, "delay", lambda self, attempt: 0.0)  # no real waits in unit tests
    return AccountsTab(splunkd, monkeypatch, capabilities=("admin_all_objects", "list_storage_passwords"))


def introspect_ok(features=("signinattempts", "itemusages", "auditevents")):
    responses.add(responses.GET, INTROSPECT, json={"uuid": "T", "issued_at": "2026-01-01T00:00:00Z",
                                                   "features": list(features), "account_uuid": "ACC"})


@responses.activate
def test_a_working_token_is_saved(tab):
    introspect_ok()
    payload = {"region": "events.1password.com", "token": make_token(), "verify_tls": "1"}
    assert tab.call("create", payload) is None
    assert tab.saved == [("create", payload)]
    assert responses.calls[0].request.headers["Authorization"] == "Bearer " + payload["token"]


@responses.activate
def test_the_event_types_the_token_grants_are_saved_with_the_account(tab):
    introspect_ok(features=("auditevents", "signinattempts", "users"))  # in the API's order, plus one we do not read
    tab.call("create", {"region": "events.1password.com", "token": make_token()})
    assert tab.saved[0][1]["granted_event_types"] == "signinattempts,auditevents"


@pytest.mark.parametrize(
    "setup, payload, words",
    [
        (lambda: responses.add(responses.GET, INTROSPECT, status=401, json={"Error": {"Message": "Unauthorized"}}),
         {"region": "auto"}, "invalid, expired or revoked"),
        (lambda: introspect_ok(features=["users"]), {"region": "auto"}, "grants none of"),
        (lambda: None, {"region": "events.1password.com", "token": make_token("events.1password.eu")},
         "belongs to events.1password.eu"),
        (lambda: responses.add(responses.GET, INTROSPECT, body=requests.exceptions.ConnectionError("Connection refused")),
         {"region": "auto"}, "cannot reach events.1password.com"),
        (lambda: None, {"region": "custom", "custom_url": "http://events.example.com"}, "only for a literal loopback address"),
        (lambda: None, {"region": "auto", "ca_bundle": "/nonexistent/ca.pem"}, "does not exist"),
    ],
)
@responses.activate
def test_refusals_say_what_to_fix_and_nothing_is_saved(tab, setup, payload, words):
    setup()
    payload = dict({"token": make_token()}, **payload)
    refused = tab.call("create", payload)
    assert tab.saved == []
    assert refused.status == 400 and words in str(refused) and "Account not saved" in str(refused)
    assert payload["token"] not in str(refused)


@responses.activate
def test_edit_with_the_masked_token_checks_the_stored_one(tab, splunkd):
    stored = make_token()
    splunkd.set_account("acme", token=stored, region="auto")
    introspect_ok()
    assert tab.call("edit", {"region": "auto", "token": account_rh.MASKED}) is None
    assert responses.calls[0].request.headers["Authorization"] == "Bearer " + stored
    assert tab.saved[0][0] == "edit"


def test_the_proxy_tab_is_used_for_the_check(tab, splunkd):
    splunkd.set_proxy(proxy_enabled="1", proxy_type="http", proxy_url="127.0.0.1", proxy_port="9")
    refused = tab.call("create", {"region": "auto", "token": make_token()})
    assert refused.status == 400 and "proxy" in str(refused) and tab.saved == []


@responses.activate
@pytest.mark.parametrize("action", ["create", "edit", "remove"])
def test_only_an_admin_may_change_accounts_and_nothing_is_contacted_before(splunkd, monkeypatch, action):
    power_user = AccountsTab(splunkd, monkeypatch, capabilities=("search", "edit_own_objects"))
    refused = power_user.call(action, {"region": "custom", "custom_url": "https://intranet.example:8443",
                                       "token": make_token()})
    assert refused.status == 403 and "admin_all_objects" in str(refused)
    assert power_user.saved == [] and len(responses.calls) == 0


def test_the_write_capability_is_declared_to_splunkd(tab):
    handler = tab.handler()
    handler.requestedAction = 8  # remove: setup() declares the capability whatever the action
    handler.setup()
    assert handler.capabilityWrite == "admin_all_objects"


def test_when_splunkd_cannot_say_who_calls_nothing_is_saved(tab, splunkd):
    splunkd.fail_requests("auth", times=4, status=503)  # the first try and its 3 retries
    refused = tab.call("create", {"region": "auto", "token": make_token()})
    assert refused.status == 500 and "could not check your Splunk capabilities" in str(refused)
    assert tab.saved == []
