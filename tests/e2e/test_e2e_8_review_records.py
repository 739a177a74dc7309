"""8. Who may write access-review records, on a real splunkd.

A user whose only role is onepassword_reviewer records, edits and deletes a review through
the Access reviews tab's endpoint: the server stamps the record with that user and the change
log in _internal names them. The same user posting straight to
configs/conf-ta_1password_events_review (create, edit, delete) is refused by splunkd, because
default.meta lets only admins write that file; a user without the capability is refused by
the tab and the attempt is logged."""

import time

import pytest

from .conftest import REVIEW_ENDPOINT
from .splunk_client import error_text, wait_for

CONF = "configs/conf-ta_1password_events_review"
CHANGE_LOG = "index=_internal source=*ta_1password_events_review_changes.log*"


def _fields(findings="Recorded by tests/e2e as a reviewer."):
    now = time.gmtime()
    return {"quarter": "%d-Q%d" % (now.tm_year, (now.tm_mon - 1) // 3 + 1), "reviewer": "E2E Reviewer",
            "review_date": time.strftime("%Y-%m-%d", now), "scope": "1Password accounts of the e2e stack",
            "outcome": "no_exceptions", "findings": findings}


@pytest.fixture(scope="module")
def reviewer(users):
    return users("reviewer", "onepassword_reviewer")


@pytest.fixture(scope="module")
def plain_user(users):
    return users("plain", "user")


@pytest.fixture(scope="module")
def record(splunk, reviewer, names):
    """A review the reviewer records through the tab's endpoint."""
    name = "e2e_%s_by_reviewer" % names.run
    response = reviewer.create_addon_entity(REVIEW_ENDPOINT, name, _fields())
    assert response.status_code in (200, 201), error_text(response)
    yield name
    splunk.request("DELETE", splunk.addon_path(REVIEW_ENDPOINT, name), expect=None)


def _stored(splunk, name):
    return splunk.entry("%s/%s/%s" % (splunk.ns(), CONF, name))["content"]


def _logged(splunk, spl, what):
    wait_for(lambda: splunk.count("search %s %s | stats count" % (CHANGE_LOG, spl), earliest="-2h") > 0,
             300, 10, what)


def test_the_reviewer_records_a_review_stamped_and_logged(splunk, reviewer, record):
    saved = _stored(splunk, record)
    assert saved["recorded_by"] == reviewer.username and saved["updated_by"] == reviewer.username
    assert saved["revision"] == "1" and saved["findings"] == "Recorded by tests/e2e as a reviewer."
    _logged(splunk, "event=review_record_saved change=create record=%s user=%s" % (record, reviewer.username),
            "the change log to show the reviewer's new record")


def test_splunkd_refuses_the_reviewers_direct_writes_to_the_records_file(splunk, reviewer, record, names):
    conf = "%s/%s" % (reviewer.ns(), CONF)
    forged = dict(_fields("Forged."), name="e2e_%s_forged" % names.run, recorded_by="someone else", revision="1")
    attempts = {
        "create": reviewer.request("POST", conf, data=forged, expect=None),
        "edit": reviewer.request("POST", "%s/%s" % (conf, record), data={"findings": "Quietly changed."},
                                 expect=None),
        "delete": reviewer.request("DELETE", "%s/%s" % (conf, record), expect=None),
    }
    for change, response in attempts.items():
        refused = response.status_code == 403 or (response.status_code >= 400
                                                   and "permission" in error_text(response).lower())
        assert refused, (change, response.status_code, error_text(response)[:300])
    assert not splunk.exists("%s/%s/%s" % (splunk.ns(), CONF, forged["name"]))
    saved = _stored(splunk, record)
    assert saved["findings"] == "Recorded by tests/e2e as a reviewer." and saved["revision"] == "1"


def test_the_reviewer_edits_and_deletes_through_the_tab(splunk, reviewer, record):
    path = reviewer.addon_path(REVIEW_ENDPOINT, record)
    edited = reviewer.request("POST", path, data=_fields("Edited by the reviewer."), expect=None)
    assert edited.status_code == 200, error_text(edited)
    saved = _stored(splunk, record)
    assert saved["revision"] == "2" and saved["updated_by"] == reviewer.username
    assert saved["findings"] == "Edited by the reviewer."
    deleted = reviewer.request("DELETE", path, expect=None)
    assert deleted.status_code == 200, error_text(deleted)
    assert not splunk.exists("%s/%s/%s" % (splunk.ns(), CONF, record))
    _logged(splunk, "event=review_record_saved change=delete record=%s user=%s" % (record, reviewer.username),
            "the change log to show the reviewer's delete")


def test_a_user_without_the_capability_is_refused_and_logged(splunk, plain_user, names):
    name = "e2e_%s_by_plain_user" % names.run
    response = plain_user.create_addon_entity(REVIEW_ENDPOINT, name, _fields())
    # (an EAI handler's error reaches the client with the handler's text; splunkd picks the status)
    assert response.status_code >= 400 and "onepassword_record_review" in error_text(response), \
        error_text(response)[:300]
    assert not splunk.exists("%s/%s/%s" % (splunk.ns(), CONF, name))
    _logged(splunk, "event=review_record_refused record=%s user=%s" % (name, plain_user.username),
            "the change log to show the refused attempt")
