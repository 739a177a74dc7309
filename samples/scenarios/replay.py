"""Replay the detection scenarios of samples/scenarios/ with absolute timestamps.

A scenario (one JSON Lines file per variant, listed in manifest.json) holds Events API
items (and, for the collector-health rules, input log lines) whose times are written
relative to "now", in Splunk's relative-time syntax: "-15m", "-2h@h+10m", "-14d-12h".
This module turns a variant into what the dockerized suite and the simulator need:

    import replay                                   # samples/scenarios on sys.path
    run = replay.materialize("brute_force_ip", "attack", now=time.time())
    run.api_items()       # {"signinattempts": [item, ...], "itemusages": [...], "auditevents": [...]}
    run.hec_events("onepassword_scn")   # HEC /services/collector/event payloads
    run.log_files()       # {"ta_1password_events_<input>.log": "text"} (collector-health rules)
    run.lookups           # rows to add to customer lookups before running the rule
    run.macros            # macro definitions to set before running the rule
    run.dispatch          # saved search name, dispatch.now, expected fire/silent, entity

Materialize a variant for the clock at which its replay starts: every event then lies
before its indexing (_time < _indextime, as in production). How the dockerized suite then
folds the baselines, dispatches the rule at its first scheduled run after the indexing and
judges results and alerts: README.md next to this file.

CLI: python replay.py list
     python replay.py show <rule_id> <variant> [--now EPOCH] [--format api|hec|jsonl|log]

Only the standard library is used, so the module runs inside Splunk's Python, the
simulator and the test suites alike.
"""

import base64
import calendar
import copy
import hashlib
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = os.path.join(HERE, "manifest.json")

# record "type" -> (API stream / feature name, sourcetype)
TYPES = {
    "signin": ("signinattempts", "1password:insights:signin_attempts"),
    "item": ("itemusages", "1password:insights:item_usages"),
    "audit": ("auditevents", "1password:insights:audit_events"),
    "log": (None, None),
}
LOG_SOURCE_DIR = "/opt/splunk/var/log/splunk"

# ------------------------------------------------------------------ relative time
_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 7 * 86400, "week": 7 * 86400, "weeks": 7 * 86400,
}
_CALENDAR_UNITS = {"mon": 1, "month": 1, "months": 1, "q": 3, "qtr": 3, "quarter": 3, "quarters": 3,
                   "y": 12, "yr": 12, "year": 12, "years": 12}
_TOKEN = re.compile(r"([+-])(\d*)([a-z]+)|@([a-z]+)(\d?)")


def _add_months(epoch, months):
    tm = time.gmtime(epoch)
    total = tm.tm_year * 12 + (tm.tm_mon - 1) + months
    year, month = divmod(total, 12)
    day = min(tm.tm_mday, calendar.monthrange(year, month + 1)[1])
    return calendar.timegm((year, month + 1, day, tm.tm_hour, tm.tm_min, tm.tm_sec)) + (epoch % 1)


def _snap(epoch, unit, digit):
    epoch = int(epoch // 1)
    if unit in _UNITS and unit[0] != "w":
        size = _UNITS[unit]
        return epoch - epoch % size
    tm = time.gmtime(epoch)
    midnight = calendar.timegm((tm.tm_year, tm.tm_mon, tm.tm_mday, 0, 0, 0))
    if unit in ("w", "week", "weeks"):
        weekday = (tm.tm_wday + 1) % 7          # Splunk: w0 = Sunday
        target = int(digit) if digit else 0
        return midnight - ((weekday - target) % 7) * 86400
    if unit in _CALENDAR_UNITS:
        step = _CALENDAR_UNITS[unit]
        month0 = (tm.tm_mon - 1) - (tm.tm_mon - 1) % step
        return calendar.timegm((tm.tm_year, month0 + 1, 1, 0, 0, 0))
    raise ValueError("unknown snap unit @%s" % unit)


def relative_time(now, spec):
    """Splunk-style relative time (UTC): "now", "0", "-15m", "-1h@h", "-2h@h+10m",
    "-30d@d", "-12mon@mon", "-1q@q", "@q". Returns epoch seconds (float)."""
    spec = str(spec).strip()
    if spec in ("now", ""):
        return float(now)
    if re.fullmatch(r"\d+(\.\d+)?", spec):
        return float(spec)
    position, value = 0, float(now)
    while position < len(spec):
        match = _TOKEN.match(spec, position)
        if not match:
            raise ValueError("cannot read relative time %r at %r" % (spec, spec[position:]))
        sign, amount, unit, snap_unit, digit = match.groups()
        if snap_unit:
            value = float(_snap(value, snap_unit, digit))
        else:
            count = int(amount or "1") * (-1 if sign == "-" else 1)
            if unit in _UNITS:
                value += count * _UNITS[unit]
            elif unit in _CALENDAR_UNITS:
                value = _add_months(value, count * _CALENDAR_UNITS[unit])
            else:
                raise ValueError("unknown time unit %r in %r" % (unit, spec))
        position = match.end()
    return value


# The oldest history a variant may carry (the suite folds baselines over all of it).
BASELINE_SEED_EARLIEST = "-30d"


def duration_seconds(spec):
    """"30s", "5m", "1h", "2d" -> seconds."""
    match = re.fullmatch(r"(\d+)\s*([a-z]+)", str(spec).strip())
    if not match or match.group(2) not in _UNITS:
        raise ValueError("not a duration: %r" % spec)
    return int(match.group(1)) * _UNITS[match.group(2)]


def format_rfc3339(epoch):
    """2026-03-04T15:12:09.418Z (milliseconds, UTC), as the Events API writes times."""
    whole = int(epoch // 1)
    millis = int(round((epoch - whole) * 1000))
    if millis == 1000:
        whole, millis = whole + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + ".%03dZ" % millis


# ------------------------------------------------------------------ scenarios
def load_manifest(path=MANIFEST):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def read_records(path):
    """The records of one JSON Lines scenario file (blank lines and // comments skipped)."""
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line or line.startswith("//"):
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise ValueError("%s line %d: %s" % (path, number, exc)) from None
            record["_line"] = number
            records.append(record)
    return records


def _uuid(*parts):
    digest = hashlib.sha1("|".join(str(p) for p in parts).encode("utf-8")).digest()
    return base64.b32encode(digest).decode("ascii")[:26]


_PLACEHOLDER = re.compile(r"\{(i)(\d*)\}|\{ts:([^}]+)\}")


def _fill(value, index, now):
    """{i} -> repetition index, {i4} -> zero-padded to 4 digits, {ts:-2h} -> RFC 3339 time."""
    if isinstance(value, dict):
        return {key: _fill(item, index, now) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, index, now) for item in value]
    if isinstance(value, str) and "{" in value:
        def replace(match):
            if match.group(1):
                width = int(match.group(2) or "0")
                return str(index).zfill(width)
            return format_rfc3339(relative_time(now, match.group(3)))
        return _PLACEHOLDER.sub(replace, value)
    return value


class Replay:
    """One scenario variant materialized for one "now"."""

    def __init__(self, rule_id, variant, spec, now, events):
        self.rule_id = rule_id
        self.variant = variant
        self.spec = spec
        self.now = float(now)
        self.events = events            # dicts: time, type, stream, sourcetype, source, item | log fields
        self.lookups = copy.deepcopy(spec.get("lookups", {}))
        self.macros = dict(spec.get("macros", {}))
        self.dispatch = {
            "saved_search": spec["_savedsearch"], "dispatch.now": int(self.now // 1),
            "expect": spec["expect"], "entity": spec.get("entity", {}),
        }

    def api_items(self):
        """{stream: [API item, ...]} in time order, streams as the Events API names them."""
        out = {"signinattempts": [], "itemusages": [], "auditevents": []}
        for event in self.events:
            if event["stream"]:
                out[event["stream"]].append(event["item"])
        return out

    def hec_events(self, index, host="onepassword-scenarios"):
        """Payloads for Splunk's HTTP Event Collector (/services/collector/event): the
        item's JSON text as the event, its time, the add-on's sourcetype and source."""
        payloads = []
        for event in self.events:
            if event["stream"]:
                payloads.append({
                    "time": "%.3f" % event["time"], "host": host, "index": index,
                    "source": event["source"], "sourcetype": event["sourcetype"],
                    "event": json.dumps(event["item"], separators=(",", ":"), ensure_ascii=False),
                })
        return payloads

    def log_files(self):
        """{file name: text} of the input log lines (solnlib's format, UTC times), to be
        appended to $SPLUNK_HOME/var/log/splunk/<file name> (indexed in _internal)."""
        files = {}
        for event in self.events:
            if event["type"] == "log":
                name = "ta_1password_events_%s.log" % event["input"]
                files[name] = files.get(name, "") + event["line"] + "\n"
        return files

    def jsonl(self):
        return "\n".join(json.dumps(e, separators=(",", ":")) for e in self.events) + "\n"


def _variant_spec(manifest, rule_id, variant):
    rule = manifest["rules"][rule_id]
    for spec in rule["variants"]:
        if spec["name"] == variant:
            spec = dict(spec)
            spec["_savedsearch"] = rule["savedsearch"]
            return spec
    raise KeyError("no variant %r for rule %r" % (variant, rule_id))


def materialize(rule_id, variant, now=None, run_id="", manifest=None, base_dir=HERE):
    """Build the events of one scenario variant with absolute times (see module doc).
    run_id changes the generated UUIDs (replaying twice into one index stays unique)."""
    manifest = manifest or load_manifest(os.path.join(base_dir, "manifest.json"))
    spec = _variant_spec(manifest, rule_id, variant)
    now = time.time() if now is None else float(now)
    account = spec.get("account", "scn_%s_%s" % (rule_id, variant))
    source = "1password:" + account
    events = []
    for record in read_records(os.path.join(base_dir, spec["file"])):
        kind = record["type"]
        stream, sourcetype = TYPES[kind]
        repeat = record.get("repeat", {"count": 1, "every": "0s"})
        start = relative_time(now, record["offset"])
        step = duration_seconds(repeat.get("every", "0s"))
        for index in range(int(repeat["count"])):
            at = start + index * step
            event = {"time": at, "type": kind, "stream": stream, "sourcetype": sourcetype, "source": source}
            if kind == "log":
                event["input"] = _fill(record["input"], index, now)
                event["level"] = record.get("level", "INFO")
                event["message"] = _fill(record["message"], index, now)
                event["source"] = "%s/ta_1password_events_%s.log" % (LOG_SOURCE_DIR, event["input"])
                event["line"] = _log_line(at, event["level"], event["message"])
            else:
                body = _fill(record["item"], index, now)
                item = {"uuid": body.pop("uuid", None) or _uuid(rule_id, variant, record["_line"], index, run_id),
                        "timestamp": format_rfc3339(at)}
                if kind == "signin" and "session_uuid" not in body:
                    item["session_uuid"] = _uuid("session", rule_id, variant, record["_line"], index, run_id)
                item.update(body)
                event["item"] = item
            events.append(event)
    events.sort(key=lambda e: e["time"])
    return Replay(rule_id, variant, spec, now, events)


def _log_line(epoch, level, message):
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(epoch // 1))) + ",%03d" % int((epoch % 1) * 1000)
    where = "onepassword_events_helper.py:_log_summary:124" if level == "INFO" else "onepassword_events_helper.py:_log_api_error:113"
    return "%s log_level=%s pid=4242 tid=MainThread file=%s | %s" % (stamp, level, where, message)


def variants(manifest=None):
    """[(rule_id, variant name, expect)] of every scenario."""
    manifest = manifest or load_manifest()
    return [(rule_id, spec["name"], spec["expect"])
            for rule_id, rule in manifest["rules"].items() for spec in rule["variants"]]


def load_into_simulator(simulator, run):
    """Append a materialized variant's items to tests/simulator's EventsApiSimulator."""
    for stream, items in run.api_items().items():
        for item in items:
            simulator.append_raw(stream, item)


def _main(argv):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list")
    show = sub.add_parser("show")
    show.add_argument("rule_id")
    show.add_argument("variant")
    show.add_argument("--now", type=float, default=None)
    show.add_argument("--format", choices=("api", "hec", "jsonl", "log"), default="api")
    show.add_argument("--index", default="main")
    args = parser.parse_args(argv)
    if args.command == "list":
        for rule_id, name, expect in variants():
            print("%-40s %-28s %s" % (rule_id, name, expect))
        return 0
    run = materialize(args.rule_id, args.variant, now=args.now)
    if args.format == "api":
        print(json.dumps({"dispatch": run.dispatch, "lookups": run.lookups, "macros": run.macros,
                          "items": run.api_items()}, indent=1))
    elif args.format == "hec":
        for payload in run.hec_events(args.index):
            print(json.dumps(payload))
    elif args.format == "log":
        for name, text in run.log_files().items():
            sys.stdout.write("== %s\n%s" % (name, text))
    else:
        sys.stdout.write(run.jsonl())
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
