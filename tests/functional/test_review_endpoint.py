"""The review-records endpoint: append-only revisions, who may add one, and the change log.

An auditor reads these records as evidence, so the tests try what an insider with a
Splunk login would: another reviewer rewriting or deleting a record, concurrent edits,
a caller without the capability, hostile names and values that would cut the user out
of a change-log line.

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

import json
import os
import re
import runpy
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from splunk import admin
from splunktaucclib.rest_handler.error import RestError

import onepassword_review_handler as tab
from dashboards import dashboard_queries as dq
from dashboards.spl_fields import fields_of
from conf_reader import read_conf
from onepassword_reviews import model as review
from onepassword_reviews.changelog import CHANGE_LOG
from onepassword_reviews.store import RECORDS_CONF, REVISIONS_CONF
from onepassword_splunk import SplunkEdge
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
            # admin holds the capability (the add-on's authorize.conf) and, as in every Splunk,
            # admin_all_objects (the fake does not model built-in roles' capabilities)
            "carol": fake.add_user("carol", roles=["admin"], capabilities=["admin_all_objects"]),
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
    for conf in (RECORDS_CONF, REVISIONS_CONF):
        for name in list(_stored(splunkd, conf)):
            splunkd.remove_stanza(conf, name)
    splunkd.clear_requests()
    yield


def _stored(splunkd, conf=RECORDS_CONF):
    with splunkd._lock:
        return json.loads(json.dumps(splunkd._confs.get(ADDON, {}).get("local", {}).get(conf, {})))


def everything(splunkd):
    return _stored(splunkd), _stored(splunkd, REVISIONS_CONF)


def revisions(splunkd, name):
    """The record's revisions as stored, oldest first."""
    found = [fields for stanza, fields in _stored(splunkd, REVISIONS_CONF).items() if stanza.startswith(name + ":")]
    return sorted(found, key=lambda r: int(r["revision"]))


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
    return splunkd.conf_stanza(RECORDS_CONF, name)


def edit(splunkd, user, name, revision, **fields):
    return record_change(splunkd, user, "POST", name, revision=str(revision), **fields)


def withdraw(splunkd, user, name, revision=None):
    path = RECORDS + "/" + name + ("?revision=%s" % revision if revision is not None else "")
    return call(splunkd, user, "DELETE", path)


@pytest.fixture
def log_lines(splunkd):
    """The change-log lines written during the test."""
    path = os.path.join(splunkd.splunk_home, "var", "log", "splunk", CHANGE_LOG + ".log")
    start = os.path.getsize(path) if os.path.exists(path) else 0

    def read():
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as handle:
            handle.seek(start)
            return [line.rstrip("\n") for line in handle if line.strip()]
    return read


def parse(line):
    """The JSON record of one change-log line (after solnlib's prefix)."""
    prefix, record = line.split(" | ", 1)
    assert prefix.startswith("20") and "log_level=" in prefix, line
    return json.loads(record)


# ---- the review-records endpoint: every change is a new revision --------------------------------------

def test_create_is_revision_1_stamped_by_the_server_and_logged_field_by_field(splunkd, log_lines):
    answer = create(splunkd, "alice", "2026_Q1",
                    dict(RECORD, recorded_by="mallory", recorded_at="1999-01-01T00:00:00Z", revision="99"))
    assert answer.status_code == 201, splunkd.script_errors[-1][-3000:]
    assert answer.json()["revision"] == "1"
    saved = stanza(splunkd, "2026_Q1")
    assert saved["recorded_by"] == "alice" and saved["updated_by"] == "alice" and saved["status"] == "active"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", saved["recorded_at"])
    assert saved["recorded_at"] != "1999-01-01T00:00:00Z" and saved["revision"] == "1"
    assert {key: saved[key] for key in RECORD} == RECORD
    (first,) = revisions(splunkd, "2026_Q1")
    assert (first["revision"], first["change"], first["user"], first["at"]) == ("1", "create", "alice",
                                                                              saved["recorded_at"])
    assert {key: first[key] for key in RECORD} == RECORD
    lines = [parse(line) for line in log_lines()]
    assert list(lines[0])[:3] == ["user", "action", "event"]  # who and what first
    assert (lines[0]["event"], lines[0]["action"], lines[0]["user"], lines[0]["record"], lines[0]["revision"]) == (
        "review_record_saved", "create", "alice", "2026_Q1", "1")
    fields = {entry["field"]: entry for entry in lines[1:]}
    assert all(entry["event"] == "review_record_field" for entry in lines[1:])
    for key, value in RECORD.items():
        assert fields[key]["new"] == value and "old" not in fields[key]


def test_the_caller_is_identified_with_its_own_session_and_revisions_written_with_the_system_session(splunkd):
    assert create(splunkd, "alice", "2026_Q1").status_code == 201
    assert edit(splunkd, "alice", "2026_Q1", 1, findings="Addendum.").status_code == 200
    assert withdraw(splunkd, "alice", "2026_Q1").status_code == 200
    identity = [r for r in splunkd.requests if r.kind == "auth"]
    assert len(identity) == 3 and {r.user for r in identity} == {"alice"}
    writes = [r for r in splunkd.requests if r.kind == "conf" and r.method in ("POST", "DELETE")]
    assert writes and {r.user for r in writes} == {SYSTEM_USER} and all(r.status < 300 for r in writes)
    assert not [r for r in writes if r.method == "DELETE"]  # nothing is ever deleted
    assert {r.user for r in splunkd.requests if r.kind == "script"} == {"alice"}


def test_an_edit_adds_a_revision_and_keeps_every_earlier_one_whole(splunkd, log_lines):
    assert create(splunkd, "alice", "2026_Q1").status_code == 201
    first = revisions(splunkd, "2026_Q1")[0]
    start = len(log_lines())
    answer = edit(splunkd, "alice", "2026_Q1", 1, **dict(
        RECORD, outcome="exceptions_open", findings="One grant still open.", recorded_by="bob"))
    assert answer.status_code == 200 and answer.json()["revision"] == "2"
    saved = stanza(splunkd, "2026_Q1")
    assert saved["recorded_by"] == "alice" and saved["recorded_at"] == first["at"]
    assert saved["findings"] == "One grant still open." and saved["revision"] == "2"
    old, new = revisions(splunkd, "2026_Q1")
    assert old == first  # revision 1 untouched: alice's first findings stay readable
    assert (new["change"], new["user"], new["base_revision"]) == ("edit", "alice", "1")
    assert new["quarter"] == RECORD["quarter"] and new["outcome"] == "exceptions_open"  # full values
    lines = [parse(line) for line in log_lines()[start:]]
    assert lines[0]["action"] == "edit" and lines[0]["user"] == "alice" and lines[0]["base_revision"] == 1
    changed = {entry["field"]: (entry["old"], entry["new"]) for entry in lines[1:]}
    assert changed == {"outcome": ("exceptions_remediated", "exceptions_open"),
                       "findings": (RECORD["findings"], "One grant still open.")}
    assert lines[0]["changed_fields"] == ["outcome", "findings"]


def test_another_reviewer_can_neither_rewrite_nor_delete_a_record_but_an_admin_can(splunkd, log_lines):
    assert create(splunkd, "alice", "2026_Q1").status_code == 201
    before = everything(splunkd)
    start = len(log_lines())
    rewrite = edit(splunkd, "bob", "2026_Q1", 1, findings="Nothing found.")
    delete = withdraw(splunkd, "bob", "2026_Q1")
    for answer in (rewrite, delete):
        assert answer.status_code == 403
        assert "only the record's author (alice) or a Splunk admin" in message(answer)
    assert everything(splunkd) == before
    refused = [parse(line) for line in log_lines()[start:]]
    assert [(r["event"], r["user"], r["action"], r["http_status"]) for r in refused] == [
        ("review_record_refused", "bob", "edit", 403), ("review_record_refused", "bob", "withdraw", 403)]
    # an admin holding the capability (carol) may, and is named as the one who did
    assert edit(splunkd, "carol", "2026_Q1", 1, findings="Corrected by the admin.").status_code == 200
    assert [(r["revision"], r["user"]) for r in revisions(splunkd, "2026_Q1")] == [("1", "alice"), ("2", "carol")]
    assert stanza(splunkd, "2026_Q1")["recorded_by"] == "alice"


def test_delete_withdraws_the_record_and_keeps_its_values_and_history(splunkd, log_lines):
    assert create(splunkd, "alice", "2026_Q1").status_code == 201
    assert edit(splunkd, "alice", "2026_Q1", 1, findings="Addendum.").status_code == 200
    start = len(log_lines())
    answer = withdraw(splunkd, "alice", "2026_Q1", revision=2)
    assert answer.status_code == 200 and answer.json()["revision"] == "3"
    saved = stanza(splunkd, "2026_Q1")
    assert saved["status"] == "withdrawn" and saved["findings"] == "Addendum." and saved["updated_by"] == "alice"
    assert [r["change"] for r in revisions(splunkd, "2026_Q1")] == ["create", "edit", "withdraw"]
    assert revisions(splunkd, "2026_Q1")[2]["findings"] == "Addendum."
    (line,) = [parse(line) for line in log_lines()[start:]]
    assert (line["action"], line["status"], line["revision"]) == ("withdraw", "withdrawn", "3")
    # a withdrawn record takes no more revisions, and its name stays taken
    again = edit(splunkd, "alice", "2026_Q1", 3, findings="Back.")
    assert again.status_code == 409 and "was withdrawn by alice" in message(again)
    assert create(splunkd, "alice", "2026_Q1").status_code == 409
    assert len(revisions(splunkd, "2026_Q1")) == 3


def test_the_endpoint_lists_every_revision(splunkd):
    assert create(splunkd, "alice", "r1").status_code == 201
    assert edit(splunkd, "alice", "r1", 1, findings="Second.").status_code == 200
    assert withdraw(splunkd, "carol", "r1").status_code == 200
    answer = call(splunkd, "bob", "GET", RECORDS + "/r1")
    assert answer.status_code == 200
    listed = answer.json()["revisions"]
    assert [(r["revision"], r["change"], r["user"], r["findings"]) for r in listed] == [
        ("1", "create", "alice", RECORD["findings"]), ("2", "edit", "alice", "Second."),
        ("3", "withdraw", "carol", "Second.")]
    assert call(splunkd, "bob", "GET", RECORDS + "/nope").status_code == 404


def test_a_stale_edit_is_refused_with_what_changed_meanwhile(splunkd):
    assert create(splunkd, "alice", "r1").status_code == 201
    assert edit(splunkd, "alice", "r1", 1, findings="First edit.").status_code == 200
    stale = edit(splunkd, "alice", "r1", 1, findings="Based on the old text.")
    assert stale.status_code == 409
    assert "changed since you opened it" in message(stale) and "revision 2, saved by alice" in message(stale)
    assert stanza(splunkd, "r1")["findings"] == "First edit."
    missing = record_change(splunkd, "alice", "POST", "r1", findings="No revision named.")
    assert missing.status_code == 400 and "name the revision you are changing" in message(missing)
    assert edit(splunkd, "alice", "r1", "2x", findings="x").status_code == 400
    assert edit(splunkd, "alice", "r1", 7, findings="Ahead.").status_code == 409
    assert len(revisions(splunkd, "r1")) == 2


def test_six_concurrent_edits_lose_none(splunkd):
    """Six editors open revision 1 at once: one edit becomes revision 2, the five others are
    refused, never silently overwritten; each then reopens the record and saves again until
    accepted, so every edit ends up as its own revision."""
    assert create(splunkd, "alice", "r1").status_code == 201
    editors = ["alice", "carol"] * 3
    texts = ["Edit %d by %s." % (n, user) for n, user in enumerate(editors)]

    def attempt(n, revision):
        return edit(splunkd, editors[n], "r1", revision, findings=texts[n])

    with ThreadPoolExecutor(6) as pool:
        first = list(pool.map(lambda n: attempt(n, 1), range(6)))
    assert sorted(a.status_code for a in first) == [200] + [409] * 5, [a.text for a in first]

    def until_accepted(n):
        answer = first[n]
        while answer.status_code == 409:
            answer = attempt(n, stanza(splunkd, "r1")["revision"])
        assert answer.status_code == 200, answer.text
        return answer.json()["revision"]

    with ThreadPoolExecutor(6) as pool:
        numbers = list(pool.map(until_accepted, range(6)))
    assert sorted(numbers, key=int) == ["2", "3", "4", "5", "6", "7"]
    stored = revisions(splunkd, "r1")
    assert [r["revision"] for r in stored] == [str(n) for n in range(1, 8)]
    assert sorted(r["findings"] for r in stored[1:]) == sorted(texts)
    for revision in stored[1:]:
        assert revision["base_revision"] == str(int(revision["revision"]) - 1)
    assert stanza(splunkd, "r1")["revision"] == "7" and stanza(splunkd, "r1")["findings"] == stored[-1]["findings"]


@pytest.mark.parametrize("action", ["create", "edit", "withdraw"])
def test_without_the_capability_nothing_changes_and_the_attempt_is_logged(splunkd, log_lines, action):
    assert create(splunkd, "alice", "2026_Q1").status_code == 201
    before = everything(splunkd)
    start = len(log_lines())
    answer = {"create": lambda: create(splunkd, "eve", "2026_Q2"),
              "edit": lambda: edit(splunkd, "eve", "2026_Q1", 1, findings="Changed."),
              "withdraw": lambda: withdraw(splunkd, "eve", "2026_Q1")}[action]()
    assert answer.status_code == 403
    assert review.CAPABILITY in message(answer) and "onepassword_reviewer" in message(answer)
    assert everything(splunkd) == before
    (line,) = [parse(line) for line in log_lines()[start:]]
    assert (line["event"], line["user"], line["action"]) == ("review_record_refused", "eve", action)
    assert review.CAPABILITY in line["reason"]


def test_when_splunkd_cannot_say_who_the_caller_is_nothing_changes(splunkd, log_lines):
    splunkd.fail_requests("auth", times=4, status=503)  # the first try and its 3 retries
    start = len(log_lines())
    answer = create(splunkd, "alice", "2026_Q1")
    assert answer.status_code == 500 and "could not check your Splunk capabilities" in message(answer)
    assert everything(splunkd) == ({}, {})
    assert not [r for r in splunkd.requests if r.kind == "conf"]
    line = parse(log_lines()[start])
    assert line["event"] == "review_record_refused" and line["user"] == "alice"  # splunkd's session user


def test_without_a_system_session_nothing_is_written_with_the_callers_rights(splunkd):
    """An admin's local/restmap.conf turning passSystemAuth off: the endpoint refuses, it does not
    fall back to the caller's session."""
    splunkd.set_stanza("restmap", "script:ta_1password_events_review_records", {"passSystemAuth": "false"})
    try:
        answer = create(splunkd, "carol", "2026_Q1")
    finally:
        splunkd.remove_stanza("restmap", "script:ta_1password_events_review_records")
    assert answer.status_code == 500 and "passSystemAuth" in message(answer)
    assert everything(splunkd) == ({}, {}) and not [r for r in splunkd.requests if r.kind == "conf"]


@pytest.mark.parametrize("name, field, value, words", [
    ("r1", "quarter", "2026-Q5", "YYYY-Qn"),
    ("r1", "quarter", "Q1 2026", "YYYY-Qn"),
    ("r1", "quarter", "2026-Q1\n", "YYYY-Qn"),
    ("r1", "review_date", "2026-02-30", "calendar date"),
    ("r1", "review_date", "07/04/2026", "calendar date"),
    ("r1", "review_date", "2026-04-07\n", "calendar date"),
    ("r1", "outcome", "fine", "choose an outcome"),
    ("r1", "reviewer", "   ", "'reviewer' is required"),
    ("r1", "findings", "x" * 1501, "longer than 1500"),
    ("r1", "disabled", "1", "unknown field(s) disabled"),
    ("_hidden", "findings", "", "must start with a letter or digit"),
    ("a/b", "findings", "", "must start with a letter or digit"),
    ("r1\n", "findings", "", "must start with a letter or digit"),
    ("r1:000002", "findings", "", "must start with a letter or digit"),
    ("default", "findings", "", "must start with a letter or digit"),
    ("x" * 101, "findings", "", "at most 100 characters"),
])
def test_the_server_checks_what_the_form_checks(splunkd, name, field, value, words):
    answer = create(splunkd, "alice", name, dict(RECORD, **{field: value}))
    assert answer.status_code == 400 and words in message(answer)
    assert everything(splunkd) == ({}, {})


def test_the_findings_boundary_is_1500_characters(splunkd):
    assert create(splunkd, "alice", "r1", dict(RECORD, findings="x" * 1500)).status_code == 201
    assert create(splunkd, "alice", "r2", dict(RECORD, findings="x" * 1501)).status_code == 400


def test_a_partial_rest_edit_is_checked_against_the_latest_revision(splunkd):
    assert create(splunkd, "alice", "r1").status_code == 201
    assert edit(splunkd, "alice", "r1", 1, findings="Addendum.").status_code == 200
    saved = stanza(splunkd, "r1")
    assert saved["quarter"] == "2026-Q1" and saved["findings"] == "Addendum." and saved["revision"] == "2"
    assert edit(splunkd, "alice", "r1", 2, quarter="bad").status_code == 400
    disabled = edit(splunkd, "alice", "r1", 2, disabled="1")
    assert disabled.status_code == 400 and "cannot be disabled" in message(disabled)
    assert stanza(splunkd, "r1") == saved


def test_a_missing_record_is_404_and_a_taken_name_409(splunkd):
    assert edit(splunkd, "alice", "nope", 1, **RECORD).status_code == 404
    assert withdraw(splunkd, "alice", "nope").status_code == 404
    assert create(splunkd, "alice", "r1").status_code == 201
    taken = create(splunkd, "bob", "r1", dict(RECORD, reviewer="Bob"))
    assert taken.status_code == 409 and stanza(splunkd, "r1")["reviewer"] == "Grace Hopper"
    assert len(revisions(splunkd, "r1")) == 1


# ---- the change log: bounded JSON, the user never cut away ---------------------------------------------

HOSTILE_NAMES = ["x" * 12000, 'x" user="values={"reason":"x"}', 'r1\n2026-01-01 00:00:00 | {"user":"mallory"}',
                 "\u202e" * 3000, "😀" * 5000]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=["12000", "quotes", "newline", "bidi", "emoji"])
def test_a_refused_callers_line_keeps_its_user_whatever_the_name(splunkd, log_lines, name):
    start = len(log_lines())
    for user in ("eve", "alice"):  # refused for the capability, refused for the name
        answer = create(splunkd, user, name)
        assert answer.status_code in (400, 403)
    lines = log_lines()[start:]
    assert len(lines) == 2  # one line each: no line break of the name survives
    for line, user in zip(lines, ("eve", "alice")):
        assert len(line.encode("utf-8")) < 10000
        record = parse(line)
        assert (record["user"], record["action"], record["event"]) == (user, "create", "review_record_refused")
        assert name.startswith(record["record"].split("…[cut:")[0])
        assert record["reason"].startswith("Review not saved")


@pytest.mark.parametrize("text", ["\x01\x02\x1b[31m" * 375, "😀" * 1500, "監査" * 750, '"}, "user": "mallory' * 83],
                         ids=["control", "emoji", "cjk", "json"])
def test_hostile_values_fit_in_one_event_and_are_kept_whole_in_the_revision(splunkd, log_lines, text):
    text = text[:1500]
    assert create(splunkd, "alice", "r1", dict(RECORD, scope=text[:1000])).status_code == 201
    start = len(log_lines())
    assert edit(splunkd, "alice", "r1", 1, **dict(RECORD, findings=text, scope=text[::-1][:1000])).status_code == 200
    lines = log_lines()[start:]
    for line in lines:
        assert len(line.encode("utf-8")) < 10000  # Splunk's default TRUNCATE
        record = parse(line)
        assert record["user"] == "alice" and record["action"] == "edit"
    findings = next(parse(line) for line in lines if parse(line).get("field") == "findings")
    assert findings["new"] == text or (findings["new"].endswith("characters in all]")
                                       and text.startswith(findings["new"].split("…[cut:")[0]))
    assert findings["old"] == RECORD["findings"]
    assert revisions(splunkd, "r1")[1]["findings"] == text  # the evidence keeps every character

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
        patch.setattr(sys.modules["__main__"], "__file__", script, raising=False)  # (none under some xdist workers)
        handler = handler_class("persistent", admin.CONTEXT_APP_ONLY,
                                admin.eai_request(action, name, fields or {}, token(splunkd, user), user=user))
        answer = admin.ConfigInfo()
        {admin.ACTION_CREATE: handler.handleCreate, admin.ACTION_EDIT: handler.handleEdit,
         admin.ACTION_REMOVE: handler.handleRemove, admin.ACTION_LIST: handler.handleList}[action](answer)
    return answer


def test_a_reviewer_records_through_the_tab_but_cannot_write_the_files_directly(splunkd, tab_handler, log_lines):
    saved = use_tab(splunkd, tab_handler, "alice", admin.ACTION_CREATE, "2026_Q1", RECORD)
    assert saved["2026_Q1"]["recorded_by"] == "alice" and saved["2026_Q1"]["revision"] == "1"
    assert parse(log_lines()[0])["event"] == "review_record_saved"
    listed = use_tab(splunkd, tab_handler, "alice", admin.ACTION_LIST)
    assert listed["2026_Q1"]["reviewer"] == RECORD["reviewer"]
    before = everything(splunkd)
    # the same reviewer, straight to the conf endpoints: splunkd refuses (default.meta)
    forged = dict(RECORD, recorded_by="someone else", revision="1")
    assert call(splunkd, "alice", "POST", CONF, dict(forged, name="2026_Q2")).status_code == 403
    assert call(splunkd, "alice", "POST", CONF + "/2026_Q1", {"findings": "Quietly changed."}).status_code == 403
    assert call(splunkd, "alice", "DELETE", CONF + "/2026_Q1").status_code == 403
    revisions_conf = CONF.replace(RECORDS_CONF, REVISIONS_CONF)
    assert call(splunkd, "alice", "POST", revisions_conf + "/2026_Q1:000001",
                {"findings": "Rewritten."}).status_code == 403
    assert call(splunkd, "alice", "DELETE", revisions_conf + "/2026_Q1:000001").status_code == 403
    assert call(splunkd, "alice", "POST", revisions_conf, dict(forged, name="2026_Q1:000002")).status_code == 403
    assert everything(splunkd) == before


def test_the_tab_edits_the_revision_it_shows_and_delete_withdraws(splunkd, tab_handler):
    use_tab(splunkd, tab_handler, "bob", admin.ACTION_CREATE, "r1", RECORD)
    opened = use_tab(splunkd, tab_handler, "bob", admin.ACTION_LIST, "r1")["r1"]
    assert opened["revision"] == "1" and "r1 create by bob" in opened["history"]
    # the form sends back every field it shows, the read-only revision among them
    edited = use_tab(splunkd, tab_handler, "bob", admin.ACTION_EDIT, "r1",
                     dict(RECORD, findings="Addendum.", revision=opened["revision"]))
    assert edited["r1"]["findings"] == "Addendum." and edited["r1"]["updated_by"] == "bob"
    assert edited["r1"]["recorded_by"] == "bob" and edited["r1"]["revision"] == "2"
    assert edited["r1"]["history"].startswith("r2 edit by bob at ")
    assert edited["r1"].metadata["eai:acl"]["app"] == ADDON
    # a second form opened at revision 1 (carol, an admin) cannot overwrite bob's edit
    with pytest.raises(RestError) as stale:
        use_tab(splunkd, tab_handler, "carol", admin.ACTION_EDIT, "r1", dict(RECORD, findings="Mine.", revision="1"))
    assert stale.value.status == 409 and "changed since you opened it" in str(stale.value)
    use_tab(splunkd, tab_handler, "carol", admin.ACTION_CREATE, "r2", RECORD)
    remaining = use_tab(splunkd, tab_handler, "bob", admin.ACTION_REMOVE, "r1")
    assert sorted(remaining) == ["r1", "r2"] and remaining["r1"]["status"] == "withdrawn"
    assert [r["change"] for r in revisions(splunkd, "r1")] == ["create", "edit", "withdraw"]
    forwarded = [(r.method, r.path, r.user) for r in splunkd.requests if r.kind == "script"]
    assert forwarded == [("POST", RECORDS, "bob"), ("POST", RECORDS + "/r1", "bob"), ("POST", RECORDS + "/r1", "carol"),
                         ("POST", RECORDS, "carol"), ("DELETE", RECORDS + "/r1", "bob")]
    by_tab = [r for r in splunkd.requests if r.kind == "conf" and r.user != SYSTEM_USER]
    assert by_tab and all(r.method == "GET" for r in by_tab)  # the tab itself only reads


@pytest.mark.parametrize("user, action, name, fields, status, words", [
    ("eve", admin.ACTION_CREATE, "r2", RECORD, 403, "needs the 'onepassword_record_review' capability"),
    ("alice", admin.ACTION_CREATE, "r2", dict(RECORD, review_date="2026-02-30"), 400, "calendar date"),
    ("alice", admin.ACTION_CREATE, "r1", RECORD, 409, 'a record named "r1" already exists'),
    ("alice", admin.ACTION_EDIT, "nope", dict(RECORD, revision="1"), 404, '"nope" does not exist'),
    ("bob", admin.ACTION_EDIT, "r1", dict(RECORD, revision="1"), 403, "only the record's author (alice)"),
    ("eve", admin.ACTION_REMOVE, "r1", None, 403, "Ask a Splunk admin to grant it"),
])
def test_the_tab_shows_the_endpoints_refusal(splunkd, tab_handler, user, action, name, fields, status, words):
    use_tab(splunkd, tab_handler, "alice", admin.ACTION_CREATE, "r1", RECORD)
    before = everything(splunkd)
    with pytest.raises(RestError) as refused:
        use_tab(splunkd, tab_handler, user, action, name, fields)
    assert refused.value.status == status and words in str(refused.value)
    assert everything(splunkd) == before


def test_identity_comes_from_splunkd_current_context(splunkd):
    """As the Accounts handler asks it: the splunkd URI from SPLUNKD_URI, the caller's own session."""
    user, capabilities = SplunkEdge(splunkd.users["alice"]).caller_identity()
    assert user == "alice" and review.CAPABILITY in capabilities and "admin_all_objects" not in capabilities
    assert [(r.path, r.user) for r in splunkd.requests] == [("/services/authentication/current-context", "alice")]


# ---- declarations: capability, role, the configuration tab ----------------------------------------------

def test_authorize_conf_declares_the_capability_and_the_reviewer_role():
    authorize = read_conf(os.path.join(PACKAGE, "default", "authorize.conf"))
    assert "capability::" + review.CAPABILITY in authorize
    role = authorize["role_" + review.REVIEWER_ROLE]
    assert role["importRoles"] == "user" and role[review.CAPABILITY] == "enabled"
    assert authorize["role_admin"][review.CAPABILITY] == "enabled"
    for section in authorize:  # no built-in role is widened beyond this capability
        if section.startswith("role_") and section != "role_" + review.REVIEWER_ROLE:
            assert authorize[section] == {review.CAPABILITY: "enabled"}, section


def test_the_configuration_tab_matches_the_endpoint():
    config = json.load(open(os.path.join(ROOT, "globalConfig.json"), encoding="utf-8"))
    tabs = {t.get("name") or t.get("type"): t for t in config["pages"]["configuration"]["tabs"]}
    form = tabs["review"]
    assert form["restHandlerModule"] == "onepassword_review_handler"
    assert form["restHandlerClass"] == tab.ReviewRecordHandler.__name__
    fields = [entity["field"] for entity in form["entity"]]
    assert fields == ["name"] + list(review.RECORD_FIELDS) + ["revision"]
    revision = form["entity"][-1]  # shown, not editable, sent back with the edit
    assert revision["options"] == {"enable": False} and not revision["required"]
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
    assert name_rule["pattern"] == review.NAME_PATTERN
    shown = {h["field"] for h in form["table"]["header"]} | {m["field"] for m in form["table"]["moreInfo"]}
    assert set(review.STAMP_FIELDS) <= shown
    # the other tabs are untouched: accounts first, then reviews, proxy, logging
    assert list(tabs) == ["account", "review", "proxyTab", "loggingTab"]


@pytest.mark.parametrize("conf, fields", [
    (RECORDS_CONF, tuple(review.RECORD_FIELDS) + review.STAMP_FIELDS),
    (REVISIONS_CONF, review.REVISION_FIELDS + tuple(review.RECORD_FIELDS))])
def test_each_records_file_has_a_spec_naming_every_field(conf, fields):
    spec = open(os.path.join(PACKAGE, "README", conf + ".conf.spec"), encoding="utf-8").read()
    for field in fields:
        assert re.search(rf"^{field} = ", spec, flags=re.M), field


def _panel_query(panel):
    return next(q["query"] for q in dq.queries(with_defaults=False)
                if q["dashboard"] == "onepassword_access_review" and q["id"] == panel)


def test_the_dashboards_history_search_reads_the_change_logs_json_fields(splunkd, log_lines):
    """The Access Review history panel's own search (macros expanded), applied to the lines
    the endpoint writes: a value or name shaped like a field of ours stays one value."""
    query = _panel_query("ds_review_history")
    start = len(log_lines())
    trick = 'Quote " and brace } inside; "user":"mallory" user=mallory'
    assert create(splunkd, "alice", "2026_Q1", dict(RECORD, findings=trick)).status_code == 201
    assert withdraw(splunkd, "eve", "2026_Q1").status_code == 403
    assert create(splunkd, "alice", 'x" user="values={"reason":"x"}').status_code == 400
    rows = [fields_of(query, line, source=CHANGE_LOG + ".log") for line in log_lines()[start:]]
    assert None not in rows
    findings = next(r for r in rows if r.get("field") == "findings")
    assert findings["new_value"] == trick and findings["old_value"] is None
    assert (findings["splunk_user"], findings["record"], findings["change"]) == ("alice", "2026_Q1", "create")
    assert rows[0]["log_event"] == "review_record_saved" and rows[0]["revision"] == "1"
    assert {r["splunk_user"] for r in rows} == {"alice", "eve"}
    refused = [r for r in rows if r["log_event"] == "review_record_refused"]
    assert [(r["splunk_user"], r["change"]) for r in refused] == [("eve", "withdraw"), ("alice", "create")]
    assert refused[1]["record"] == 'x" user="values={"reason":"x"}'
    # a line that is not one of our records gives no row
    assert fields_of(query, '2026-01-01 00:00:00,000 log_level=INFO pid=1 | user=mallory action=edit') is None


def test_the_dashboards_revision_panel_reads_the_revisions_file(splunkd):
    """The revisions macro asks for the fields the endpoint writes, and the tab's record macro for the
    fields of the listed record."""
    macros = read_conf(os.path.join(PACKAGE, "default", "macros.conf"))
    revisions_macro = macros["onepassword_review_revisions"]["definition"]
    assert "configs/conf-" + REVISIONS_CONF in revisions_macro
    assert create(splunkd, "alice", "r1").status_code == 201
    stored = revisions(splunkd, "r1")[0]
    fields = re.search(r"\| fields ([\w ]+)", revisions_macro).group(1).split()
    assert set(fields) == set(stored)
    records_macro = macros["onepassword_review_records"]["definition"]
    listed = re.search(r"\| fields ([\w ]+)", records_macro).group(1).split()
    assert set(listed) == {"review"} | set(review.RECORD_FIELDS) | set(review.STAMP_FIELDS)
    assert "`onepassword_review_revisions`" in _panel_query("ds_review_revisions")
