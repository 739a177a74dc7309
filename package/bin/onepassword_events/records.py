"""The add-on's own log records: one JSON object per line, every field bounded.

A record says what the add-on did (a run's summary, a stream's, an error, a change
to a review record). Text from outside (a server's error message, a name a caller
typed) is only ever one escaped JSON string value inside it, so no such text can
start a line or add a field: a dashboard that reads the object's fields reads ours.

Every field is capped on its own (its value ends with a marker saying how long it
was), the fields that say who acted and what they did come first, and the whole
line stays under Splunk's default 10,000-byte event limit (TRUNCATE) with room for
the logger's prefix, so Splunk never cuts a record and never cuts its head away.
"""

import json

from .errors import SPLUNK_LABELS

# Splunk's TRUNCATE is 10,000 bytes; solnlib's prefix (time, level, pid, thread,
# file:function:line) takes about 150 of them.
MAX_RECORD_BYTES = 9000
DEFAULT_FIELD_BYTES = 1024
MIN_FIELD_BYTES = 64
TRUNCATION_MARKER = "…[cut: {} characters in all]"


def format_record(fields, caps=None, default_cap=DEFAULT_FIELD_BYTES, max_bytes=MAX_RECORD_BYTES):
    """The one-line JSON text of `fields` (a dict, in the order the fields appear).

    caps: the most bytes a field's JSON value may take, by field name (default_cap
    for the others). When the capped fields still add up to more than max_bytes, the
    longest text value is cut further, never the first two fields (who and what).
    """
    limits = {key: (caps or {}).get(key, default_cap) for key in fields}
    protected = set(list(fields)[:2])
    while True:
        record = {key: _bounded(value, limits[key]) for key, value in fields.items()}
        line = _dumps(record)
        excess = len(line.encode("utf-8")) - max_bytes
        if excess <= 0:
            return line
        sizes = [(len(_dumps(value).encode("utf-8")), key) for key, value in record.items()
                 if key not in protected and isinstance(value, (str, list, dict)) and limits[key] > MIN_FIELD_BYTES]
        if not sizes:
            raise ValueError("a record's fixed fields alone are longer than %d bytes" % max_bytes)
        size, key = max(sizes)
        limits[key] = max(MIN_FIELD_BYTES, min(limits[key], size) - excess)


def capped(text, max_bytes):
    """`text`, or its beginning and the truncation marker, so that its JSON string
    (quotes and escapes included, UTF-8) takes at most max_bytes."""
    text = _clean(text)
    if _json_bytes(text) <= max_bytes:
        return text
    marker = TRUNCATION_MARKER.format(len(text))
    low, high = 0, len(text)
    while low < high:  # the longest beginning that fits with the marker
        middle = (low + high + 1) // 2
        if _json_bytes(text[:middle] + marker) <= max_bytes:
            low = middle
        else:
            high = middle - 1
    return text[:low] + marker


def _bounded(value, cap):
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return capped(value, cap)
    if isinstance(value, (list, tuple)):
        items = [_bounded(item, cap) for item in value]
        if len(_dumps(items).encode("utf-8")) <= cap:
            return items
    elif isinstance(value, dict):
        items = {str(k): _bounded(v, cap) for k, v in value.items()}
        if len(_dumps(items).encode("utf-8")) <= cap:
            return items
    else:
        return capped(str(value), cap)
    return capped(_dumps(items), cap)  # a structure too large becomes its capped JSON text


def _clean(text):
    """Text that encodes as UTF-8 whatever it holds (a lone surrogate becomes its escape)."""
    text = str(text)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _json_bytes(text):
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8"))


def _dumps(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# -- the collector's records ----------------------------------------------------------------------
# Bytes of JSON per field: the words of an error (ours and, sanitised, a server's) get room.
COLLECTOR_CAPS = {"event": 64, "message": 2048, "traceback": 4096}
def log_record(logger, level, event, **fields):
    """Write one record: {"event": ..., then the fields in the order given}."""
    logger.log(level, "%s", format_record(dict(event=event, **fields), COLLECTOR_CAPS))


def error_fields(exc):
    """What a record says about an error: its category, label, type and message, each one value."""
    category = getattr(exc, "category", None) or "internal"
    label = getattr(exc, "label", None) or SPLUNK_LABELS.get(category, category)
    return {"category": category, "label": label, "error_type": type(exc).__name__, "message": str(exc)}


def stream_summary_fields(run):
    return {"stream": run.stream.name, "status": run.status, "events": run.events, "pages": run.pages,
            "duplicates_skipped": getattr(run, "duplicates_skipped", 0), "newest_event_time": run.newest_second,
            "lag_s": getattr(run, "lag_seconds", None)}


def status_counts_text(status_counts):
    """HTTP status counts as "200:5,429:1" (status codes and counts only: nothing a server wrote)."""
    return ",".join(f"{int(status)}:{int(count)}" for status, count in sorted(status_counts.items()))
