"""Where review records live: two conf files of the add-on, written with splunkd's system token.

ta_1password_events_review_revisions.conf  the evidence: one stanza per revision, named
    <record>:<revision, 6 digits>. A revision is only ever created, never updated or
    deleted; creating one that exists fails in splunkd (HTTP 409), which is what makes
    two edits of the same revision impossible: one of them gets the number, the other
    is refused.
ta_1password_events_review.conf  the record as the Configuration tab lists it: the
    values of its latest revision, who created it and who changed it last, and a short
    history. Rebuilt from the revisions after every change; not evidence itself.

default.meta lets only admins write either file, so a reviewer cannot skip the
endpoint's checks through configs/conf-*.
"""

import json
import urllib.parse

RECORDS_CONF = "ta_1password_events_review"
REVISIONS_CONF = "ta_1password_events_review_revisions"


class RevisionTaken(Exception):
    """The revision number exists already: someone else's change got it first."""


def revision_stanza(record, number):
    return f"{record}:{int(number):06d}"


class ConfRecordStore:
    def __init__(self, system_token, splunkd_uri, app):
        from solnlib.splunk_rest_client import SplunkRestClient

        uri = urllib.parse.urlparse(splunkd_uri) if splunkd_uri else None
        self._client = SplunkRestClient(system_token, app, owner="nobody",
                                        scheme=uri.scheme if uri else None, host=uri.hostname if uri else None,
                                        port=uri.port if uri else None)

    # -- revisions: created, read, never changed ------------------------------------------------
    def revision(self, record, number):
        return self._get(REVISIONS_CONF, revision_stanza(record, number))

    def add_revision(self, revision):
        from splunklib import binding

        try:
            self._client.post(f"configs/conf-{REVISIONS_CONF}", output_mode="json",
                              body=dict(revision, name=revision_stanza(revision["record"], revision["revision"])))
        except binding.HTTPError as exc:
            if exc.status == 409:
                raise RevisionTaken() from None
            raise

    def latest_number(self, record, known=0):
        """The number of the record's newest revision (0: none), looking past `known`."""
        number = max(int(known or 0), 0)
        if number and self.revision(record, number) is None:
            number = 0  # the list is out of step with the revisions: count from the start
        while self.revision(record, number + 1) is not None:
            number += 1
        return number

    def revisions(self, record, latest, first_and_last=None):
        """Revisions 1..latest, oldest first; with first_and_last=N only the first and the last N."""
        numbers = range(1, latest + 1)
        if first_and_last and latest > first_and_last + 1:
            numbers = [1] + list(range(latest - first_and_last + 1, latest + 1))
        found = [self.revision(record, n) for n in numbers]
        return [r for r in found if r is not None]

    # -- the record as the tab lists it ----------------------------------------------------------
    def listed(self, record):
        return self._get(RECORDS_CONF, record)

    def put_listed(self, record, view):
        if self.listed(record) is None:
            self._client.post(f"configs/conf-{RECORDS_CONF}", body=dict(view, name=record), output_mode="json")
        else:
            self._client.post(self._item(RECORDS_CONF, record), body=view, output_mode="json")

    def _item(self, conf, name):
        # splunklib percent-encodes the path itself (names hold no '/': model.check_name)
        return f"configs/conf-{conf}/{name}"

    def _get(self, conf, name):
        from splunklib import binding

        try:
            body = self._client.get(self._item(conf, name), output_mode="json").body.read()
        except binding.HTTPError as exc:
            if exc.status == 404:
                return None
            raise
        return dict(json.loads(body)["entry"][0]["content"])
