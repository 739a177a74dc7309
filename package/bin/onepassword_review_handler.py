"""REST handler of the "Access reviews" configuration tab: quarterly access-review records.

Listing works as in every UCC tab: each row is a record's latest revision, with who
created it, who changed it last, its status (active or withdrawn) and its history.
Creating, editing and deleting do not write the conf files here: this handler runs
with the caller's session only (that is all splunkd gives an EAI handler), and
default.meta lets only admins write them. Each change is forwarded, with the
caller's session, to the add-on's review-records endpoint
(``/services/ta_1password_events/review_records``, bin/onepassword_review_endpoint.py),
which adds a revision (an edit names the revision the form was opened at; "delete"
withdraws the record) and refuses what the caller may not do. Its answer becomes this
handler's answer: the record as stored, or the endpoint's status and message.
"""

import import_declare_test  # noqa: F401

import json
import urllib.parse

from splunktaucclib.rest_handler.admin_external import AdminExternalHandler, build_conf_info
from splunktaucclib.rest_handler.error import RestError

from onepassword_splunk import SplunkEdge

RECORDS_ENDPOINT = "/services/ta_1password_events/review_records"  # restmap.conf [script:...] match


class ReviewRecordHandler(AdminExternalHandler):
    """The generated UCC handler, with every change sent through the review-records endpoint."""

    @build_conf_info
    def handleCreate(self, confInfo):
        name = str(self.callerArgs.id)
        forward(SplunkEdge(self.getSessionKey()), "POST", None, dict(self.payload, name=name))
        return self.handler.get(name)

    @build_conf_info
    def handleEdit(self, confInfo):
        name = str(self.callerArgs.id)
        forward(SplunkEdge(self.getSessionKey()), "POST", name, self.payload)
        return self.handler.get(name)

    @build_conf_info
    def handleRemove(self, confInfo):
        forward(SplunkEdge(self.getSessionKey()), "DELETE", str(self.callerArgs.id), None)
        return self.handler.all(count=0)  # what splunkd answers a DELETE with: the remaining records


def forward(edge, method, name, fields):
    """Send one change to the review-records endpoint as the caller; its refusal becomes a RestError."""
    from splunklib import binding

    client = edge.rest_client()
    path = RECORDS_ENDPOINT + ("/" + urllib.parse.quote(name, safe="") if name else "")
    try:
        if method == "DELETE":
            client.delete(path, output_mode="json")
        else:
            client.post(path, body=fields, output_mode="json")
    except binding.HTTPError as exc:
        raise RestError(exc.status, _message(exc)) from None


def _message(error):
    """The message splunkd answered with (the endpoint's own, or splunkd's), else the status alone."""
    try:
        text = json.loads(error.body)["messages"][0]["text"]
    except (ValueError, KeyError, IndexError, TypeError):
        text = None
    if isinstance(text, str) and text:
        return text
    return f"Review not saved: the review-records endpoint answered HTTP {error.status}. Ask a Splunk admin to " \
           f"look for errors in splunkd.log."
