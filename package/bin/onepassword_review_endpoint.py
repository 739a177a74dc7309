"""The only write path of the access-review records (Configuration > Access reviews).

splunkd serves this module as a persistent REST endpoint (default/restmap.conf,
``[script:ta_1password_events_review_records]``)::

    POST   /services/ta_1password_events/review_records           name=..., fields      create
    POST   /services/ta_1password_events/review_records/<name>    revision=N, fields    edit revision N
    DELETE /services/ta_1password_events/review_records/<name>    [revision=N]          withdraw
    GET    /services/ta_1password_events/review_records/<name>                          every revision

Each change adds one revision to the record (onepassword_reviews: the model, who may
do what, the store, the change log); nothing is overwritten or deleted. Who made the
change is the user splunkd says the session belongs to
(``/services/authentication/current-context``, asked with the caller's own session);
without an answer nothing changes. The revisions are written with splunkd's system
token (``passSystemAuth``): default.meta lets only admins write the record files, so
a reviewer cannot skip these checks through ``configs/conf-*``. The tab's UCC
handler (onepassword_review_handler.py) forwards every change here with the
caller's session.
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
import traceback  # noqa: E402
import urllib.parse  # noqa: E402

from splunk.persistconn.application import PersistentServerConnectionApplication  # noqa: E402

from onepassword_events import ADDON_NAME  # noqa: E402
from onepassword_reviews import changelog, service  # noqa: E402
from onepassword_reviews.model import Refused  # noqa: E402
from onepassword_splunk import SplunkEdge  # noqa: E402

CHANGES = {("POST", False): "create", ("POST", True): "edit", ("DELETE", True): "withdraw",
           ("GET", True): "history"}


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
    action, name, user = CHANGES.get((method, bool(target))), target, session.get("user") or "unknown"
    try:
        if action is None or "/" in target:
            raise Refused(405, "Use POST to create or edit a review record, DELETE to withdraw one and GET to "
                               "read its revisions.")
        form = _form(request.get("form")) if method == "POST" else _form(request.get("query"))
        if action == "create":
            name = str(form.pop("name", ""))
        splunkd_uri = (request.get("server") or {}).get("rest_uri")
        user, capabilities = identify(session.get("authtoken"), splunkd_uri)
        store = _store(request.get("system_authtoken"), splunkd_uri)
        if action == "history":
            return {"status": 200, "payload": {"record": name, "revisions": service.history(store, name)}}
        view = _saved(getattr(service, action), store, name, form, user, capabilities)
    except Refused as refused:
        if action not in (None, "history"):
            changelog.log_refused(action, name, user, refused.status, refused.message)
        return reply(refused.status, refused.message)
    return {"status": 201 if action == "create" else 200,
            "payload": {"record": name, "change": action, "revision": view["revision"], "entry": view}}


def reply(status, message):
    """An error reply in splunkd's own shape, so every REST client shows its text."""
    return {"status": status, "payload": {"messages": [{"type": "ERROR", "text": message}]}}


def _form(pairs):
    form = {}
    for key, value in pairs or []:
        if key in form:
            raise Refused(400, f"Review not saved: '{key}' is given more than once.")
        form[key] = value
    form.pop("output_mode", None)
    return form


def identify(caller_token, splunkd_uri):
    """(user, capabilities) of the session, as splunkd says; without an answer nothing changes."""
    try:
        if not caller_token:
            raise ValueError("no session")
        with SplunkEdge(caller_token, splunkd_uri) as edge:
            return edge.caller_identity()
    except Exception as exc:  # fail closed: no identity, no change
        raise Refused(500, "Review not saved: could not check your Splunk capabilities "
                           f"({type(exc).__name__}). Try again, or ask a Splunk admin to look for errors in "
                           "splunkd.log.") from None


def _store(system_token, splunkd_uri):
    if not system_token:
        # restmap.conf without passSystemAuth: refuse rather than write with the caller's rights
        raise Refused(500, "Review not saved: the review-records endpoint has no system token "
                           "(passSystemAuth in restmap.conf). Ask a Splunk admin.")
    from onepassword_reviews.store import ConfRecordStore

    return ConfRecordStore(system_token, splunkd_uri, ADDON_NAME)


def _saved(change, store, name, form, user, capabilities):
    try:
        return change(store, name, form, user, capabilities)
    except Refused:
        raise
    except Exception as exc:  # splunkd refused or failed a read or a write
        traceback.print_exc()  # splunkd writes a persistent handler's stderr to splunkd.log
        status = getattr(exc, "status", None)
        raise Refused(500, "Review not saved: Splunk did not store the change "
                           f"(HTTP {status or type(exc).__name__}). Try again, or ask a Splunk admin to look for "
                           "errors in splunkd.log.") from None
