"""RFC 3339 timestamps -> Splunk event times, on the hot path.

The API sends `timestamp` with an offset (`Z`, `+05:30`) and a fraction of up
to nine digits. Splunk keeps microseconds, so the event time is built as text
from the integer epoch second and the first six fraction digits: no float
rounding, and the whole-second part is computed once per distinct second.
"""

import calendar
import re
import time

# re.ASCII: \d is 0-9 only (not Arabic-Indic or fullwidth digits, which int() would take)
_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([Zz])|([+-])(\d\d):?(\d\d))\Z", re.ASCII
)
# The last UTC day parsed and its midnight: items come in time order, so a
# one-entry cache spares the regex and timegm for nearly every item, and holds
# no memory however long the backlog.
_last_day = ("", 0)


def parse(ts):
    """Return (epoch_seconds, fraction_digits) for an RFC 3339 string.

    fraction_digits is the text after the decimal point ('' when absent).
    Raises ValueError for anything else.
    """
    if not isinstance(ts, str):
        raise ValueError(f"timestamp is not a string: {ts!r}")
    global _last_day
    # Fast path: "YYYY-MM-DDTHH:MM:SS" + optional ".fff…" + "Z", on a day seen last
    if len(ts) >= 20 and ts[-1] == "Z" and ts[10] == "T" and ts[13] == ":" and ts[16] == ":":
        day, midnight = _last_day
        if ts.startswith(day) and day:
            hms = ts[11:13] + ts[14:16] + ts[17:19]
            rest = ts[19:-1]
            if hms.isdigit() and rest.isascii() and hms.isascii() and (
                    not rest or (rest[0] == "." and rest[1:].isdigit())):
                hour, minute, second = int(hms[:2]), int(hms[2:4]), int(hms[4:])
                if hour < 24 and minute < 60 and second <= 60:
                    return midnight + hour * 3600 + minute * 60 + second, rest[1:]
    m = _RFC3339.match(ts)
    if m is None:
        raise ValueError(f"not an RFC 3339 timestamp: {ts!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    if not (1 <= month <= 12 and hour <= 23 and minute <= 59 and second <= 60):
        raise ValueError(f"timestamp out of range: {ts!r}")
    if not 1 <= day <= calendar.monthrange(year, month)[1]:  # 2026-02-30 is no date, not March 2
        raise ValueError(f"no such date: {ts!r}")
    secs = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    if m.group(8):
        if ts[10] == "T":
            _last_day = (ts[:10], secs - hour * 3600 - minute * 60 - second)
    else:
        offset = int(m.group(10)) * 3600 + int(m.group(11)) * 60
        secs = secs - offset if m.group(9) == "+" else secs + offset
    return secs, m.group(7) or ""


def splunk_time(ts):
    """The <time> text for an item timestamp: '1709565129.418272', or None."""
    try:
        secs, frac = parse(ts)
    except ValueError:
        return None
    if frac:
        return "%d.%s" % (secs, frac[:6])
    return "%d" % secs


def second_of(ts):
    """The whole epoch second of a timestamp (ValueError if unparsable)."""
    return parse(ts)[0]


def format_rfc3339(epoch_seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch_seconds)))


# What an admin may type (the input form's validator accepts the same shapes).
_USER_TIME = re.compile(r"\d{4}-\d\d-\d\d(?:T\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))?\Z", re.ASCII)


def parse_user_time(value):
    """Parse an admin-entered start time: RFC 3339 (YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)),
    or a date YYYY-MM-DD (UTC midnight). Impossible dates are refused."""
    value = (value or "").strip()
    if not _USER_TIME.match(value):
        raise ValueError(
            f"start time '{value}' is not valid; use RFC 3339 like 2026-01-31T00:00:00Z or 2026-01-31T09:00:00+01:00, "
            "or a date like 2026-01-31"
        )
    if len(value) == 10:
        value += "T00:00:00Z"
    try:
        return second_of(value)
    except ValueError:
        raise ValueError(f"start time '{value}' is not a real date or time (check the day of the month)") from None
