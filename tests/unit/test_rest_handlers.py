"""Account validation and checkpoint deletion, through splunktaucclib's real handler classes.

splunkd itself is faked (tests/fakes/splunk): only its base class and the
write that follows a successful validation.
"""

import json
import pytest
import requests
import responses
from splunktaucclib.rest_handler.admin_external import AdminExternalHandler
from splunktaucclib.rest_handler.error import RestError

import onepassword_account_validation as account_rh
import onepassword_input_handler as input_rh
import onepassword_splunk as splunk_edge
from onepassword_events.client import RetryPolicy
from onepassword_events.checkpoint import FileCheckpointStore, checkpoint_key
from helpers.tokens import make_token

BASE = "https://events.1password.com"
INTROSPECT = BASE + "/api/v2/auth/introspect"


@pytest.fixture
def handler(monkeypatch):
    saved = []
    monkeypatch.setattr(AdminExternalHandler, "handleCreate", lambda self, conf: saved.append(("create", self.payload)))
    monkeypatch.setattr(AdminExternalHandler, "handleEdit", lambda self, conf: saved.append(("edit", self.payload)))
    monkeypatch.setattr(splunk_edge, "read_proxy", lambda key, logger: {})
    # splunkd's current-context for the caller: an admin unless a test says otherwise
    identity = {"capabilities": {"admin_all_objects", "list_storage_passwords"}}
    monkeypatch.setattr(splunk_edge, "caller_identity", lambda key: ("alice", identity["capabilities"]))
    monkeypatch.setattr(RetryPolicy, "delay", lambda self, attempt: 0.0)  # no real waits in unit tests
    instance = account_rh.AccountValidationHandler.__new__(account_rh.AccountValidationHandler)
    instance.callerArgs = type("Args", (), {"id": "acme"})()
    instance.getSessionKey = lambda: "session"
    instance.saved = saved
    instance.identity = identity
    return instance


def introspect_ok(features=("signinattempts", "itemusages", "auditevents")):
    responses.add(responses.GET, INTROSPECT, json={"uuid": "T", "issued_at": "2026-01-01T00:00:00Z",
                                                   "features": list(features), "account_uuid": "ACC"})


@responses.activate
def test_a_working_token_is_saved(handler):
    introspect_ok()
    handler.payload = {"region": "events.1password.com", "token": make_token(), "verify_tls": "1"}
    handler.handleCreate(None)
    assert handler.saved == [("create", handler.payload)]
    assert responses.calls[0].request.headers["Authorization"] == "Bearer " + handler.payload["token"]


@responses.activate
def test_the_event_types_the_token_grants_are_saved_with_the_account(handler):
    introspect_ok(features=("auditevents", "signinattempts", "users"))  # in the API's order, plus one we do not read
    handler.payload = {"region": "events.1password.com", "token": make_token()}
    handler.handleCreate(None)
    assert handler.saved[0][1]["granted_event_types"] == "signinattempts,auditevents"


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
def test_refusals_say_what_to_fix_and_nothing_is_saved(handler, setup, payload, words):
    setup()
    handler.payload = dict({"token": make_token()}, **payload)
    with pytest.raises(RestError) as caught:
        handler.handleCreate(None)
    assert handler.saved == []
    assert caught.value.status == 400 and words in str(caught.value) and "Account not saved" in str(caught.value)
    assert handler.payload["token"] not in str(caught.value)


@responses.activate
def test_edit_with_the_masked_token_checks_the_stored_one(handler, monkeypatch):
    stored = make_token()
    monkeypatch.setattr(splunk_edge, "read_account", lambda key, name: {"token": stored} if name == "acme" else None)
    introspect_ok()
    handler.payload = {"region": "auto", "token": account_rh.MASKED}
    handler.handleEdit(None)
    assert responses.calls[0].request.headers["Authorization"] == "Bearer " + stored
    assert handler.saved[0][0] == "edit"


def test_the_proxy_tab_is_used_for_the_check(handler, monkeypatch):
    monkeypatch.setattr(splunk_edge, "read_proxy", lambda key, logger: {
        "proxy_enabled": "1", "proxy_type": "http", "proxy_url": "127.0.0.1", "proxy_port": "9"})
    handler.payload = {"region": "auto", "token": make_token()}
    with pytest.raises(RestError, match="proxy"):
        handler.handleCreate(None)


def test_removing_an_input_deletes_each_of_its_checkpoints(tmp_path, monkeypatch):
    store = FileCheckpointStore(str(tmp_path))
    for name in ("signinattempts", "itemusages", "auditevents"):
        store.save(checkpoint_key("acme_in", name), json.dumps({"cursor": "c"}))
    store.save(checkpoint_key("other_in", "signinattempts"), json.dumps({"cursor": "c"}))
    input_rh.delete_checkpoints("session", "acme_in", store=store)
    assert [p.name for p in tmp_path.glob("*.json")] == ["other_in.signinattempts.json"]


@responses.activate
@pytest.mark.parametrize("action", ["handleCreate", "handleEdit", "handleRemove"])
def test_only_an_admin_may_change_accounts_and_nothing_is_contacted_before(handler, monkeypatch, action):
    monkeypatch.setattr(AdminExternalHandler, "handleRemove", lambda self, conf: handler.saved.append(("remove",)))
    handler.identity["capabilities"] = {"search", "edit_own_objects"}  # a power user, not an admin
    handler.payload = {"region": "custom", "custom_url": "https://intranet.example:8443", "token": make_token()}
    with pytest.raises(RestError) as caught:
        getattr(handler, action)(None)
    assert caught.value.status == 403 and "admin_all_objects" in str(caught.value)
    assert handler.saved == [] and len(responses.calls) == 0


def test_the_write_capability_is_declared_to_splunkd(handler):
    handler.requestedAction = 8  # remove: setup() declares the capability whatever the action
    handler.setup()
    assert handler.capabilityWrite == "admin_all_objects"


def test_when_splunkd_cannot_say_who_calls_nothing_is_saved(handler, monkeypatch):
    def unreachable(key):
        raise ConnectionError("splunkd down")

    monkeypatch.setattr(splunk_edge, "caller_identity", unreachable)
    handler.payload = {"region": "auto", "token": make_token()}
    with pytest.raises(RestError) as caught:
        handler.handleCreate(None)
    assert caught.value.status == 500 and handler.saved == []
