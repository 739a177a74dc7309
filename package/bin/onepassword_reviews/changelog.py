"""The change log of the review records: one bounded JSON object per line.

$SPLUNK_HOME/var/log/splunk/ta_1password_events_review_changes.log (indexed into
_internal). Each line is solnlib's prefix, then one JSON object whose first fields
are the Splunk user and the action: every field is capped on its own and the line
stays under Splunk's 10,000-byte event limit whatever a caller sends
(onepassword_events/records.py), so no record name or value can push the user out
of the indexed event or add a field of its own.

    {"user":..,"action":"create|edit|withdraw","event":"review_record_saved","record":..,"revision":..,
     "base_revision":..,"status":..,"changed_fields":[..]}
    {"user":..,"action":..,"event":"review_record_field","record":..,"revision":..,"field":..,"old":..,"new":..}
    {"user":..,"action":..,"event":"review_record_refused","record":..,"http_status":..,"reason":..}

The full values are in the revisions (store.py); a value cut here ends with the
truncation marker.
"""

import logging

from onepassword_events.records import format_record

from .model import RECORD_FIELDS

CHANGE_LOG = "ta_1password_events_review_changes"  # file: ta_1password_events_review_changes.log
# Bytes of JSON per field: who and which record first, then the old and new value of one field.
CAPS = {"user": 256, "action": 16, "record": 256, "reason": 600, "old": 3600, "new": 3600}

_logger = None


def change_logger():
    """Its own file, always at INFO (the Logging tab's level does not apply to evidence)."""
    global _logger
    if _logger is None:
        from solnlib import log

        _logger = log.Logs().get_logger(CHANGE_LOG)
        _logger.setLevel(logging.INFO)
    return _logger


def log_saved(action, record, user, old, new, base_revision):
    """One line for the change, then one per field whose value changed, with old and new value."""
    old, new = old or {}, new or {}
    changed = [field for field in RECORD_FIELDS if old.get(field, "") != new.get(field, "")]
    logger = change_logger()
    logger.info(format_record({
        "user": user, "action": action, "event": "review_record_saved", "record": record,
        "revision": new.get("revision"), "base_revision": base_revision, "status": new.get("status"),
        "changed_fields": changed}, CAPS))
    for field in changed:
        line = {"user": user, "action": action, "event": "review_record_field", "record": record,
                "revision": new.get("revision"), "field": field, "old": old.get(field), "new": new.get(field)}
        # a value that did not exist (before a creation) is left out, not written as null
        logger.info(format_record({k: v for k, v in line.items() if v is not None or k not in ("old", "new")}, CAPS))


def log_refused(action, record, user, http_status, reason):
    change_logger().warning(format_record({
        "user": user, "action": action, "event": "review_record_refused", "record": record,
        "http_status": http_status, "reason": reason}, CAPS))
