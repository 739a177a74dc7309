"""The three event streams of the Events API and how each lands in Splunk."""

from typing import NamedTuple


class Stream(NamedTuple):
    name: str  # the API feature name, also used in checkpoint keys and settings
    path: str
    sourcetype: str


# Sourcetypes match 1Password's own app so existing searches keep working.
STREAMS = {
    "signinattempts": Stream(
        "signinattempts", "/api/v2/signinattempts", "1password:insights:signin_attempts"
    ),
    "itemusages": Stream(
        "itemusages", "/api/v2/itemusages", "1password:insights:item_usages"
    ),
    "auditevents": Stream(
        "auditevents", "/api/v2/auditevents", "1password:insights:audit_events"
    ),
}
STREAM_NAMES = tuple(STREAMS)


def parse_stream_names(value):
    """Turn '' / 'a,b' / 'a|b' / an iterable into a tuple of known stream names.

    Raises ValueError naming the unknown values and the accepted ones.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        parts = [p.strip() for p in value.replace("|", ",").split(",")]
    else:
        parts = [str(p).strip() for p in value]
    names = [p for p in parts if p]
    unknown = [n for n in names if n not in STREAMS]
    if unknown:
        raise ValueError(
            "unknown event type(s) %s; use any of %s" % (", ".join(unknown), ", ".join(STREAM_NAMES))
        )
    # keep the canonical order and drop repeats
    return tuple(n for n in STREAM_NAMES if n in names)
