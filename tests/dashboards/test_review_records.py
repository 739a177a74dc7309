"""Access-review records: who may record them, what the server stamps, and the change history.

splunkd is faked (tests/splunkd_fake) with the built add-on installed: its restmap.conf
routes /services/ta_1password_events/review_records to bin/onepassword_review_endpoint.py,
run in a child process as splunkd's persistent-handler server runs it (with the caller's
session and, per passSystemAuth, a system session), and its default.meta decides who may
write configs/conf-ta_1password_events_review. Users and their roles are the fake's; their
capabilities come from the add-on's authorize.conf. The Access reviews tab's handler is the
class the generated ta_1password_events_rh_review.py hands to splunkd, built from the XML
splunkd sends an EAI handler. The change log is the real solnlib logger of the endpoint,
under the fake splunkd's $SPLUNK_HOME.
"""

import configparser
import json
import os
import re
import runpy
import shutil
import subprocess
import sys

import pytest
import requests
from splunk import admin
from splunktaucclib.rest_handler.error import RestError

import onepassword_review_endpoint as review
import onepassword_review_handler as tab
import onepassword_splunk
from splunkd_fake import FakeSplunkd

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = os.path.join(ROOT, "package")
ADDON = "TA-1password-events"
RECORDS = "/services/ta_1password_events/review_records"
CONF = "/servicesNS/nobody/%s/configs/conf-ta_1password_events_review" % ADDON
SYSTEM_USER = "splunk-system-user"

RECORD = {"quarter": "2026-Q1", "reviewer": "Grace Hopper", "review_date": "2026-04-07",
          "scope": "All vaults; Owners and Administrators", "outcome": "exceptions_remediated",
          "findings": "Two stale grants revoked (TICKET-42)."}


@pytest.fixture(scope="module")
def splunkd(built_addon):
    with FakeSplunkd() as fake:
        fake.install_app(built_addon)
        fake.users = {
            "alice": fake.add_user("alice", roles=["onepassword_reviewer"]),
            "bob": fake.add_user("bob", roles=["onepassword_reviewer"]),
            "carol": fake.add_user("carol", roles=["admin"]),  # admin holds the capability (authorize.conf)
            "eve": fake.add_user("eve", roles=["user"], capabilities=["search", "admin_all_objects"]),
        }
        with fake.activate(), pytest.MonkeyPatch.context() as patch:
            patch.setenv("SPLUNKD_URI", fake.url)  # where splunktaucclib looks for splunkd first
            yield fake


@pytest.fixture(autouse=True)
def empty_records(request):
    """Every test starts without records and with an empty request log."""
    if "splunkd" not in request.fixturenames:
        yield
        return
    splunkd = request.getfixturevalue("splunkd")
    for name in list(_stored(splunkd)):
        splunkd.remove_stanza("ta_1password_events_review", name)
    splunkd.clear_requests()
    yield


def _stored(splunkd):
    with splunkd._lock:
        return dict(splunkd._confs.get(ADDON, {}).get("local", {}).get("ta_1password_events_review", {}))


def token(splunkd, user):
    return splunkd.session_key if user == SYSTEM_USER else splunkd.users[user]


def call(splunkd, user, method, path, data=None):
    return requests.request(method, splunkd.url + path, data=data, params={"output_mode": "json"}, timeout=60,
                            headers={"Authorization": "Splunk " + token(splunkd, user)})


def record_change(splunkd, user, method, record=None, **fields):
    """What the tab's handler sends the review-records endpoint (and any REST client may)."""
    return call(splunkd, user, method, RECORDS + ("/" + record if record else ""), fields or None)


def create(splunkd, user, name, fields=RECORD):
    return call(splunkd, user, "POST", RECORDS, dict(fields, name=name))


def message(response):
    return response.json()["messages"][0]["text"]


def stanza(splunkd, name):
    return splunkd.conf_stanza("ta_1password_events_review", name)


@pytest.fixture
def log_lines(splunkd):
    """The change-log lines written during the test."""
    path = os.path.join(splunkd.splunk_home, "var", "log", "splunk", review.CHANGE_LOG + ".log")
    start = os.path.getsize(path) if os.path.exists(path) else 0

    def read():
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as handle:
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


# ---- the review-records endpoint: the only write path ----------------------------------------------

def test_create_stamps_the_record_and_logs_every_field(splunkd, log_lines):
    answer = create(splunkd, "alice", "2026_Q1",
                    dict(RECORD, recorded_by="mallory", recorded_at="1999-01-01T00:00:00Z", revision="99"))
    assert answer.status_code == 201, answer.text
    saved = stanza(splunkd, "2026_Q1")
    assert saved["recorded_by"] == "alice" and saved["updated_by"] == "alice"
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", saved["recorded_at"])
    assert saved["recorded_at"] != "1999-01-01T00:00:00Z" and saved["revision"] == "1"
    assert {key: saved[key] for key in RECORD} == RECORD
    lines = [parse(line) for line in log_lines()]
    assert lines[0]["event"] == "review_record_saved" and lines[0]["change"] == "create"
    assert lines[0]["user"] == "alice" and lines[0]["record"] == "2026_Q1"
    assert lines[0]["values"]["revision"] == "1"
    fields = {entry["field"]: entry["values"] for entry in lines[1:]}
    assert all(entry["event"] == "review_record_field" for entry in lines[1:])
    for key, value in RECORD.items():
        assert fields[key] == {"old": None, "new": value}
    assert fields["recorded_by"] == {"old": None, "new": "alice"}


def test_the_caller_is_identified_with_its_own_session_and_the_file_written_with_the_system_session(splunkd):
    assert create(splunkd, "alice", "2026_Q1").status_code == 201
    assert record_change(splunkd, "alice", "POST", "2026_Q1", findings="Addendum.").status_code == 200
    assert record_change(splunkd, "alice", "DELETE", "2026_Q1").status_code == 200
    identity = [r for r in splunkd.requests if r.kind == "auth"]
    assert len(identity) == 3 and {r.user for r in identity} == {"alice"}
    writes = [r for r in splunkd.requests if r.kind == "conf" and r.method in ("POST", "DELETE")]
    assert [r.method for r in writes] == ["POST", "POST", "DELETE"]
    assert {r.user for r in writes} == {SYSTEM_USER} and all(r.status < 300 for r in writes)
    assert {r.user for r in splunkd.requests if r.kind == "script"} == {"alice"}


def test_edit_keeps_who_recorded_it_and_logs_old_and_new_values(splunkd, log_lines):
    assert create(splunkd, "alice", "2026_Q1").status_code == 201
    recorded_at = stanza(splunkd, "2026_Q1")["recorded_at"]
    start = len(log_lines())
    answer = record_change(splunkd, "bob", "POST", "2026_Q1", **dict(
        RECORD, outcome="exceptions_open", findings="One grant still open.", recorded_by="bob"))
    assert answer.status_code == 200 and answer.json()["revision"] == "2"
    saved = stanza(splunkd, "2026_Q1")
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


def test_delete_logs_the_values_that_are_gone(splunkd, log_lines):
    assert create(splunkd, "alice", "2026_Q1").status_code == 201
    start = len(log_lines())
    assert record_change(splunkd, "carol", "DELETE", "2026_Q1").status_code == 200
    assert stanza(splunkd, "2026_Q1") is None
    lines = [parse(line) for line in log_lines()[start:]]
    assert {e["change"] for e in lines} == {"delete"} and {e["user"] for e in lines} == {"carol"}
    gone = {entry["field"]: entry["values"] for entry in lines[1:]}
    assert gone["reviewer"] == {"old": "Grace Hopper", "new": None}
    assert gone["recorded_by"] == {"old": "alice", "new": None}


@pytest.mark.parametrize("action", ["create", "edit", "delete"])
def test_without_the_capability_nothing_changes_and_the_attempt_is_logged(splunkd, log_lines, action):
    assert create(splunkd, "alice", "2026_Q1").status_code == 201
    before = _stored(splunkd)
    start = len(log_lines())
    answer = {"create": lambda: create(splunkd, "eve", "2026_Q2"),
              "edit": lambda: record_change(splunkd, "eve", "POST", "2026_Q1", findings="Changed."),
              "delete": lambda: record_change(splunkd, "eve", "DELETE", "2026_Q1")}[action]()
    assert answer.status_code == 403
    assert review.CAPABILITY in message(answer) and "onepassword_reviewer" in message(answer)
    assert _stored(splunkd) == before
    lines = [parse(line) for line in log_lines()[start:]]
    assert len(lines) == 1 and lines[0]["event"] == "review_record_refused"
    assert lines[0]["user"] == "eve" and lines[0]["change"] == action
    assert "missing capability" in lines[0]["values"]["reason"]


def test_when_splunkd_cannot_say_who_the_caller_is_nothing_changes(splunkd, log_lines):
    splunkd.fail_requests("auth", status=503)
    start = len(log_lines())
    answer = create(splunkd, "alice", "2026_Q1")
    assert answer.status_code == 500 and "could not check your Splunk capabilities" in message(answer)
    assert _stored(splunkd) == {}
    assert not [r for r in splunkd.requests if r.kind == "conf"]
    line = parse(log_lines()[start])
    assert line["event"] == "review_record_refused" and line["user"] == "alice"


def test_without_a_system_session_nothing_is_written_with_the_callers_rights(splunkd):
    """An admin's local/restmap.conf turning passSystemAuth off: the endpoint refuses, it does not
    fall back to the caller's session."""
    splunkd.set_stanza("restmap", "script:ta_1password_events_review_records", {"passSystemAuth": "false"})
    try:
        answer = create(splunkd, "carol", "2026_Q1")
    finally:
        splunkd.remove_stanza("restmap", "script:ta_1password_events_review_records")
    assert answer.status_code == 500 and "passSystemAuth" in message(answer)
    assert _stored(splunkd) == {} and not [r for r in splunkd.requests if r.kind == "conf"]


@pytest.mark.parametrize("name, field, value, words", [
    ("r1", "quarter", "2026-Q5", "YYYY-Qn"),
    ("r1", "quarter", "Q1 2026", "YYYY-Qn"),
    ("r1", "review_date", "2026-02-30", "calendar date"),
    ("r1", "review_date", "07/04/2026", "calendar date"),
    ("r1", "outcome", "fine", "choose an outcome"),
    ("r1", "reviewer", "   ", "'reviewer' is required"),
    ("r1", "findings", "x" * 1501, "longer than 1500"),
    ("r1", "disabled", "1", "unknown field(s) disabled"),
    ("_hidden", "findings", "", "must start with a letter or digit"),
    ("a/b", "findings", "", "must start with a letter or digit"),
    ("default", "findings", "", "must start with a letter or digit"),
    ("x" * 101, "findings", "", "at most 100 characters"),
])
def test_the_server_checks_what_the_form_checks(splunkd, name, field, value, words):
    answer = create(splunkd, "alice", name, dict(RECORD, **{field: value}))
    assert answer.status_code == 400 and words in message(answer)
    assert _stored(splunkd) == {}


def test_a_partial_rest_edit_is_checked_against_the_stored_record(splunkd):
    assert create(splunkd, "alice", "r1").status_code == 201
    assert record_change(splunkd, "alice", "POST", "r1", findings="Addendum.").status_code == 200
    saved = stanza(splunkd, "r1")
    assert saved["quarter"] == "2026-Q1" and saved["findings"] == "Addendum." and saved["revision"] == "2"
    assert record_change(splunkd, "alice", "POST", "r1", quarter="bad").status_code == 400
    disabled = record_change(splunkd, "alice", "POST", "r1", disabled="1")
    assert disabled.status_code == 400 and "cannot be disabled" in message(disabled)
    assert stanza(splunkd, "r1") == saved


def test_a_missing_record_is_404_and_a_taken_name_409(splunkd):
    assert record_change(splunkd, "alice", "POST", "nope", **RECORD).status_code == 404
    assert record_change(splunkd, "alice", "DELETE", "nope").status_code == 404
    assert create(splunkd, "alice", "r1").status_code == 201
    taken = create(splunkd, "bob", "r1", dict(RECORD, reviewer="Bob"))
    assert taken.status_code == 409 and stanza(splunkd, "r1")["reviewer"] == "Grace Hopper"


def test_long_cjk_findings_fit_in_one_splunk_event_per_line(splunkd, log_lines):
    start = len(log_lines())
    long_text = "監査" * 750  # 1,500 characters, 4,500 bytes in UTF-8
    assert create(splunkd, "alice", "r1").status_code == 201
    assert record_change(splunkd, "alice", "POST", "r1", **dict(RECORD, findings=long_text,
                                                                   scope="範囲" * 500)).status_code == 200
    for line in log_lines()[start:]:
        assert len(line.encode("utf-8")) < 10000  # Splunk's default TRUNCATE
    edited = [parse(line) for line in log_lines()[start:] if "field=findings" in line and "change=edit" in line]
    assert edited[0]["values"]["new"] == long_text
    assert stanza(splunkd, "r1")["findings"] == long_text


def _interpreter(version, command):
    """The real interpreter behind a pyenv shim, or None."""
    try:
        found = subprocess.run([command, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True,
                               env=dict(os.environ, PYENV_VERSION=version), timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found.stdout.strip() if found.returncode == 0 else None


@pytest.mark.parametrize("version, command", [("3.9.18", "python3.9"), ("3.13.0", "python3.13")])
def test_the_endpoint_runs_under_the_pythons_splunk_ships(splunkd, version, command):
    python = shutil.which(command) and _interpreter(version, command)
    if not python:
        pytest.skip("%s (pyenv %s) is not installed" % (command, version))
    splunkd.python, default = python, splunkd.python
    try:
        answer = create(splunkd, "alice", "r1")
    finally:
        splunkd.python = default
    assert answer.status_code == 201, splunkd.script_errors[-1][-2000:]
    assert stanza(splunkd, "r1")["recorded_by"] == "alice"


# ---- the Access reviews tab: lists as UCC does, sends every change through the endpoint ----------------

@pytest.fixture(scope="module")
def tab_handler(splunkd):
    """The handler class the generated ta_1password_events_rh_review.py gives splunkd, and that
    file: splunkd runs it as __main__ from $SPLUNK_HOME/etc/apps/<app>/bin, where splunktaucclib
    reads the app's name."""
    script = os.path.join(splunkd.splunk_home, "etc", "apps", ADDON, "bin", "ta_1password_events_rh_review.py")
    environment = dict(os.environ)
    runpy.run_path(script, run_name="__main__")
    os.environ.clear()
    os.environ.update(environment)  # (the generated file drops proxy variables)
    handler, _ = admin.initialized[-1]
    assert issubclass(handler, tab.ReviewRecordHandler)
    return handler, script


def use_tab(splunkd, tab_handler, user, action, name=None, fields=None):
    """One request of the tab, as splunkd passes it to the handler; the answer's entries."""
    handler_class, script = tab_handler
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys.modules["__main__"], "__file__", script)
        handler = handler_class("persistent", admin.CONTEXT_APP_ONLY,
                                admin.eai_request(action, name, fields or {}, token(splunkd, user), user=user))
        answer = admin.ConfigInfo()
        {admin.ACTION_CREATE: handler.handleCreate, admin.ACTION_EDIT: handler.handleEdit,
         admin.ACTION_REMOVE: handler.handleRemove, admin.ACTION_LIST: handler.handleList}[action](answer)
    return answer


def test_a_reviewer_records_through_the_tab_but_cannot_write_the_file_directly(splunkd, tab_handler, log_lines):
    saved = use_tab(splunkd, tab_handler, "alice", admin.ACTION_CREATE, "2026_Q1", RECORD)
    assert saved["2026_Q1"]["recorded_by"] == "alice" and saved["2026_Q1"]["revision"] == "1"
    assert parse(log_lines()[0])["event"] == "review_record_saved"
    listed = use_tab(splunkd, tab_handler, "alice", admin.ACTION_LIST)
    assert listed["2026_Q1"]["reviewer"] == RECORD["reviewer"]
    before = _stored(splunkd)
    # the same reviewer, straight to the conf endpoint: splunkd refuses (default.meta)
    forged = dict(RECORD, recorded_by="someone else", revision="1")
    assert call(splunkd, "alice", "POST", CONF, dict(forged, name="2026_Q2")).status_code == 403
    assert call(splunkd, "alice", "POST", CONF + "/2026_Q1", {"findings": "Quietly changed."}).status_code == 403
    assert call(splunkd, "alice", "DELETE", CONF + "/2026_Q1").status_code == 403
    assert _stored(splunkd) == before
    assert call(splunkd, "alice", "GET", CONF + "/2026_Q1").json()["entry"][0]["content"]["revision"] == "1"
    # an admin may still fix the file by hand (and Splunk's _configtracker sees it)
    assert call(splunkd, "carol", "POST", CONF + "/2026_Q1", {"findings": "Fixed by an admin."}).status_code == 200


def test_the_tab_sends_changes_with_the_callers_session_and_reads_back_the_stored_record(splunkd, tab_handler):
    use_tab(splunkd, tab_handler, "bob", admin.ACTION_CREATE, "r1", RECORD)
    edited = use_tab(splunkd, tab_handler, "alice", admin.ACTION_EDIT, "r1", dict(RECORD, findings="Addendum."))
    assert edited["r1"]["findings"] == "Addendum." and edited["r1"]["updated_by"] == "alice"
    assert edited["r1"]["recorded_by"] == "bob" and edited["r1"]["revision"] == "2"
    assert edited["r1"].metadata["eai:acl"]["app"] == ADDON
    use_tab(splunkd, tab_handler, "carol", admin.ACTION_CREATE, "r2", RECORD)
    remaining = use_tab(splunkd, tab_handler, "alice", admin.ACTION_REMOVE, "r1")
    assert list(remaining) == ["r2"] and stanza(splunkd, "r1") is None
    forwarded = [(r.method, r.path, r.user) for r in splunkd.requests if r.kind == "script"]
    assert forwarded == [("POST", RECORDS, "bob"), ("POST", RECORDS + "/r1", "alice"),
                         ("POST", RECORDS, "carol"), ("DELETE", RECORDS + "/r1", "alice")]
    by_tab = [r for r in splunkd.requests if r.kind == "conf" and r.user != SYSTEM_USER]
    assert by_tab and all(r.method == "GET" for r in by_tab)  # the tab itself only reads


@pytest.mark.parametrize("user, action, name, fields, status, words", [
    ("eve", admin.ACTION_CREATE, "r2", RECORD, 403, "needs the 'onepassword_record_review' capability"),
    ("alice", admin.ACTION_CREATE, "r2", dict(RECORD, review_date="2026-02-30"), 400, "calendar date"),
    ("alice", admin.ACTION_CREATE, "r1", RECORD, 409, 'a record named "r1" already exists'),
    ("alice", admin.ACTION_EDIT, "nope", RECORD, 404, '"nope" does not exist'),
    ("eve", admin.ACTION_REMOVE, "r1", None, 403, "Ask a Splunk admin to grant it"),
])
def test_the_tab_shows_the_endpoints_refusal(splunkd, tab_handler, user, action, name, fields, status, words):
    use_tab(splunkd, tab_handler, "alice", admin.ACTION_CREATE, "r1", RECORD)
    before = _stored(splunkd)
    with pytest.raises(RestError) as refused:
        use_tab(splunkd, tab_handler, user, action, name, fields)
    assert refused.value.status == status and words in str(refused.value)
    assert _stored(splunkd) == before


def test_identity_comes_from_splunkd_current_context(splunkd):
    """As the Accounts handler asks it: the splunkd URI from SPLUNKD_URI, the caller's own session."""
    user, capabilities = onepassword_splunk.caller_identity(splunkd.users["alice"])
    assert user == "alice" and review.CAPABILITY in capabilities and "admin_all_objects" not in capabilities
    assert [(r.path, r.user) for r in splunkd.requests] == [("/services/authentication/current-context", "alice")]


# ---- declarations: capability, role, the configuration tab ----------------------------------------------

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


def test_the_configuration_tab_matches_the_endpoint():
    config = json.load(open(os.path.join(ROOT, "globalConfig.json"), encoding="utf-8"))
    tabs = {t.get("name") or t.get("type"): t for t in config["pages"]["configuration"]["tabs"]}
    form = tabs["review"]
    assert form["restHandlerModule"] == "onepassword_review_handler"
    assert form["restHandlerClass"] == tab.ReviewRecordHandler.__name__
    fields = [entity["field"] for entity in form["entity"]]
    assert fields == ["name"] + list(review.RECORD_FIELDS)
    outcome = next(e for e in form["entity"] if e["field"] == "outcome")
    assert [o["value"] for o in outcome["options"]["autoCompleteFields"]] == list(review.OUTCOMES)
    pattern = re.compile(outcome["validators"][0]["pattern"])
    assert all(pattern.match(o) for o in review.OUTCOMES) and not pattern.match("fine")
    for entity in form["entity"]:  # the form's limits are the server's limits
        for validator in entity.get("validators", []):
            if validator["type"] == "string":
                limit = review.NAME_MAX_LENGTH if entity["field"] == "name" else review.RECORD_FIELDS[entity["field"]]
                assert validator["maxLength"] == limit, entity["field"]
    name_rule = next(v for v in next(e for e in form["entity"] if e["field"] == "name")["validators"]
                     if v["type"] == "regex")
    assert name_rule["pattern"] == review._NAME.pattern
    shown = {h["field"] for h in form["table"]["header"]} | {m["field"] for m in form["table"]["moreInfo"]}
    assert set(review.STAMP_FIELDS) <= shown
    # the other tabs are untouched: accounts first, then reviews, proxy, logging
    assert list(tabs) == ["account", "review", "proxyTab", "loggingTab"]


def test_the_records_file_has_a_spec_naming_every_field():
    spec = open(os.path.join(PACKAGE, "README", "ta_1password_events_review.conf.spec"), encoding="utf-8").read()
    for field in tuple(review.RECORD_FIELDS) + review.STAMP_FIELDS:
        assert re.search(rf"^{field} = ", spec, flags=re.M), field


def test_the_dashboard_reads_the_fields_the_endpoint_writes():
    macros = open(os.path.join(PACKAGE, "default", "macros.conf"), encoding="utf-8").read()
    records = re.search(r"^\[onepassword_review_records\]\ndefinition = (.+)$", macros, flags=re.M).group(1)
    for field in tuple(review.RECORD_FIELDS) + review.STAMP_FIELDS:
        assert field in records, field
    assert "configs/conf-ta_1password_events_review" in records
    log = re.search(r"^\[onepassword_review_change_log\]\ndefinition = (.+)$", macros, flags=re.M).group(1)
    assert review.CHANGE_LOG + ".log" in log


def test_the_dashboards_history_search_parses_the_change_log(splunkd, log_lines):
    """The rex/spath of the Access Review history panel, applied to the lines the endpoint writes."""
    import dashboard_queries as dq

    query = next(q["query"] for q in dq.queries(with_defaults=False)
                 if q["dashboard"] == "onepassword_access_review" and q["id"] == "ds_review_history")
    patterns = [re.compile(body.replace('\\"', '"').replace("\\\\", "\\").replace("(?<", "(?P<"))
                for body in re.findall(r'^\| rex "((?:[^"\\]|\\.)*)"', query, flags=re.M)]
    start = len(log_lines())
    assert create(splunkd, "alice", "2026_Q1", dict(RECORD, findings='Quote " and brace } inside; new=trick')
                  ).status_code == 201
    assert record_change(splunkd, "eve", "DELETE", "2026_Q1").status_code == 403
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
