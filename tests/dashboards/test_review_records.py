"""Access-review records: who may record them, what the server stamps, and the change history.

splunkd is faked: the generated UCC handler's conf writes (AdminExternalHandler's
handleCreate/Edit/Remove), its RestHandler.get, and the caller's identity.
The change log is the real solnlib logger writing under $SPLUNK_HOME (tests/conftest.py).
"""

import configparser
import json
import os
import re

import pytest
from splunktaucclib.rest_handler.admin_external import AdminExternalHandler
from splunktaucclib.rest_handler.error import RestError

import onepassword_review_handler as review

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = os.path.join(ROOT, "package")
LOG = os.path.join(os.environ["SPLUNK_HOME"], "var", "log", "splunk", review.CHANGE_LOG + ".log")

RECORD = {"quarter": "2026-Q1", "reviewer": "Grace Hopper", "review_date": "2026-04-07",
          "scope": "All vaults; Owners and Administrators", "outcome": "exceptions_remediated",
          "findings": "Two stale grants revoked (TICKET-42)."}


class FakeEntity:
    def __init__(self, content):
        self.content = content


class FakeStore:
    """The conf file behind the UCC REST handler, as AdminExternalHandler would change it."""

    def __init__(self):
        self.stanzas = {}

    def get(self, name):
        if name not in self.stanzas:
            raise RestError(404, f'"{name}" does not exist')
        yield FakeEntity(dict(self.stanzas[name]))


@pytest.fixture
def store(monkeypatch):
    store = FakeStore()

    def create(self, conf):
        assert self.callerArgs.id not in store.stanzas
        store.stanzas[self.callerArgs.id] = dict(self.payload)

    def edit(self, conf):
        store.stanzas[self.callerArgs.id].update(self.payload)

    def remove(self, conf):
        del store.stanzas[self.callerArgs.id]

    monkeypatch.setattr(AdminExternalHandler, "handleCreate", create)
    monkeypatch.setattr(AdminExternalHandler, "handleEdit", edit)
    monkeypatch.setattr(AdminExternalHandler, "handleRemove", remove)
    return store


@pytest.fixture
def identity(monkeypatch):
    """Who splunkd says the caller is: set .user/.capabilities, or .error to make the lookup fail."""
    state = type("Identity", (), {"user": "alice", "capabilities": {review.CAPABILITY, "search"}, "error": None,
                                  "sessions": []})()

    def caller_identity(session_key):
        state.sessions.append(session_key)
        if state.error:
            raise state.error
        return state.user, set(state.capabilities)

    monkeypatch.setattr(review, "caller_identity", caller_identity)
    return state


def make_handler(store, name, payload=None):
    handler = review.ReviewRecordHandler.__new__(review.ReviewRecordHandler)
    handler.callerArgs = type("Args", (), {"id": name, "data": {}})()
    handler.payload = dict(payload) if payload is not None else None
    handler.getSessionKey = lambda: "caller-session"
    handler.handler = store
    return handler


@pytest.fixture
def log_lines():
    """The change-log lines written during the test."""
    start = os.path.getsize(LOG) if os.path.exists(LOG) else 0

    def read():
        with open(LOG, encoding="utf-8") as handle:
            handle.seek(start)
            return [line.rstrip("\n") for line in handle if line.strip()]
    return read


def parse(line):
    """What the Access Review dashboard's search extracts from one change-log line."""
    head = re.search(r'event=(?P<event>\w+) change=(?P<change>\w+)', line)
    who = re.search(r'record="(?P<record>[^"]*)" user="(?P<user>[^"]*)"', line)
    field = re.search(r"field=(\w+)", line)
    values = json.loads(re.search(r"values=(\{.*\})", line).group(1))
    return dict(head.groupdict(), **who.groupdict(), field=field.group(1) if field else None, values=values)


def test_create_stamps_the_record_and_logs_every_field(store, identity, log_lines):
    payload = dict(RECORD, recorded_by="mallory", recorded_at="1999-01-01T00:00:00Z", revision="99")
    make_handler(store, "2026_Q1", payload).handleCreate(None)
    saved = store.stanzas["2026_Q1"]
    assert saved["recorded_by"] == "alice" and saved["updated_by"] == "alice"
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", saved["recorded_at"])
    assert saved["recorded_at"] != "1999-01-01T00:00:00Z" and saved["revision"] == "1"
    assert identity.sessions == ["caller-session"]  # the caller's own session decides
    lines = [parse(line) for line in log_lines()]
    assert lines[0]["event"] == "review_record_saved" and lines[0]["change"] == "create"
    assert lines[0]["user"] == "alice" and lines[0]["record"] == "2026_Q1"
    assert lines[0]["values"]["revision"] == "1"
    fields = {entry["field"]: entry["values"] for entry in lines[1:]}
    assert all(entry["event"] == "review_record_field" for entry in lines[1:])
    for key, value in RECORD.items():
        assert fields[key] == {"old": None, "new": value}
    assert fields["recorded_by"] == {"old": None, "new": "alice"}


def test_edit_keeps_who_recorded_it_and_logs_old_and_new_values(store, identity, log_lines):
    make_handler(store, "2026_Q1", RECORD).handleCreate(None)
    recorded_at = store.stanzas["2026_Q1"]["recorded_at"]
    identity.user = "bob"
    start = len(log_lines())
    make_handler(store, "2026_Q1", dict(RECORD, outcome="exceptions_open", findings="One grant still open.",
                                        recorded_by="bob")).handleEdit(None)
    saved = store.stanzas["2026_Q1"]
    assert saved["recorded_by"] == "alice" and saved["recorded_at"] == recorded_at
    assert saved["updated_by"] == "bob" and saved["revision"] == "2"
    lines = [parse(line) for line in log_lines()[start:]]
    assert lines[0]["change"] == "edit" and lines[0]["user"] == "bob"
    changed = {entry["field"]: entry["values"] for entry in lines[1:]}
    assert changed["outcome"] == {"old": "exceptions_remediated", "new": "exceptions_open"}
    assert changed["findings"] == {"old": RECORD["findings"], "new": "One grant still open."}
    assert changed["revision"] == {"old": "1", "new": "2"}
    assert "quarter" not in changed and "recorded_by" not in changed
    assert set(lines[0]["values"]["changed_fields"]) == set(changed)


def test_delete_logs_the_values_that_are_gone(store, identity, log_lines):
    make_handler(store, "2026_Q1", RECORD).handleCreate(None)
    identity.user = "carol"
    start = len(log_lines())
    make_handler(store, "2026_Q1").handleRemove(None)
    assert "2026_Q1" not in store.stanzas
    lines = [parse(line) for line in log_lines()[start:]]
    assert {e["change"] for e in lines} == {"delete"} and {e["user"] for e in lines} == {"carol"}
    gone = {entry["field"]: entry["values"] for entry in lines[1:]}
    assert gone["reviewer"] == {"old": "Grace Hopper", "new": None}
    assert gone["recorded_by"] == {"old": "alice", "new": None}


@pytest.mark.parametrize("action", ["create", "edit", "delete"])
def test_without_the_capability_nothing_changes_and_the_attempt_is_logged(store, identity, log_lines, action):
    store.stanzas["2026_Q1"] = dict(RECORD, recorded_by="alice", revision="1")
    before = json.dumps(store.stanzas, sort_keys=True)
    identity.user, identity.capabilities = "eve", {"search", "admin_all_objects"}
    start = len(log_lines())
    handler = make_handler(store, "2026_Q2" if action == "create" else "2026_Q1", RECORD if action != "delete" else None)
    call = {"create": handler.handleCreate, "edit": handler.handleEdit, "delete": handler.handleRemove}[action]
    with pytest.raises(RestError) as refused:
        call(None)
    assert refused.value.status == 403
    assert review.CAPABILITY in str(refused.value) and "onepassword_reviewer" in str(refused.value)
    assert json.dumps(store.stanzas, sort_keys=True) == before
    lines = [parse(line) for line in log_lines()[start:]]
    assert len(lines) == 1 and lines[0]["event"] == "review_record_refused"
    assert lines[0]["user"] == "eve" and lines[0]["change"] == action
    assert "missing capability" in lines[0]["values"]["reason"]


def test_when_splunkd_cannot_say_who_the_caller_is_nothing_changes(store, identity, log_lines):
    identity.error = ConnectionError("splunkd unreachable")
    start = len(log_lines())
    with pytest.raises(RestError) as refused:
        make_handler(store, "2026_Q1", RECORD).handleCreate(None)
    assert refused.value.status == 500 and store.stanzas == {}
    assert parse(log_lines()[start])["event"] == "review_record_refused"


@pytest.mark.parametrize("field, value, words", [
    ("quarter", "2026-Q5", "YYYY-Qn"),
    ("quarter", "Q1 2026", "YYYY-Qn"),
    ("review_date", "2026-02-30", "calendar date"),
    ("review_date", "07/04/2026", "calendar date"),
    ("outcome", "fine", "choose an outcome"),
    ("reviewer", "   ", "'reviewer' is required"),
    ("findings", "x" * 1501, "longer than 1500"),
])
def test_the_server_checks_what_the_form_checks(store, identity, field, value, words):
    with pytest.raises(RestError) as refused:
        make_handler(store, "r1", dict(RECORD, **{field: value})).handleCreate(None)
    assert refused.value.status == 400 and words in str(refused.value)
    assert store.stanzas == {}


def test_a_partial_rest_edit_is_checked_against_the_stored_record(store, identity):
    make_handler(store, "r1", RECORD).handleCreate(None)
    make_handler(store, "r1", {"findings": "Addendum."}).handleEdit(None)
    assert store.stanzas["r1"]["quarter"] == "2026-Q1" and store.stanzas["r1"]["findings"] == "Addendum."
    with pytest.raises(RestError):
        make_handler(store, "r1", {"quarter": "bad"}).handleEdit(None)
    with pytest.raises(RestError) as refused:
        make_handler(store, "r1", {"disabled": "1"}).handleEdit(None)
    assert refused.value.status == 400


def test_editing_a_missing_record_is_404(store, identity):
    with pytest.raises(RestError) as missing:
        make_handler(store, "nope", RECORD).handleEdit(None)
    assert missing.value.status == 404


def test_long_cjk_findings_fit_in_one_splunk_event_per_line(store, identity, log_lines):
    start = len(log_lines())
    long_text = "監査" * 750  # 1,500 characters, 4,500 bytes in UTF-8
    make_handler(store, "r1", RECORD).handleCreate(None)
    make_handler(store, "r1", dict(RECORD, findings=long_text, scope="範囲" * 500)).handleEdit(None)
    for line in log_lines()[start:]:
        assert len(line.encode("utf-8")) < 10000  # Splunk's default TRUNCATE
    edited = [parse(line) for line in log_lines()[start:] if "field=findings" in line and "change=edit" in line]
    assert edited[0]["values"]["new"] == long_text


def test_identity_comes_from_splunkd_current_context(monkeypatch):
    """caller_identity asks /services/authentication/current-context with the caller's session."""
    import solnlib.splunk_rest_client as rest_client

    calls = []

    class FakeClient:
        def __init__(self, session_key, app, **kwargs):
            calls.append((session_key, app, kwargs))

        def get(self, path, output_mode):
            calls.append((path, output_mode))
            body = json.dumps({"entry": [{"content": {"username": "alice", "roles": ["onepassword_reviewer"],
                                                      "capabilities": ["search", review.CAPABILITY]}}]})
            return type("Response", (), {"body": type("Body", (), {"read": lambda self: body.encode()})()})()

    monkeypatch.setattr(rest_client, "SplunkRestClient", FakeClient)
    monkeypatch.setenv("SPLUNKD_URI", "https://127.0.0.1:8089")
    user, capabilities = review.caller_identity("caller-session")
    assert user == "alice" and review.CAPABILITY in capabilities
    assert calls[0][0] == "caller-session" and calls[0][2]["host"] == "127.0.0.1" and calls[0][2]["port"] == 8089
    assert calls[1] == ("/services/authentication/current-context", "json")


# ---- declarations: capability, role, permissions, the configuration tab -----------------------------------

def _conf(path):
    parser = configparser.RawConfigParser(strict=True, delimiters=("=",), interpolation=None)
    parser.optionxform = str
    parser.read(path, encoding="utf-8")
    return parser


def test_authorize_conf_declares_the_capability_and_the_reviewer_role():
    authorize = _conf(os.path.join(PACKAGE, "default", "authorize.conf"))
    assert authorize.has_section("capability::" + review.CAPABILITY)
    role = authorize["role_" + review.REVIEWER_ROLE]
    assert role["importRoles"] == "user" and role[review.CAPABILITY] == "enabled"
    assert authorize["role_admin"][review.CAPABILITY] == "enabled"
    for section in authorize.sections():  # no built-in role is widened beyond this capability
        if section.startswith("role_") and section != "role_" + review.REVIEWER_ROLE:
            assert dict(authorize[section]) == {review.CAPABILITY: "enabled"}, section


def test_reviewers_may_write_the_records_file_and_everyone_may_read_it():
    text = open(os.path.join(PACKAGE, "metadata", "default.meta"), encoding="utf-8").read()
    stanza = re.search(r"^\[ta_1password_events_review\]\n((?:[^\[].*\n?)*)", text, flags=re.M).group(1)
    access = re.search(r"^access\s*=\s*(.+)$", stanza, flags=re.M).group(1)
    assert re.search(r"read : \[ \* \]", access)
    assert review.REVIEWER_ROLE in re.search(r"write : \[([^\]]*)\]", access).group(1)


def test_the_configuration_tab_matches_the_handler():
    config = json.load(open(os.path.join(ROOT, "globalConfig.json"), encoding="utf-8"))
    tabs = {tab.get("name") or tab.get("type"): tab for tab in config["pages"]["configuration"]["tabs"]}
    tab = tabs["review"]
    assert tab["restHandlerModule"] == "onepassword_review_handler"
    assert tab["restHandlerClass"] == review.ReviewRecordHandler.__name__
    fields = [entity["field"] for entity in tab["entity"]]
    assert fields == ["name"] + list(review.RECORD_FIELDS)
    outcome = next(e for e in tab["entity"] if e["field"] == "outcome")
    assert [o["value"] for o in outcome["options"]["autoCompleteFields"]] == list(review.OUTCOMES)
    pattern = re.compile(outcome["validators"][0]["pattern"])
    assert all(pattern.match(o) for o in review.OUTCOMES) and not pattern.match("fine")
    for entity in tab["entity"]:  # the form's limits are the server's limits
        for validator in entity.get("validators", []):
            if validator["type"] == "string" and entity["field"] != "name":
                assert validator["maxLength"] == review.RECORD_FIELDS[entity["field"]], entity["field"]
    shown = {h["field"] for h in tab["table"]["header"]} | {m["field"] for m in tab["table"]["moreInfo"]}
    assert {"recorded_by", "recorded_at", "updated_by", "updated_at", "revision"} <= shown
    # the other tabs are untouched: accounts first, then reviews, proxy, logging
    assert list(tabs) == ["account", "review", "proxyTab", "loggingTab"]


def test_the_records_file_has_a_spec_naming_every_field():
    spec = open(os.path.join(PACKAGE, "README", "ta_1password_events_review.conf.spec"), encoding="utf-8").read()
    for field in tuple(review.RECORD_FIELDS) + review.STAMP_FIELDS:
        assert re.search(rf"^{field} = ", spec, flags=re.M), field


def test_the_dashboard_reads_the_fields_the_handler_writes():
    macros = open(os.path.join(PACKAGE, "default", "macros.conf"), encoding="utf-8").read()
    records = re.search(r"^\[onepassword_review_records\]\ndefinition = (.+)$", macros, flags=re.M).group(1)
    for field in tuple(review.RECORD_FIELDS) + review.STAMP_FIELDS:
        assert field in records, field
    assert "configs/conf-ta_1password_events_review" in records
    log = re.search(r"^\[onepassword_review_change_log\]\ndefinition = (.+)$", macros, flags=re.M).group(1)
    assert review.CHANGE_LOG + ".log" in log


def test_the_dashboards_history_search_parses_the_change_log(store, identity, log_lines):
    """The rex/spath of the Access Review history panel, applied to the lines the handler writes."""
    import dashboard_queries as dq

    query = next(q["query"] for q in dq.queries(with_defaults=False)
                 if q["dashboard"] == "onepassword_access_review" and q["id"] == "ds_review_history")
    patterns = [re.compile(body.replace('\\"', '"').replace("\\\\", "\\").replace("(?<", "(?P<"))
                for body in re.findall(r'^\| rex "((?:[^"\\]|\\.)*)"', query, flags=re.M)]
    start = len(log_lines())
    make_handler(store, "2026_Q1", dict(RECORD, findings='Quote " and brace } inside; new=trick')).handleCreate(None)
    identity.capabilities = set()
    with pytest.raises(RestError):
        make_handler(store, "2026_Q1").handleRemove(None)
    rows = []
    for line in log_lines()[start:]:
        fields = {}
        for pattern in patterns:
            match = pattern.search(line)
            if match:
                fields.update({k: v for k, v in match.groupdict().items() if v is not None})
        fields.update(json.loads(fields.pop("values")))  # spath input=values
        rows.append(fields)
    findings = next(r for r in rows if r.get("field") == "findings")
    assert findings["new"] == 'Quote " and brace } inside; new=trick' and findings["old"] is None
    assert findings["splunk_user"] == "alice" and findings["record"] == "2026_Q1" and findings["change"] == "create"
    assert rows[0]["log_event"] == "review_record_saved" and rows[0]["revision"] == "1"
    assert rows[-1]["log_event"] == "review_record_refused" and "missing capability" in rows[-1]["reason"]
