"""The only write path of the access-review records (Configuration > Access reviews).

splunkd serves this module as a persistent REST endpoint (default/restmap.conf,
``[script:ta_1password_events_review_records]``)::

    POST   /services/ta_1password_events/review_records           name=..., fields   create
    POST   /services/ta_1password_events/review_records/<name>    fields             edit
    DELETE /services/ta_1password_events/review_records/<name>                       delete

The tab's UCC handler (onepassword_review_handler.py) forwards every change here
with the caller's session. Each record is one stanza of
ta_1password_events_review.conf (the add-on's local/, so it survives restarts and
upgrades). Around every write this endpoint does what an auditor asks for:

* Only a Splunk user holding the capability ``onepassword_record_review``
  (authorize.conf: role ``onepassword_reviewer``, also granted to ``admin``) may
  create, edit or delete a record. splunkd says who the caller is
  (``/services/authentication/current-context``, asked with the caller's own
  session); without an answer nothing changes (fail closed).
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

The write itself uses splunkd's system token (``passSystemAuth``), not the
caller's: default.meta lets only admins write ta_1password_events_review.conf, so
a reviewer cannot skip the stamps and the change log by posting to
``configs/conf-ta_1password_events_review`` directly.
"""

import os
import sys

# splunkd's persistent-handler server loads this file by its path: bin/ is not on
# sys.path until we put it there (import_declare_test then adds lib/).
_BIN = os.path.dirname(os.path.abspath(__file__))
if _BIN not in sys.path:
    sys.path.insert(0, _BIN)

import import_declare_test  # noqa: E402,F401

import json  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
import uuid  # noqa: E402

from splunk.persistconn.application import PersistentServerConnectionApplication  # noqa: E402

from onepassword_events import ADDON_NAME  # noqa: E402
from onepassword_splunk import caller_identity  # noqa: E402

CAPABILITY = "onepassword_record_review"
REVIEWER_ROLE = "onepassword_reviewer"
RECORDS_CONF = "ta_1password_events_review"
CHANGE_LOG = "ta_1password_events_review_changes"  # file: ta_1password_events_review_changes.log

# Fields the server sets; never taken from the client.
STAMP_FIELDS = ("recorded_by", "recorded_at", "updated_by", "updated_at", "revision")
# Fields a reviewer fills in (globalConfig.json, configuration tab "review"), with their maximum length.
RECORD_FIELDS = {"quarter": 7, "reviewer": 200, "review_date": 10, "scope": 1000, "outcome": 40, "findings": 1500}
OUTCOMES = ("no_exceptions", "exceptions_remediated", "exceptions_open", "not_completed")
# The tab's rule for a record name (globalConfig.json), enforced here for direct REST calls too.
NAME_MAX_LENGTH = 100

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_QUARTER = re.compile(r"^\d{4}-Q[1-4]$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Refused(Exception):
    """The answer to a request that changes nothing: HTTP status and the message the user sees."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class ReviewRecordsEndpoint(PersistentServerConnectionApplication):
    """splunkd's persistent REST handler: one JSON request in, one reply out."""

    def __init__(self, command_line=None, command_arg=None):
        PersistentServerConnectionApplication.__init__(self)

    def handle(self, in_string):
        try:
            request = json.loads(in_string)
        except ValueError:
            return reply(400, "Review not saved: the request is not valid JSON.")
        return respond(request)


def respond(request):
    """The reply (status and JSON payload) to one request as splunkd passes it to a persistent handler."""
    method = str(request.get("method") or "").upper()
    target = urllib.parse.unquote(str(request.get("path_info") or "")).strip("/")
    session = request.get("session") or {}
    try:
        form = _form(request.get("form"))
        if method == "POST" and not target:
            change, name = "create", str(form.pop("name", ""))
        elif method == "POST" and "/" not in target:
            change, name = "edit", target
        elif method == "DELETE" and target and "/" not in target:
            change, name = "delete", target
        else:
            raise Refused(405, "Use POST to create or edit a review record and DELETE to remove one.")
        splunkd_uri = (request.get("server") or {}).get("rest_uri")
        user = authorize(change, name, session.get("authtoken"), session.get("user"), splunkd_uri)
        store = RecordStore(request.get("system_authtoken"), splunkd_uri)
        revision = {"create": create, "edit": edit, "delete": delete}[change](store, name, form, user)
    except Refused as refused:
        return reply(refused.status, refused.message)
    return {"status": 201 if change == "create" else 200,
            "payload": {"record": name, "change": change, "revision": revision}}


def reply(status, message):
    """An error reply in splunkd's own shape, so every REST client shows its text."""
    return {"status": status, "payload": {"messages": [{"type": "ERROR", "text": message}]}}


def _form(pairs):
    form = {}
    for pair in pairs or []:
        key, value = pair
        if key in form:
            raise Refused(400, f"Review not saved: '{key}' is given more than once.")
        form[key] = value
    form.pop("output_mode", None)
    return form


def authorize(change, record, caller_token, session_user, splunkd_uri):
    """The caller's user name if they hold the capability; else log the attempt and refuse."""
    try:
        if not caller_token:
            raise ValueError("no session")
        user, capabilities = caller_identity(caller_token, splunkd_uri)
    except Exception as exc:  # fail closed: no identity, no change
        log_refusal(change, record, session_user or "unknown",
                    f"could not read the caller's capabilities ({type(exc).__name__})")
        raise Refused(500, "Review not saved: could not check your Splunk capabilities. Try again, or ask "
                           "a Splunk admin to look for errors in splunkd.log.") from None
    if CAPABILITY not in capabilities:
        log_refusal(change, record, user, f"missing capability {CAPABILITY}")
        raise Refused(403, f"Review not saved: recording access reviews needs the '{CAPABILITY}' capability "
                           f"(role {REVIEWER_ROLE}). Ask a Splunk admin to grant it.")
    return user


def create(store, name, form, user):
    if len(name) > NAME_MAX_LENGTH or not _NAME.match(name) or name.lower() == "default":
        raise Refused(400, f"Review not saved: the name must start with a letter or digit and use only letters, "
                           f"digits, '_', '.' and '-' (at most {NAME_MAX_LENGTH} characters).")
    fields = _record_fields(form)
    validate_record(fields)
    if store.get(name) is not None:
        raise Refused(409, f'Review not saved: a record named "{name}" already exists.')
    now = utc_now()
    fields.update({"recorded_by": user, "recorded_at": now, "updated_by": user, "updated_at": now, "revision": "1"})
    _write("create", name, user, lambda: store.create(name, fields))
    log_change("create", name, user, old=None, new=record_view(fields))
    return "1"


def edit(store, name, form, user):
    if "disabled" in form:
        raise Refused(400, "Review records cannot be disabled; edit or delete the record instead.")
    fields = _record_fields(form)
    old = _existing(store, name)
    validate_record(dict(old, **fields))
    fields.update({"updated_by": user, "updated_at": utc_now(), "revision": str(_revision(old) + 1)})
    _write("edit", name, user, lambda: store.update(name, fields))
    log_change("edit", name, user, old=record_view(old), new=record_view(dict(old, **fields)))
    return fields["revision"]


def delete(store, name, form, user):
    old = _existing(store, name)
    _write("delete", name, user, lambda: store.delete(name))
    log_change("delete", name, user, old=record_view(old), new=None)
    return old.get("revision") or ""


def _existing(store, name):
    old = store.get(name)
    if old is None:
        raise Refused(404, f'"{name}" does not exist')
    return old


def _record_fields(form):
    """The reviewer's fields; stamps are dropped, anything else is refused."""
    unknown = sorted(set(form) - set(RECORD_FIELDS) - set(STAMP_FIELDS))
    if unknown:
        raise Refused(400, "Review not saved: unknown field(s) " + ", ".join(unknown) + ".")
    return {key: str(value) for key, value in form.items() if key in RECORD_FIELDS}


def _write(change, name, user, action):
    try:
        action()
    except Exception as exc:
        status = getattr(exc, "status", None)
        log_refusal(change, name, user, f"splunkd did not save the change (HTTP {status or type(exc).__name__})")
        raise Refused(409 if status == 409 else 500,
                      "Review not saved: Splunk did not store the change. Try again, or ask a Splunk admin to "
                      "look for errors in splunkd.log.") from None


def validate_record(record):
    """The form's checks, again on the server: REST clients skip the form."""
    if not _QUARTER.match(str(record.get("quarter") or "")):
        raise Refused(400, "Review not saved: enter the quarter as YYYY-Qn, e.g. 2026-Q1.")
    review_date = str(record.get("review_date") or "")
    try:
        if not _DATE.match(review_date):
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


class RecordStore:
    """ta_1password_events_review.conf, read and written with splunkd's system token."""

    def __init__(self, system_token, splunkd_uri):
        if not system_token:
            # restmap.conf without passSystemAuth: refuse rather than write with the caller's rights
            raise Refused(500, "Review not saved: the review-records endpoint has no system token "
                               "(passSystemAuth in restmap.conf). Ask a Splunk admin.")
        from solnlib.splunk_rest_client import SplunkRestClient

        uri = urllib.parse.urlparse(splunkd_uri) if splunkd_uri else None
        self._client = SplunkRestClient(system_token, ADDON_NAME, owner="nobody",
                                        scheme=uri.scheme if uri else None, host=uri.hostname if uri else None,
                                        port=uri.port if uri else None)
        self._path = f"configs/conf-{RECORDS_CONF}"

    def _item(self, name):
        return f"{self._path}/{urllib.parse.quote(name, safe='')}"

    def get(self, name):
        """The stored stanza, or None."""
        from splunklib import binding

        try:
            body = self._client.get(self._item(name), output_mode="json").body.read()
        except binding.HTTPError as exc:
            if exc.status == 404:
                return None
            raise
        return dict(json.loads(body)["entry"][0]["content"])

    def create(self, name, fields):
        self._client.post(self._path, body=dict(fields, name=name), output_mode="json")

    def update(self, name, fields):
        self._client.post(self._item(name), body=fields, output_mode="json")

    def delete(self, name):
        self._client.delete(self._item(name), output_mode="json")


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
