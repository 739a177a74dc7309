"""What a review record and each of its revisions hold, and who may add a revision.

A record is the list of its revisions, 1, 2, 3, ...; none is ever changed or removed.
Each revision keeps the full values of the record as they were after that change, who
made the change (the Splunk user of the session, as splunkd says, never a form field),
when, what kind of change it was (create, edit, withdraw) and the revision it changed.
"Deleting" a record adds a revision that marks it withdrawn, with the values it had.

Who may add a revision: a Splunk user holding the onepassword_record_review capability
may create a record; after that only the record's author (the user who created it) or
a Splunk administrator (admin_all_objects: roles admin, sc_admin) who also holds the
capability may edit or withdraw it. A withdrawn record takes no further revision.
"""

import re
import time


class Refused(Exception):
    """The answer to a request that changes nothing: HTTP status and the message the user sees."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


CAPABILITY = "onepassword_record_review"
ADMIN_CAPABILITY = "admin_all_objects"
REVIEWER_ROLE = "onepassword_reviewer"

# Fields a reviewer fills in (globalConfig.json, configuration tab "review"), with their maximum length.
RECORD_FIELDS = {"quarter": 7, "reviewer": 200, "review_date": 10, "scope": 1000, "outcome": 40, "findings": 1500}
OUTCOMES = ("no_exceptions", "exceptions_remediated", "exceptions_open", "not_completed")
# The record as the tab lists it: set by the server from the revisions, never taken from a client.
STAMP_FIELDS = ("recorded_by", "recorded_at", "updated_by", "updated_at", "revision", "status", "history")
# What a revision holds besides the record's fields.
REVISION_FIELDS = ("record", "revision", "change", "user", "at", "base_revision")
ACTIVE, WITHDRAWN = "active", "withdrawn"

NAME_MAX_LENGTH = 100
# The form's rule (globalConfig.json); matched whole (fullmatch), so "r1\n" is refused.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_NAME = re.compile(NAME_PATTERN)
_QUARTER = re.compile(r"\d{4}-Q[1-4]")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_REVISION = re.compile(r"[1-9][0-9]{0,8}")
# The tab shows this many revisions in a record's history; the dashboard shows them all.
HISTORY_SHOWN = 20


def check_name(name):
    if len(name) > NAME_MAX_LENGTH or not _NAME.fullmatch(name) or name.lower() == "default":
        raise Refused(400, f"Review not saved: the name must start with a letter or digit and use only letters, "
                           f"digits, '_', '.' and '-' (at most {NAME_MAX_LENGTH} characters).")


def parse_revision(text, required):
    """The revision number a client names (the one its change is based on)."""
    if text in (None, ""):
        if required:
            raise Refused(400, "Review not saved: name the revision you are changing (field 'revision', as shown "
                               "with the record), so that a change made by someone else meanwhile is not lost.")
        return None
    if not _REVISION.fullmatch(str(text)):
        raise Refused(400, "Review not saved: 'revision' must be the record's revision number, e.g. 3.")
    return int(text)


def check_values(record):
    """The form's checks, again on the server: REST clients skip the form."""
    if not _QUARTER.fullmatch(str(record.get("quarter") or "")):
        raise Refused(400, "Review not saved: enter the quarter as YYYY-Qn, e.g. 2026-Q1.")
    review_date = str(record.get("review_date") or "")
    try:
        if not _DATE.fullmatch(review_date):
            raise ValueError
        time.strptime(review_date, "%Y-%m-%d")
    except ValueError:
        raise Refused(400, "Review not saved: enter the review date as a calendar date, YYYY-MM-DD.") from None
    if record.get("outcome") not in OUTCOMES:
        raise Refused(400, "Review not saved: choose an outcome (" + ", ".join(OUTCOMES) + ").")
    for field in ("reviewer", "scope"):
        if not str(record.get(field) or "").strip():
            raise Refused(400, f"Review not saved: '{field}' is required.")
    for field, limit in RECORD_FIELDS.items():
        if len(str(record.get(field) or "")) > limit:
            raise Refused(400, f"Review not saved: '{field}' is longer than {limit} characters.")


def reviewer_fields(form):
    """The reviewer's fields of a request; the server's own are ignored, anything else is refused."""
    unknown = sorted(set(form) - set(RECORD_FIELDS) - set(STAMP_FIELDS))
    if unknown:
        raise Refused(400, "Review not saved: unknown field(s) " + ", ".join(unknown) + ".")
    return {key: str(value) for key, value in form.items() if key in RECORD_FIELDS}


def may_create(capabilities):
    return CAPABILITY in capabilities


def may_revise(user, capabilities, author):
    """The rule for adding a revision to an existing record (see the module's text)."""
    return CAPABILITY in capabilities and (user == author or ADMIN_CAPABILITY in capabilities)


def new_revision(record, number, change, user, values, base_revision):
    revision = {"record": record, "revision": str(number), "change": change, "user": user, "at": utc_now(),
                "base_revision": str(base_revision or "")}
    revision.update({field: str(values.get(field) or "") for field in RECORD_FIELDS})
    return revision


def current_view(revisions):
    """The record as the tab lists it, from its revisions (oldest first)."""
    first, last = revisions[0], revisions[-1]
    view = {field: last.get(field, "") for field in RECORD_FIELDS}
    view.update({
        "recorded_by": first["user"], "recorded_at": first["at"],
        "updated_by": last["user"], "updated_at": last["at"], "revision": last["revision"],
        "status": WITHDRAWN if last["change"] == "withdraw" else ACTIVE,
        "history": history_text(revisions),
    })
    return view


def history_text(revisions):
    shown = revisions[-HISTORY_SHOWN:]
    lines = [f"r{r['revision']} {r['change']} by {r['user']} at {r['at']}" for r in reversed(shown)]
    earlier = int(revisions[-1]["revision"]) - len(shown)
    if earlier > 0:
        lines.append(f"({earlier} earlier revisions: see the Access Review dashboard)")
    return "; ".join(lines)


def utc_now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
