"""REST handler of the "Access reviews" configuration tab: quarterly access-review records.

Each record (one stanza of ta_1password_events_review.conf, written to the add-on's
local/ so it survives restarts and upgrades) says which quarter was reviewed, by
whom, when, the scope, the outcome and the findings. On top of the handler UCC
generates, this class adds what an auditor asks for:

* Only a Splunk user holding the capability ``onepassword_record_review``
  (authorize.conf: role ``onepassword_reviewer``, also granted to ``admin``) may
  create, edit or delete a record. The handler asks splunkd who the caller is
  (``/services/authentication/current-context`` with the caller's own session)
  and answers 403 otherwise; this holds for direct REST calls too, not only for
  the UI. Anyone who may read the add-on may list the records.
* The server stamps every record: ``recorded_by``/``recorded_at`` when it is
  created, ``updated_by``/``updated_at`` and an increasing ``revision`` on every
  change. Values a client sends for these fields are ignored.
* Every change and every refused attempt is written to
  ``$SPLUNK_HOME/var/log/splunk/ta_1password_events_review_changes.log`` (indexed
  into ``_internal``): one ``event=review_record_saved`` line per change, then one
  ``event=review_record_field`` line per field that changed, each ending with
  ``values=<JSON object>`` (old and new value). One line per field keeps every line
  under Splunk's default 10,000-byte event limit even for 1,500 characters of CJK
  text.
"""

import import_declare_test  # noqa: F401

import json
import logging
import re
import time
import uuid

from splunktaucclib.rest_handler.admin_external import AdminExternalHandler
from splunktaucclib.rest_handler.error import RestError

from onepassword_splunk import caller_identity

CAPABILITY = "onepassword_record_review"
REVIEWER_ROLE = "onepassword_reviewer"
CHANGE_LOG = "ta_1password_events_review_changes"  # file: ta_1password_events_review_changes.log

# Fields the server sets; never taken from the client.
STAMP_FIELDS = ("recorded_by", "recorded_at", "updated_by", "updated_at", "revision")
# Fields a reviewer fills in (globalConfig.json, configuration tab "review"), with their maximum length.
RECORD_FIELDS = {"quarter": 7, "reviewer": 200, "review_date": 10, "scope": 1000, "outcome": 40, "findings": 1500}
OUTCOMES = ("no_exceptions", "exceptions_remediated", "exceptions_open", "not_completed")

_QUARTER = re.compile(r"^\d{4}-Q[1-4]$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ReviewRecordHandler(AdminExternalHandler):
    """The generated UCC handler plus a capability check, server-side stamps and a change log."""

    def handleCreate(self, confInfo):
        user = self._authorize("create")
        name = str(self.callerArgs.id)
        _drop_stamps(self.payload)
        validate_record(self.payload)
        now = utc_now()
        self.payload.update({"recorded_by": user, "recorded_at": now,
                             "updated_by": user, "updated_at": now, "revision": "1"})
        AdminExternalHandler.handleCreate(self, confInfo)
        log_change("create", name, user, old=None, new=record_view(self.payload))

    def handleEdit(self, confInfo):
        user = self._authorize("edit")
        name = str(self.callerArgs.id)
        if "disabled" in self.payload:
            raise RestError(400, "Review records cannot be disabled; edit or delete the record instead.")
        old = self._current(name)
        _drop_stamps(self.payload)
        merged = dict(old, **self.payload)
        validate_record(merged)
        self.payload.update({"updated_by": user, "updated_at": utc_now(), "revision": str(_revision(old) + 1)})
        AdminExternalHandler.handleEdit(self, confInfo)
        log_change("edit", name, user, old=record_view(old), new=record_view(dict(old, **self.payload)))

    def handleRemove(self, confInfo):
        user = self._authorize("delete")
        name = str(self.callerArgs.id)
        old = self._current(name)
        AdminExternalHandler.handleRemove(self, confInfo)
        log_change("delete", name, user, old=record_view(old), new=None)

    def _authorize(self, change):
        """The caller's user name if they hold the capability; else log the attempt and refuse."""
        record = str(self.callerArgs.id)
        try:
            user, capabilities = caller_identity(self.getSessionKey())
        except Exception as exc:  # fail closed: no identity, no change
            log_refusal(change, record, getattr(self, "userName", None) or "unknown",
                        f"could not read the caller's capabilities ({type(exc).__name__})")
            raise RestError(500, "Review not saved: could not check your Splunk capabilities. Try again, or ask "
                                 "a Splunk admin to look for errors in splunkd.log.") from None
        if CAPABILITY not in capabilities:
            log_refusal(change, record, user, f"missing capability {CAPABILITY}")
            raise RestError(403, f"Review not saved: recording access reviews needs the '{CAPABILITY}' capability "
                                 f"(role {REVIEWER_ROLE}). Ask a Splunk admin to grant it.")
        return user

    def _current(self, name):
        """The stored record; 404 if it does not exist."""
        for entity in self.handler.get(name):
            return dict(entity.content)
        raise RestError(404, f'"{name}" does not exist')


def validate_record(record):
    """The UI's checks, again on the server: REST clients skip the UI."""
    if not _QUARTER.match(str(record.get("quarter") or "")):
        raise RestError(400, "Review not saved: enter the quarter as YYYY-Qn, e.g. 2026-Q1.")
    review_date = str(record.get("review_date") or "")
    try:
        if not _DATE.match(review_date):
            raise ValueError
        time.strptime(review_date, "%Y-%m-%d")
    except ValueError:
        raise RestError(400, "Review not saved: enter the review date as a calendar date, YYYY-MM-DD.") from None
    if record.get("outcome") not in OUTCOMES:
        raise RestError(400, "Review not saved: choose an outcome (" + ", ".join(OUTCOMES) + ").")
    for field in ("reviewer", "scope"):
        if not str(record.get(field) or "").strip():
            raise RestError(400, f"Review not saved: '{field}' is required.")
    for field, limit in RECORD_FIELDS.items():
        if len(str(record.get(field) or "")) > limit:
            raise RestError(400, f"Review not saved: '{field}' is longer than {limit} characters.")


def _drop_stamps(payload):
    for field in STAMP_FIELDS:
        payload.pop(field, None)


def _revision(record):
    try:
        return int(record.get("revision") or 0)
    except (TypeError, ValueError):
        return 0


def record_view(record):
    """The fields of a record that belong in the change history (no EAI metadata)."""
    if record is None:
        return None
    return {k: str(record[k]) for k in tuple(RECORD_FIELDS) + STAMP_FIELDS if record.get(k) not in (None, "")}


def utc_now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


_logger = None


def change_logger():
    """The change-history logger: its own file, always at INFO (the Logging tab's level does not apply)."""
    global _logger
    if _logger is None:
        from solnlib import log

        _logger = log.Logs().get_logger(CHANGE_LOG)
        _logger.setLevel(logging.INFO)
    return _logger


def _q(value):
    return json.dumps(value, ensure_ascii=False)


def _values(values):
    # Last on the line, so a search can take everything after "values=" as one JSON object.
    return json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def log_change(change, record, user, old, new):
    """One summary line, then one line per changed field with its old and new value."""
    old, new = old or {}, new or {}
    changed = [k for k in tuple(RECORD_FIELDS) + STAMP_FIELDS if old.get(k) != new.get(k)]
    change_id = uuid.uuid4().hex
    revision = new.get("revision") or old.get("revision") or ""
    logger = change_logger()
    logger.info("event=review_record_saved change=%s change_id=%s record=%s user=%s values=%s",
                change, change_id, _q(record), _q(user), _values({"changed_fields": changed, "revision": revision}))
    for field in changed:
        logger.info("event=review_record_field change=%s change_id=%s record=%s user=%s field=%s values=%s",
                    change, change_id, _q(record), _q(user), field,
                    _values({"old": old.get(field), "new": new.get(field)}))


def log_refusal(change, record, user, reason):
    change_logger().warning("event=review_record_refused change=%s record=%s user=%s values=%s",
                            change, _q(record), _q(user), _values({"reason": reason}))
