"""Stub search results for drawing the dashboards without Splunk: rows shaped like each search's output.

The columns of every data source come from its SPL (the last `table`, `fields`, `stats ... by`,
`timechart ... by`, `geostats`, `tstats`, `rename`, `eval x=`, `rex (?<x>)`, `lookup ... OUTPUT`,
and `| savedsearch "<rule>"` followed into savedsearches.conf), so a changed query changes its stub
without anyone editing a second copy. The values are test data that look like one week of a
300-person company's 1Password account (names, countries, apps, the add-on's own lookup texts);
they are not expectations: the render test asserts structure only.

    render_definition(definition, name)  -> the definition with every ds.search / ds.chain
                                            replaced by a ds.test carrying such rows
"""

import csv
import datetime as dt
import hashlib
import os
import random
import re

import dashboard_queries as dq

LOOKUPS = os.path.join(dq.PACKAGE, "lookups")
# "Now" of the stub week (a Friday morning, UTC).
NOW = dt.datetime(2026, 11, 27, 9, 40, tzinfo=dt.timezone.utc)

# ---------------------------------------------------------------------------------------------
# SPL -> columns


class Column:
    """One output field: its name, the field its values come from, and what kind of value it holds.

    kind: text | number | epoch (a _time-like number) | timestr (strftime) | duration | mv (multivalue)
    copy_of: the field an eval copied it from (failures=peak_failures), while that field keeps its value
    """

    def __init__(self, name, kind="text", origin=None, choices=None, copy_of=None):
        self.name, self.kind, self.origin, self.choices, self.copy_of = name, kind, origin or name, choices, copy_of

    def renamed(self, name):
        return Column(name, self.kind, self.origin, self.choices)

    def as_kind(self, kind):
        return Column(self.name, kind, self.origin, self.choices, self.copy_of)

    def __repr__(self):
        return f"Column({self.name!r}, {self.kind!r}, {self.origin!r})"


class Shape:
    """What the search returns: columns (None = raw events), and how its rows are made."""

    def __init__(self):
        self.columns = None
        self.mode = "events"   # events | rows | timechart | geostats
        self.series = None     # (split-by Column or None, aggregation name) of a timechart / geostats
        self.span = None
        self.limit = None      # head N
        self.sort = []         # [(field, descending)]
        self.dataset = None    # signin | audit | item | collector | ...
        self.by = []           # group-by columns of the last stats
        self.filters = {}      # field -> values the base search keeps (field=value, field IN (...))
        self.single = False    # one row of totals (stats without by)
        self.rule = False      # a detection's results: a real week has few


def split_top(text, separator):
    """Split on a separator outside quotes, (), [] and backticks."""
    parts, depth, quote, tick, current, escaped = [], 0, None, False, [], False
    for char in text:
        if quote:
            current.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
            continue
        if char == '"':
            quote = char
        elif char == "`":
            tick = not tick
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == separator and depth == 0 and not tick:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def pipeline(spl):
    return [segment.strip() for segment in split_top(spl, "|") if segment.strip()]


def _unquote(name):
    name = name.strip().strip(",")
    return name[1:-1] if len(name) >= 2 and name[0] == name[-1] == '"' else name


def _words(text):
    """Field-name words of an argument list, quoted names kept whole."""
    return [_unquote(word) for word in re.findall(r'"[^"]*"|[^\s,]+', text)]


NUMERIC_AGGS = {"count", "dc", "distinct_count", "sum", "avg", "mean", "min", "max", "median", "stdev",
                "range", "perc", "p", "var", "rate", "per_second", "per_minute", "per_hour"}
OPTIONS = {"span", "limit", "useother", "usenull", "bins", "current", "window", "time_window", "allnum", "global",
           "prestats", "summariesonly", "allow_old_summaries", "chunk_size", "append", "reset_on_change"}


WORD = re.compile(r"\s*([\w.]+)(=\S+)?")
ALIAS = re.compile(r'\s+(?:as|AS)\s+("[^"]+"|[\w.]+)')


def _aggregations(text):
    """[(output name, function, argument)] of a stats-like argument list (before ' by ')."""
    out, position, text = [], 0, text.strip()
    while position < len(text):
        match = WORD.match(text, position)
        if not match or not match.group(1):
            position += 1
            continue
        function, position = match.group(1), match.end()
        if match.group(2):
            continue  # an option such as span=1m
        argument = None
        if position < len(text) and text[position] == "(":
            depth, close = 0, position
            for close in range(position, len(text)):
                depth += {"(": 1, ")": -1}.get(text[close], 0)
                if depth == 0:
                    break
            argument, position = text[position + 1:close], close + 1
        alias = ALIAS.match(text, position)
        if alias:
            position = alias.end()
        if function.lower() in OPTIONS or function.lower() in ("as", "by"):
            continue
        name = _unquote(alias.group(1)) if alias else (f"{function}({argument})" if argument is not None else function)
        out.append((name, function.lower(), argument))
    return out


def _agg_column(name, function, argument):
    field = (argument or "").strip()
    if function in ("values", "list"):
        source = field
        conditional = re.fullmatch(r"eval\(if\((.*)\)\)", field)  # values(eval(if(<test>, <field>, null())))
        if conditional:
            arguments = [a.strip() for a in split_top(conditional.group(1), ",")]
            source = arguments[1] if len(arguments) == 3 and re.fullmatch(r"[\w.]+", arguments[1]) else name
        return Column(name, "mv", source)
    if function in ("latest", "earliest", "last", "first", "max", "min") and field == "_time":
        return Column(name, "epoch", name)
    if function in ("latest", "earliest", "last", "first", "max", "min") and field and not field.startswith("eval("):
        return Column(name, "keep", field)  # the kind of the field it reads
    if function in NUMERIC_AGGS:
        return Column(name, "number", name)
    return Column(name, "text", name)


def _split_by(arguments):
    match = re.search(r"\s+by\s+", arguments, flags=re.I)
    if not match:
        return arguments, []
    return arguments[:match.start()], _words(arguments[match.end():])


def _result_literals(expression):
    """The plain strings a case() or if() can give, or None. An empty string (nothing to report)
    is the common case, so it comes up most often."""
    expression = expression.strip()
    if re.fullmatch(r'-?\d+(\.\d+)?|"[^"]*"', expression):  # a constant (successes=1, signature="...")
        return [_unquote(expression)]
    if not re.match(r"(case|if)\(", expression) or not expression.endswith(")"):
        return None
    arguments = [a.strip() for a in split_top(expression[expression.index("(") + 1:-1], ",")]
    results = arguments[1::2] if expression.startswith("case") else arguments[1:]
    results = [a for a in results if a != "null()"]
    if not results or not all(re.fullmatch(r'"[^"]*"', a) for a in results):
        return None
    literals = [_unquote(a) for a in results]
    if "" in literals:
        literals += [""] * 4
    return literals or None


def _eval_kind(expression):
    expression = expression.strip()
    if expression.startswith("strftime("):
        return "timestr"
    if re.match(r"(if|tostring)\(", expression) and "tostring(" in expression and '"duration"' in expression:
        return "duration"
    if re.match(r"(round|tonumber|floor|ceil|abs|exact|sqrt|pow|max|min|len|mvcount)\(", expression) or \
            re.match(r"if\(.*round\(", expression):
        return "number"
    if re.fullmatch(r"[\w.()*/+\- ]+", expression) and re.search(r"[*/+-]", expression) and '"' not in expression:
        return "number"
    return "text"


def _lookup_header(name):
    spec = dq.read_conf(os.path.join(dq.PACKAGE, "default", "transforms.conf")).get(name, {})
    if "filename" not in spec:
        return []
    with open(os.path.join(LOOKUPS, spec["filename"]), encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


def _dataset_of(segment):
    macro = re.match(r"`([^`(]+)", segment)
    name = macro.group(1) if macro else segment
    for key, dataset in (("signin", "signin"), ("audit_events", "audit"), ("itemusage", "item"),
                         ("collector_logs", "collector"), ("review_change_log", "review_log"),
                         ("review_conf", "review_conf"), ("review_records", "review"),
                         ("review_revisions", "review_revisions"),
                         ("fired_alerts", "alerts"), ("risk_events", "risk"), ("detection_rules", "rules")):
        if key in name:
            return dataset
    if "onepassword_events" in name:
        return "all"
    if "Failed_Authentication" in segment:
        return "signin_failure"
    if "Authentication" in segment:
        return "signin"
    if "Data_Access" in segment:
        return "item"
    if "Change" in segment:
        return "audit"
    return None


def _filters(segment):
    found = {}
    for field, values in re.findall(r'([\w.]+)\s+IN\s+\(([^)]*)\)', segment):
        found[field] = [_unquote(v) for v in values.split(",")]
    for field, value in re.findall(r'(?<![\w.!<>])([\w.]+)=("[^"]*"|[^\s()$"*]+)(?=\s|$)', segment):
        found.setdefault(field, [_unquote(value)])
    return found


def _saved_search(name):
    searches = dq.read_conf(os.path.join(dq.PACKAGE, "default", "savedsearches.conf"))
    if name not in searches:
        raise KeyError(f"savedsearch {name!r} is not in savedsearches.conf")
    return searches[name]["search"]


def shape_of(spl, depth=0):
    """The Shape of what an SPL search returns."""
    shape = Shape()
    columns = None  # None: raw events, any field
    made = {}  # fields an eval made while the rows are still events

    def find(name):
        for column in columns or []:
            if column.name == name:
                return column
        return made.get(name) or Column(name, "epoch" if name == "_time" else "text")

    for index, segment in enumerate(pipeline(spl)):
        command, _, arguments = segment.partition(" ")
        command = command.lower()
        if index == 0:
            shape.dataset = _dataset_of(segment)
            shape.filters = _filters(segment)
        if command.startswith("`"):
            continue  # a macro: the base search, or a filter appended to a rule
        if command == "savedsearch":
            shape.rule = True
            inner = shape_of(_saved_search(_unquote(arguments.strip())), depth + 1)
            shape.__dict__.update({k: v for k, v in inner.__dict__.items() if k not in ("limit", "rule")})
            columns = inner.columns
            continue
        if command in ("stats", "tstats", "eventstats", "streamstats"):
            arguments = re.sub(r"`[^`]*`", "", arguments)
            aggs_text, by = _split_by(arguments)
            aggs_text = re.split(r"\s(?:from|where)\s", " " + aggs_text, maxsplit=1)[0]
            by = [b for b in by if not b.startswith("span=")]
            new = [_agg_column(*agg) for agg in _aggregations(aggs_text)]
            for column in new:
                if column.kind == "keep":
                    base = find(column.origin)
                    column.kind, column.origin = base.kind, base.origin
            if command in ("stats", "tstats"):
                columns = [find(b) for b in by] + new
                shape.mode, shape.by, shape.single = "rows", list(columns[:len(by)]), not by
            elif columns is None:
                made.update({c.name: c for c in new})
            else:
                names = {c.name for c in new}
                columns = [c for c in columns if c.name not in names] + new
        elif command == "timechart":
            span = re.search(r"span=(\S+)", arguments)
            shape.span = span.group(1) if span else None
            arguments = re.sub(r"\b(span|limit|useother|usenull|bins|cont|partial)=\S+", "", arguments)
            aggs_text, by = _split_by(arguments)
            aggs = _aggregations(aggs_text)
            shape.mode = "timechart"
            shape.series = (find(by[0]) if by else None, aggs[0][0])
            columns = [Column("_time", "epoch")] + ([] if by else [Column(aggs[0][0], "number")])
        elif command == "geostats":
            aggs_text, by = _split_by(re.sub(r"\b\w+field=\S+", "", arguments))
            shape.mode = "geostats"
            shape.series = (find(by[0]) if by else None, _aggregations(aggs_text)[0][0])
            columns = [Column("geobin"), Column("latitude", "number"), Column("longitude", "number")]
        elif command == "table":
            columns = [find(name) for name in _words(arguments)]
        elif command == "fields":
            words = _words(arguments)
            if words and words[0] == "-":
                columns = None if columns is None else [c for c in columns if c.name not in words[1:]]
            else:
                columns = [find(name) for name in words if name != "+"]
        elif command == "rename":
            for old, new in re.findall(r'("[^"]+"|[\w.*]+)\s+(?:as|AS)\s+("[^"]+"|[\w.*]+)', arguments):
                old, new = _unquote(old), _unquote(new)
                if columns is None:
                    continue
                if "*" in old:
                    pattern = re.compile("^" + re.escape(old).replace(r"\*", "(.*)") + "$")
                    columns = [c.renamed(new.replace("*", m.group(1))) if (m := pattern.match(c.name)) else c
                               for c in columns]
                else:
                    columns = [c.renamed(new) if c.name == old else c for c in columns]
        elif command == "eval":
            for assignment in split_top(arguments, ","):
                name, equals, expression = assignment.partition("=")
                name = name.strip()
                if not equals or not re.fullmatch(r"[\w.]+", name):
                    continue
                kind = _eval_kind(expression)
                copy_of = expression.strip() if re.fullmatch(r"[\w.]+", expression.strip()) else None
                if copy_of:  # a copy of another field (lastTime=firstTime)
                    kind = find(copy_of).kind
                if name == "_time":
                    kind = "epoch"
                old = find(name)
                kind = old.kind if kind == "text" and old.kind != "text" and name in expression else kind
                column = Column(name, kind, name, _result_literals(expression), copy_of)
                for other in list(made.values()) + (columns or []):
                    if other.copy_of == name:  # its source changes now: the copy keeps the old value
                        other.copy_of = None
                if columns is None:
                    made[name] = column
                else:
                    columns = [column if c.name == name else c for c in columns]
                    if not any(c.name == name for c in columns):
                        columns.append(column)
        elif command in ("rex", "spath", "lookup", "iplocation", "addinfo"):
            added = re.findall(r"\(\?<(\w+)>", arguments) if command == "rex" else \
                re.findall(r"output=(\w+)", arguments) if command == "spath" else \
                [m[1] or m[0] for m in re.findall(r"(\w+)(?:\s+AS\s+(\w+))?", arguments.split("OUTPUT", 1)[1])]\
                if command == "lookup" and "OUTPUT" in arguments else []
            if columns is not None:
                for name in added:
                    if name not in {c.name for c in columns}:
                        columns.append(Column(name))
        elif command == "convert":
            for name in re.findall(r"ctime\((\w+)\)", arguments):
                if columns is not None:
                    columns = [c.as_kind("timestr") if c.name == name else c for c in columns]
                else:
                    made[name] = (made.get(name) or Column(name)).as_kind("timestr")
        elif command == "head":
            number = re.match(r"(?:limit=)?(\d+)", arguments.strip())
            if number:
                shape.limit = min(shape.limit or 10 ** 9, int(number.group(1)))
        elif command == "sort":
            shape.sort = [(name.lstrip("-+"), name.startswith("-") or descending)
                          for descending, name in _sort_keys(arguments)]
        # where, search, fillnull, mvexpand, dedup, append, convert, rest ...: same columns
    if columns is None and depth == 0:
        raise ValueError(f"cannot tell the columns of: {spl[:200]}")
    shape.columns = columns
    if shape.mode == "events" and columns is not None:
        shape.mode = "rows"
    return shape


def _sort_keys(arguments):
    keys, descending = [], False
    for word in arguments.split():
        if word.isdigit():
            continue
        if word in ("-", "+"):
            descending = word == "-"
            continue
        keys.append((descending, word))
        descending = False
    return keys


# ---------------------------------------------------------------------------------------------
# Values: one week of a company's account


def _lookup(name, key, value):
    with open(os.path.join(LOOKUPS, name), encoding="utf-8", newline="") as handle:
        return [(row[key], row[value]) for row in csv.DictReader(handle) if "*" not in row[key]]


SIGNIN_CATEGORIES = _lookup("onepassword_signin_categories.csv", "category", "signature")
SIGNIN_CATEGORIES_ACTIONS = _lookup("onepassword_signin_categories.csv", "category", "action")
FAILED_CATEGORIES = {c for c, a in SIGNIN_CATEGORIES_ACTIONS if a == "failure"}
SIGNIN_TYPES = _lookup("onepassword_signin_types.csv", "type", "reason")
FAILURE_TYPES = [(t, r) for t, r in SIGNIN_TYPES if not t.endswith("_ok") and t != "federated"]
AUDIT_ACTIONS = _lookup("onepassword_audit_actions.csv", "signature_id", "signature")
# The objects most changes are about come first (vault access, group membership, users, invitations).
AUDIT_OBJECTS = sorted(_lookup("onepassword_audit_objects.csv", "object_type", "object_type_description"),
                       key=lambda row: (["uva", "gm", "user", "invite", "device", "vault", "gva", "item", "group", "sa"]
                                        + [row[0]]).index(row[0]))
ITEM_ACTIONS = [a for a, _ in _lookup("onepassword_item_actions.csv", "vendor_action", "action")]

PEOPLE = ["maria.garcia", "james.chen", "aisha.khan", "lukas.becker", "sofia.rossi", "daniel.okafor",
          "emma.johansson", "ravi.patel", "chloe.martin", "noah.williams", "yuki.tanaka", "lea.dubois",
          "omar.haddad", "grace.kim", "mateo.fernandez", "hannah.schmidt", "liam.obrien", "zoe.nguyen"]
DOMAIN = "northwindtraders.com"
USERS = [f"{p}@{DOMAIN}" for p in PEOPLE]
ADMINS = [f"{p}@{DOMAIN}" for p in ("maria.garcia", "james.chen", "aisha.khan")]
ACCOUNTS = ["northwind_prod", "northwind_eu"]
# (ip, country, region, city, lat, lon): documentation and plausible public ranges
PLACES = [("203.0.113.24", "US", "California", "San Francisco", 37.77, -122.42),
          ("198.51.100.77", "US", "New York", "New York", 40.71, -74.01),
          ("192.0.2.143", "GB", "England", "London", 51.51, -0.13),
          ("203.0.113.180", "DE", "Berlin", "Berlin", 52.52, 13.40),
          ("198.51.100.9", "FR", "Ile-de-France", "Paris", 48.86, 2.35),
          ("192.0.2.61", "IN", "Karnataka", "Bengaluru", 12.97, 77.59),
          ("203.0.113.99", "JP", "Tokyo", "Tokyo", 35.68, 139.69),
          ("198.51.100.200", "CA", "Ontario", "Toronto", 43.65, -79.38),
          ("192.0.2.18", "SE", "Stockholm", "Stockholm", 59.33, 18.07),
          ("203.0.113.57", "BR", "Sao Paulo", "Sao Paulo", -23.55, -46.63),
          ("198.51.100.134", "AU", "New South Wales", "Sydney", -33.87, 151.21),
          ("192.0.2.230", "NG", "Lagos", "Lagos", 6.52, 3.38)]
HOSTILE = [("185.220.101.47", "NL", "North Holland", "Amsterdam", 52.37, 4.90),
           ("45.134.26.118", "RU", "Moscow", "Moscow", 55.76, 37.62),
           ("103.152.220.9", "VN", "Hanoi", "Hanoi", 21.03, 105.85)]
APPS = ["1Password for Mac", "1Password for Windows", "1Password Browser Extension", "1Password for iOS",
        "1Password for Android", "1Password for Linux", "1Password CLI", "1Password SCIM Bridge"]
PLATFORMS = [("1Password for Mac", "Mac", "macOS"), ("1Password for Windows", "Windows", "Windows"),
             ("1Password Browser Extension", "Chrome", "macOS"), ("1Password for iOS", "iPhone", "iOS"),
             ("1Password Browser Extension", "Firefox", "Windows"), ("1Password for Android", "Pixel 8", "Android"),
             ("1Password for Linux", "Linux", "Ubuntu")]
VAULTS = [("Production infrastructure", "pr4tk7q2xmdbhvnl6c3ezswyja"), ("Finance", "fn8cw2m5rkq7tzbh4yvdxjlp3e"),
          ("Executive", "ex2vq9hm4lbnc7t6wzsrkyd5ja"), ("Security team", "sc7h3nqd2xv5mwr8bkzt4lcy6e")]
# Privileged (in the lookups, so labelled) at even positions: see "vault_label" and "group_label".
GROUPS = [("Administrators", "ad6mbq3k2xv7ntz5wyhrcl4dje"), ("Engineering", "en5tq2w8bxk3vmzh7ncly4drje"),
          ("Owners", "ow3kz8vn5q2mxbt7hcyl4drjwe"), ("Finance", "fi9dw4kq2mx7tbzv3hcl5nryje")]
SAVED = dq.read_conf(os.path.join(dq.PACKAGE, "default", "savedsearches.conf"))
RULES = [name for name in SAVED if name.endswith(" - Rule")]
EVENT_UUIDS = ["Q4HV7KZ2WNXBM3TRC6YJD5LPEA", "N7TW2QXK5RHZB4MVC3JLD6YPGE", "B5KM3VZT7QWXN2HRJ6CYD4LPFA",
               "W2XQ6TN4KZBHM7VRC5JLD3YPGE", "H6RZ4MK2XQTWN5BVC7JLD3YPEA", "T3VN7QW5KXZBM2HRC4JLD6YPFE"]
EARLIER_EVENT_UUIDS = ["K2MX5QV7TZNWB3HRC6JLD4YPGA", "R5QT3WX7KNZBM6HVC2JLD4YPEE", "F7ZN2KQ4XTWBM5HRC3JLD6YPGA"]

TEXT = {
    "user": USERS, "member": USERS, "grantee": USERS, "risk_object": USERS, "watchlisted_user": USERS,
    "src_user": ADMINS, "actor": ADMINS, "reviewer": ADMINS, "recorded_by": ["maria.garcia"],
    "updated_by": ["maria.garcia", "james.chen"], "splunk_user": ["maria.garcia", "james.chen"],
    "user_role": ["Owner", "Administrator"], "risk_object_type": ["user"],
    "src": [p[0] for p in PLACES], "prev_src": [p[0] for p in PLACES], "source_ips": [p[0] for p in PLACES],
    "src_country": [p[1] for p in PLACES], "country": [p[1] for p in PLACES], "prev_country": [p[1] for p in PLACES],
    "countries": [p[1] for p in PLACES], "src_region": [p[2] for p in PLACES],
    "src_city": [p[3] for p in PLACES], "city": [p[3] for p in PLACES], "prev_city": [p[3] for p in PLACES],
    "region": [f"{p[1]} / {p[2]}" for p in PLACES],
    "account": ACCOUNTS, "event_account": ACCOUNTS, "source": [f"1password:{a}" for a in ACCOUNTS],
    "input": [f"{a}_events" for a in ACCOUNTS], "sourcetype": ["1password:insights:signin_attempts",
                                                                "1password:insights:item_usages",
                                                                "1password:insights:audit_events"], "api_host": ["events.1password.com", "events.1password.eu"],
    "stream": ["Sign-in attempts", "Item usages", "Audit events"],
    "last_status": ["caught_up"], "status": ["200", "429", "503"],
    "dest": ["northwind.1password.com"],
    "authentication_service": APPS, "client_app": APPS, "client.os_name": ["macOS", "Windows", "iOS", "Android", "Ubuntu"],
    "os": ["macOS", "Windows", "iOS", "Android", "Ubuntu"], "platform": ["Mac", "Windows", "Chrome", "iPhone", "Firefox"],
    "device": [f"{a} / {p} / {o}" for a, p, o in PLATFORMS],
    "action": ["success", "failure"], "off_hours": ["no", "no", "yes"],
    "signin:signature_id": [c for c, _ in SIGNIN_CATEGORIES], "signin:signature": [s for _, s in SIGNIN_CATEGORIES],
    "signin:outcome": [s for _, s in SIGNIN_CATEGORIES[1:]],
    "signin_failure:signature_id": [c for c, a in SIGNIN_CATEGORIES_ACTIONS if a == "failure"],
    "signin_failure:signature": [s for c, s in SIGNIN_CATEGORIES if c in FAILED_CATEGORIES],
    "signin_failure:outcome": [s for c, s in SIGNIN_CATEGORIES if c in FAILED_CATEGORIES],
    "signin:reason_id": [t for t, _ in FAILURE_TYPES], "reason_id": [t for t, _ in FAILURE_TYPES],
    "reason": [r for _, r in FAILURE_TYPES], "reasons": [r for _, r in FAILURE_TYPES],
    "signin_failure:reasons": [r for _, r in FAILURE_TYPES],
    # Why the Suspicious Admin Sign-in rule flags a sign-in (its eval of reasons).
    "signin:reasons": ["outside business hours and at an hour this admin has not signed in before",
                       "country new for this admin: " + HOSTILE[0][1], "client new for this admin: " + APPS[6],
                       "outside business hours"],
    "risk_user_48": USERS, "risk_user_64": USERS, "risk_user_80": USERS,  # agree_rows keeps the one of its score
    # 1Password event UUIDs (26 characters of base32): the event a hit or a burst starts from.
    "event_id": EVENT_UUIDS, "burst_id": EVENT_UUIDS, "grant_event_id": EVENT_UUIDS,
    "prev_event_id": EARLIER_EVENT_UUIDS,
    "failure_categories": [c for c, _ in SIGNIN_CATEGORIES[1:4]],
    "audit:signature_id": [a for a, _ in AUDIT_ACTIONS], "signature": [s for _, s in AUDIT_ACTIONS],
    "audit_action": [s for _, s in AUDIT_ACTIONS], "change": [s for _, s in AUDIT_ACTIONS],
    "object_type_description": [d for _, d in AUDIT_OBJECTS], "object type": [d for _, d in AUDIT_OBJECTS],
    "object": [d for _, d in AUDIT_OBJECTS],
    "item:signature_id": ITEM_ACTIONS, "actions": ["fill", "reveal", "secure-copy", "server-fetch"],
    "item_actions": ["fill", "reveal", "secure-copy"],
    # Only the privileged vaults and groups are in the lookups, so only they have a label.
    "vault_label": [v if i % 2 == 0 else "" for i, (v, _) in enumerate(VAULTS)], "vault_uuid": [u for _, u in VAULTS],
    "item:vault_label": [v for v, _ in VAULTS],
    "group_label": [g if i % 2 == 0 else "" for i, (g, _) in enumerate(GROUPS)], "group_uuid": [u for _, u in GROUPS],
    "privileged": ["yes", "no"], "sensitive_vault": ["yes", "no"], "role": ["member", "manager"],
    "details": ["R", "A", "allow_viewing,allow_editing"], "aux_info": ["allow_viewing,allow_editing"],
    "access_change": ["grant", "modify", "revoke"], "scope": ["vault"],
    "target": [f"User vault access {u}" for _, u in VAULTS],
    "finding": ["", "", "", "user suspended or deleted in the period"],
    "suspensions_deletions": [""],
    "kind": ["retry (warning)", "Server Error"], "log_event": ["retry", "stream_failed"],
    "category": ["rate_limit", "server"],
    "message": ["HTTP 429 Too Many Requests (Retry-After: 2)", "HTTP 503 Service Unavailable"],
    "last_message": ["HTTP 429 Too Many Requests (Retry-After: 2)", "HTTP 503 Service Unavailable"],
    "last_error": [""], "error_label": ["Server Error"],
    "rule": RULES, "ss_name": RULES, "detection": RULES, "rule_names": RULES, "title": RULES,
    "cron_schedule": [SAVED[r].get("cron_schedule", "") for r in RULES],
    "description": [SAVED[r].get("description", "").split(". ")[0] for r in RULES],
    "sid": ["scheduler__nobody__RMD5c1f0a2b3_at_1795765800_4120", "scheduler__nobody__RMD5e4d5f607_at_1795762200_3981"],
    "last_sid": ["scheduler__nobody__RMD5c1f0a2b3_at_1795765800_4120",
                 "scheduler__nobody__RMD5e4d5f607_at_1795762200_3981"],
    "client": APPS,
    "object_id": [u for _, u in GROUPS], "group_name": [g for g, _ in GROUPS], "vaults": [u for _, u in VAULTS],
    "watchlisted": ["no"], "departure_date": [""], "grantees": USERS,
    "review": ["Vault access review", "Privileged groups review", "Vault access review", "Privileged groups review"],
    "quarter": ["2026-Q3", "2026-Q3", "2026-Q2", "2026-Q2"],
    "review_date": ["2026-10-08", "2026-10-09", "2026-07-09", "2026-07-10"],
    "review:scope": ["Every shared vault and its members", "Owners and Administrators groups",
                     "Every shared vault and its members", "Owners and Administrators groups"],
    "review:outcome": ["Exceptions remediated", "No exceptions", "No exceptions", "No exceptions"],
    "findings": ["Two former contractors removed from the Finance vault (SEC-2291)", "", "", ""],
    "review_log:change": ["update", "create", "update", "create"],
    "record": ["2026_q3_vault_access", "2026_q2_privileged_groups"], "field": ["outcome", "findings", "reviewer"],
    "old_value": ["exceptions_open", ""], "new_value": ["exceptions_remediated", "maria.garcia"],
    "note": ["saved revision 2", "saved revision 3"], "review_conf:action": ["update", "add"],
    "fields": ["outcome,findings", "reviewer,review_date"],
    "lag": ["00:01:12", "00:00:48", "00:03:05"],
}
NUMBERS = {  # typical values over the dashboard's default range, for 300 people
    "all:signins": (1800, 2400), "all:failed": (40, 90), "all:users": (180, 260), "all:countries": (6, 11),
    "audit_events": (90, 180), "item_usages": (7000, 11000), "failure_rate": (2.0, 4.5),
    "signins": (3, 40), "users": (1, 9), "countries": (1, 3), "prior_failures": (5, 25), "successes": (1, 3),
    "grants": (6, 25), "peak_grants": (6, 15), "vault_count": (4, 12), "grantee_count": (1, 4), "peak_users": (8, 30),
    "count": (4, 160), "failures": (5, 70), "attempts": (30, 140), "failing_ips": (1, 4), "source_ips": (1, 5),
    "actors": (1, 4), "times_fired": (1, 5), "events": (1500, 12000), "requests": (1400, 1600),
    "ok": (1400, 1600), "rate_limited": (0, 4), "server_errors": (0, 2), "unauthorized": (0, 0),
    "errors": (0, 3), "runs": (1380, 1440), "events_per_run": (1.5, 8.0), "429": (0, 4), "5xx": (0, 2),
    "401": (0, 0), "other_status": (0, 0), "events_last_run": (0, 14), "events_in_range": (900, 9000),
    "duplicates_skipped": (0, 3), "signins_in_period": (3, 60), "uses": (5, 120), "items": (2, 30),
    "copies_exports_shares": (0, 6), "revision": (1, 4), "risk_score": (40, 320), "risk_events": (1, 6),
    "rules": (1, 3), "actions": (3, 60), "kinds": (1, 6), "peak_failures": (10, 40), "user_count": (1, 6),
    "distance_km": (900, 9500), "elapsed_s": (600, 7200), "speed_kmh": (1200, 9000), "baseline_avg": (2.0, 9.0),
    "baseline_stdev": (0.5, 3.0), "baseline_hours": (150, 168), "surge_threshold": (20, 40), "vaults": (1, 8),
}


# How common each outcome is among sign-ins (series of the charts); others fall off by position.
SERIES_WEIGHT = {"success": 1.0, "failure": 0.06, "success (firewall report-only)": 0.015,
                 "credentials_failed": 0.05, "mfa_failed": 0.02, "sso_failed": 0.012, "firewall_failed": 0.01,
                 "firewall_reported_success": 0.01, "modern_version_failed": 0.004,
                 "200": 1.0, "429": 0.01, "503": 0.003, "Item usages": 1.0, "Sign-in attempts": 0.25,
                 "Audit events": 0.015, "northwind_prod": 1.0, "northwind_eu": 0.3}
HOURLY_RATE = {"signin": 150, "signin_failure": 9, "audit": 12, "item": 700, "collector": 600, None: 40}
SINGLE_VALUED = {"account", "last_status", "last_error"}


def _signin(category, kind):
    return {"signature_id": category, "signature": dict(SIGNIN_CATEGORIES)[category],
            "action": dict(SIGNIN_CATEGORIES_ACTIONS)[category], "reason_id": kind, "reason": dict(SIGNIN_TYPES)[kind]}


def _grants():
    signatures = dict(AUDIT_ACTIONS)
    with open(os.path.join(LOOKUPS, "onepassword_grant_actions.csv"), encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if "*" not in r["signature_id"] and r["signature_id"] in signatures]
    return [{"signature_id": r["signature_id"], "signature": signatures[r["signature_id"]],
             "access_change": r["access_change"], "scope": r["scope"]} for r in rows]


GRANTS = _grants()
SIGNIN_FAILURES = [_signin(c, t) for c, t in (
    ("credentials_failed", "password_secret_bad"), ("mfa_failed", "totp_bad"), ("credentials_failed", "password_secret_bad"),
    ("sso_failed", "sso_user_mismatch"), ("mfa_failed", "duo_timeout"), ("firewall_failed", "country_blocked"),
    ("mfa_failed", "u2f_timeout"), ("modern_version_failed", "modern_version_old"), ("firewall_failed", "anonymous_blocked"))]
SIGNINS = [_signin("success", "credentials_ok"), _signin("success", "mfa_ok"), _signin("success", "federated"),
           _signin("success", "credentials_ok"), SIGNIN_FAILURES[0], _signin("success", "mfa_ok"),
           _signin("firewall_reported_success", "credentials_ok"), _signin("success", "credentials_ok"), SIGNIN_FAILURES[1]]


def _stable_seed(*parts):
    return int(hashlib.sha256("/".join(parts).encode()).hexdigest()[:12], 16)


class Values:
    def __init__(self, rng, shape, days):
        self.rng, self.days = rng, days
        self.filters = shape.filters
        dataset = shape.dataset or ""
        if shape.filters.get("action") == ["failure"] and not dataset.endswith("_failure"):
            dataset += "_failure"
        self.datasets = [d for d in (dataset, dataset.replace("_failure", "")) if d]
        self.offset = rng.randrange(1000)
        # rows of access changes: signature, signature_id and access_change must agree
        self.grants = "audit" in self.datasets and any(c.origin == "access_change" for c in shape.columns or [])

    def text_choices(self, column):
        if column.choices:
            return column.choices
        if column.origin in self.filters and "*" not in "".join(self.filters[column.origin]):
            return self.filters[column.origin]
        if "audit" in self.datasets and column.origin in ("signature", "signature_id") and \
                ("command" in self.filters or "object_type" in self.filters):
            # an audit signature_id is <command>:<object_type>; keep the ones the search asks for
            kept = [(sid, text) for sid, text in AUDIT_ACTIONS
                    if sid.split(":")[0] in self.filters.get("command", [sid.split(":")[0]])
                    and sid.split(":")[1] in self.filters.get("object_type", [sid.split(":")[1]])]
            if kept:
                return [sid if column.origin == "signature_id" else text for sid, text in kept]
        return self.lookup(TEXT, column)

    def lookup(self, table, column):
        """table[<dataset>:<field>] for the most specific key the column has, else table[<field>]."""
        keys = [f"{d}:{n}" for d in self.datasets for n in (column.name, column.origin)]
        for key in keys + [column.name, column.origin]:
            if key in table:
                return table[key]
        return None

    def profile(self, column, index):
        """The value of a field that must agree with the others of its row (outcome and reason, IP and city)."""
        profiles = SIGNIN_FAILURES if "signin_failure" in self.datasets else SIGNINS if "signin" in self.datasets \
            else None
        if profiles and column.origin in profiles[0] and not column.choices:
            kept = [p for p in profiles if all(p[k] in v for k, v in self.filters.items() if k in p)]
            if kept:
                return kept[(index + self.offset) % len(kept)][column.origin]
        device_of = {"authentication_service": 0, "client_app": 0, "client.app_name": 0, "platform": 1,
                     "client.platform_name": 1, "os": 2, "client.os_name": 2}
        if column.origin in device_of and column.kind != "mv":
            return PLATFORMS[(index + self.offset) % len(PLATFORMS)][device_of[column.origin]]
        place_of = {"src": 0, "src_country": 1, "country": 1, "src_region": 2, "src_city": 3, "city": 3,
                    "prev_src": 0, "prev_country": 1, "prev_city": 3}
        if column.origin in place_of and column.kind != "mv":
            shift = 3 if column.name.startswith("prev_") or column.origin.startswith("prev_") else 0
            place = PLACES[(index + shift + self.offset) % len(PLACES)]
            return place[place_of[column.origin]]
        if column.origin == "region" and column.kind != "mv":
            place = PLACES[(index + self.offset) % len(PLACES)]
            return f"{place[1]} / {place[2]}"
        return None

    def hourly_rate(self, series):
        """Events per hour at the busiest time of a weekday, for a chart's series together."""
        failures_only = "success" not in series and any(s in SERIES_WEIGHT or s in dict(SIGNIN_TYPES) for s in series)
        for dataset in self.datasets:
            if dataset.startswith("signin") and (failures_only or dataset.endswith("_failure")):
                return HOURLY_RATE["signin_failure"]
            if dataset in HOURLY_RATE:
                return HOURLY_RATE[dataset]
        return HOURLY_RATE[None]

    def number_range(self, column):
        return self.lookup(NUMBERS, column)

    def one(self, column, index):
        kind = column.kind
        if kind in ("text", "keep"):
            value = self.profile(column, index)
            if value is not None:
                return value
        if kind == "number" or (kind == "text" and self.number_range(column) and self.text_choices(column) is None):
            low, high = self.number_range(column) or (1, 40)
            if isinstance(low, float) or isinstance(high, float):
                return f"{self.rng.uniform(low, high):.1f}"
            return str(self.rng.randint(low, high))
        if kind in ("epoch", "timestr"):
            moment = NOW - dt.timedelta(seconds=self.rng.randint(60, int(self.days * 86400)))
            if kind == "timestr":
                return moment.strftime("%Y-%m-%d %H:%M:%S")
            return moment.strftime("%Y-%m-%dT%H:%M:%S.000+00:00")
        if kind == "duration":
            return f"00:{self.rng.randint(0, 4):02d}:{self.rng.randint(0, 59):02d}"
        if column.kind in ("text", "keep") and self.grants and column.origin in GRANTS[0]:
            return GRANTS[(index + self.offset) % len(GRANTS)][column.origin]
        choices = self.text_choices(column)
        if choices is None and re.search(r"(^time$|_at$|_seen$|_use$|^last_\w+|^first\w*)", column.name):
            return self.one(Column(column.name, "timestr"), index)
        choices = choices or [column.name.replace("_", " ")]
        if kind == "mv" and column.origin in SINGLE_VALUED:
            return choices[(index + self.offset) % len(choices)]
        if kind == "mv":
            most = 3
            picks = self.rng.sample(choices, k=min(len(choices), self.rng.randint(1, most)))
            return picks if len(picks) > 1 else picks[0]
        return choices[(index + self.offset) % len(choices)]


def _span_seconds(span, days):
    if span:
        match = re.fullmatch(r"(\d+)([smhd])", span)
        if match:
            return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return 1800 if days <= 1 else 3 * 3600 if days <= 7 else 86400


def _activity(moment):
    """How busy a 1Password account is at that moment (working hours on weekdays)."""
    hour = moment.hour + moment.minute / 60
    weekday = moment.weekday() < 5
    day = max(0.0, 1 - abs(hour - 13.5) / 7.5)
    return (0.15 + 1.6 * day) * (1.0 if weekday else 0.3)


def _series_values(values, by_column):
    if by_column is None:
        return None
    return list(values.text_choices(by_column) or [by_column.name])


def rows_for(shape, values, default_rows=8):
    """(field names, columns of values) for one data source."""
    days = values.days
    if shape.mode == "timechart":
        by_column, agg = shape.series
        series = sorted((_series_values(values, by_column) or [agg])[:6])  # Splunk orders split-by columns by name
        weights = [SERIES_WEIGHT.get(serie, 1 / (1 + 2.5 * j)) for j, serie in enumerate(series)]
        rate = values.hourly_rate(series)
        weights = [rate * w / sum(weights) for w in weights]
        step = _span_seconds(shape.span, days)
        count = max(2, min(100, int(days * 86400 // step)))
        start = NOW - dt.timedelta(seconds=step * count)
        names = ["_time"] + series
        columns = [[] for _ in names]
        for i in range(count):
            moment = start + dt.timedelta(seconds=step * i)
            columns[0].append(moment.strftime("%Y-%m-%dT%H:%M:%S.000+00:00"))
            for j, serie in enumerate(series):
                scale = weights[j] * step / 3600
                expected = values.rng.uniform(0.6, 1.3) * scale * _activity(moment)
                columns[j + 1].append(str(int(expected + values.rng.random())))  # rare events still happen
        return names, columns
    if shape.mode == "geostats":
        by_column, agg = shape.series
        series = sorted(_series_values(values, by_column) or [agg])  # Splunk orders split-by columns by name
        names = ["geobin", "latitude", "longitude"] + series
        columns = [[] for _ in names]
        def count(place, serie):
            if place in HOSTILE:  # password guessing from abroad: failures only
                return 0 if serie == "success" else values.rng.randint(25, 60)
            return int(values.rng.randint(20, 400) * SERIES_WEIGHT.get(serie, 0.05))
        counts = [[count(place, serie) for serie in series] for place in PLACES + HOSTILE]
        for zoom in range(10):  # geostats answers every zoom level; the map shows the bins of its own
            for i, place in enumerate(PLACES + HOSTILE):
                columns[0].append(f"bin_id_zl_{zoom}_y_{i}_x_{i}")
                columns[1].append(f"{place[4]:.2f}")
                columns[2].append(f"{place[5]:.2f}")
                for j in range(len(series)):
                    columns[3 + j].append(str(counts[i][j]))
        return names, columns
    names = [c.name for c in shape.columns]
    if shape.single:
        count = 1  # a single row of totals
    else:
        count = min(default_rows, shape.limit or default_rows)
        by_choices = [values.text_choices(c) for c in shape.by]
        if by_choices and all(by_choices) and len(by_choices) == len(shape.by):
            combinations = 1
            for choices in by_choices:
                combinations *= len(choices)
            if len({len(choices) for choices in by_choices}) == 1:
                combinations = len(by_choices[0])  # lists of one length go together (account, input, host)
            count = min(count, combinations)  # one row per group
        elif not shape.by:
            first = values.text_choices(shape.columns[0]) if shape.columns else None
            if first and shape.columns[0].kind == "text":
                count = min(count, len(first))  # a listing: one row per record
    rows = [[values.one(column, i) for column in shape.columns] for i in range(count)]
    for row in rows:  # a first time before its last time
        for i, name in enumerate(names):
            pair = re.sub(r"^first", "last", name)
            if name.startswith("first") and pair in names and str(row[i]) > str(row[names.index(pair)]):
                j = names.index(pair)
                row[i], row[j] = row[j], row[i]
    for field, descending in reversed(shape.sort):
        if field in names:
            position = names.index(field)

            def key(row, position=position):
                cell = row[position]
                cell = cell[0] if isinstance(cell, list) else cell
                try:
                    return (0, float(cell))
                except ValueError:
                    return (1, str(cell))
            rows.sort(key=key, reverse=descending)
    return names, [list(column) for column in zip(*rows)] if rows else [[] for _ in names]


# ---------------------------------------------------------------------------------------------
# The access-review records: one made-up history, from which every review panel takes its rows,
# so the records, their revisions, the change log and the config tracker tell the same story.

OUTCOME_LABELS = {"no_exceptions": "No exceptions", "exceptions_remediated": "Exceptions remediated",
                  "exceptions_open": "Exceptions open", "not_completed": "Not completed"}
REVIEW_STORY = [  # (record, change, Splunk user, at, values changed)
    ("2026_q2_vault_access", "create", "aisha.khan", "2026-07-09 15:20:11",
     {"quarter": "2026-Q2", "reviewer": "aisha.khan@northwindtraders.com", "review_date": "2026-07-09",
      "scope": "Every shared vault and its members", "outcome": "no_exceptions", "findings": ""}),
    ("2026_q3_vault_access", "create", "maria.garcia", "2026-10-08 16:02:40",
     {"quarter": "2026-Q3", "reviewer": "maria.garcia@northwindtraders.com", "review_date": "2026-10-08",
      "scope": "Every shared vault and its members", "outcome": "exceptions_open",
      "findings": "Two former contractors still in the Finance vault (SEC-2291)"}),
    ("2026_q3_privileged_groups", "create", "james.chen", "2026-10-09 10:15:02",
     {"quarter": "2026-Q3", "reviewer": "james.chen@northwindtraders.com", "review_date": "2026-10-09",
      "scope": "Owners and Administrators groups", "outcome": "no_exceptions", "findings": ""}),
    ("2026_q3_vault_access", "edit", "maria.garcia", "2026-10-27 09:31:17",
     {"outcome": "exceptions_remediated", "findings": "Two former contractors removed from the Finance vault "
                                                      "(SEC-2291)"}),
    ("2026_q3_privileged_groups", "edit", "james.chen", "2026-11-03 11:47:55", {"review_date": "2026-10-10"}),
    ("2026_q3_privileged_groups", "withdraw", "maria.garcia", "2026-11-06 08:12:30", {}),
]
REVIEW_REFUSED = ("2026_q3_vault_access", "edit", "james.chen", "2026-10-28 14:05:09",
                  "Review not saved: only the record's author (maria.garcia) or a Splunk admin may change "
                  "\"2026_q3_vault_access\".")


def review_revisions():
    """Every revision, oldest first, with the record's full values after it."""
    current, numbers, out = {}, {}, []
    for record, change, user, at, values in REVIEW_STORY:
        numbers[record] = numbers.get(record, 0) + 1
        before = dict(current.get(record, {}))
        current[record] = dict(before, **values)
        out.append(dict(current[record], record=record, revision=str(numbers[record]), change=change, user=user,
                        at=at, base_revision=str(numbers[record] - 1) if numbers[record] > 1 else "",
                        changed=[f for f in values if before.get(f, "") != values[f]], before=before))
    return out


def _review_rows(dataset):
    revisions = review_revisions()
    readable = lambda row: dict(row, outcome=OUTCOME_LABELS[row["outcome"]])  # noqa: E731  (the panels' case())
    if dataset == "review_revisions":
        return [readable(r) for r in sorted(revisions, key=lambda r: (r["record"], -int(r["revision"])))]
    if dataset == "review":
        rows = []
        for record in sorted({r["record"] for r in revisions}):
            mine = [r for r in revisions if r["record"] == record]
            first, last = mine[0], mine[-1]
            rows.append(readable(dict(last, review=record, recorded_by=first["user"], recorded_at=first["at"],
                                      updated_by=last["user"], updated_at=last["at"],
                                      status="withdrawn" if last["change"] == "withdraw" else "active")))
        return sorted(rows, key=lambda r: (r["quarter"], r["review_date"]), reverse=True)
    if dataset == "review_log":
        rows = []
        for r in revisions:
            common = {"time": r["at"], "splunk_user": r["user"], "change": r["change"], "record": r["record"],
                      "revision": r["revision"]}
            rows.append(dict(common, note="saved revision " + r["revision"]))
            rows += [dict(common, field=f, old_value=r["before"].get(f, ""), new_value=r[f]) for f in r["changed"]]
        record, change, user, at, reason = REVIEW_REFUSED
        rows.append({"time": at, "splunk_user": user, "change": change, "record": record, "note": "REFUSED: " + reason})
        return sorted(rows, key=lambda r: r["time"], reverse=True)
    if dataset == "review_conf":
        return [{"time": r["at"], "action": "add" if r["change"] == "create" else "update", "record": r["record"],
                 "fields": ",".join(r["changed"]) or "revision"} for r in reversed(revisions)]
    return None


# ---------------------------------------------------------------------------------------------
# Rows that agree: what a panel computes from other columns (a rate from its counts, a lag from
# the newest event, a flag from the time) or from another panel (a total from the rows it sums)
# is computed here from the stub values, as the search would.

def _rows(table):
    names = [f["name"] for f in table["fields"]]
    return names, [dict(zip(names, row)) for row in zip(*table["columns"])]


def _store(table, names, rows):
    table["columns"] = [[row[n] for row in rows] for n in names] if rows else [[] for _ in names]


def _number(value):
    return float(value[0] if isinstance(value, list) else value)


def business_hours(moment):
    """The add-on's rule (macro onepassword_business_hours): Monday to Friday, 07:00 to 19:59."""
    return moment.weekday() < 5 and 7 <= moment.hour < 20


def _duration(seconds):
    seconds = max(0, int(seconds))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _parse_time(text):
    return dt.datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)


MACROS = dq.read_conf(os.path.join(dq.PACKAGE, "default", "macros.conf"))
SURGE_MIN = float(MACROS["onepassword_item_surge_min"]["definition"])
SURGE_SIGMA = float(MACROS["onepassword_item_surge_sigma"]["definition"])
STATUS_COLUMNS = (("429", "5xx", "401", "other_status"), ("rate_limited", "server_errors", "unauthorized", "other"))


def agree_rows(names, rows):
    """Make each row's derived columns agree with the columns they come from."""
    for row in rows:
        total = next((n for n in ("attempts", "signins") if n in names), None)
        if "failure_rate" in names and total and "failed" in names:
            failed, whole = int(_number(row["failed"])), max(1, int(_number(row[total])))
            row["failed"] = str(min(failed, whole))
            row["failure_rate"] = f"{100 * min(failed, whole) / whole:.1f}"
        for statuses in STATUS_COLUMNS:
            if "requests" in names and "ok" in names and all(n in names for n in statuses):
                row["requests"] = str(int(_number(row["ok"])) + sum(int(_number(row[n])) for n in statuses))
        if "events_per_run" in names and "runs" in names:
            events = "events" if "events" in names else "events_in_range" if "events_in_range" in names else None
            if events:
                row["events_per_run"] = f"{_number(row[events]) / max(1, _number(row['runs'])):.1f}"
        if "newest_event" in names and row.get("newest_event"):
            newest = _parse_time(row["newest_event"])
            for lag in ("lag_now", "lag"):
                if lag in names:
                    row[lag] = _duration((NOW - newest).total_seconds())
            if "last_run" in names and row.get("last_run") and _parse_time(row["last_run"]) < newest:
                row["last_run"] = row["newest_event"]  # a run wrote the newest event
        if "off_hours" in names and "time" in names:
            row["off_hours"] = "no" if business_hours(_parse_time(row["time"])) else "yes"
        if "reason_count" in names and "reasons" in names:  # Suspicious Admin Sign-in: its score from its reasons
            reasons = row["reasons"] if isinstance(row["reasons"], list) else [row["reasons"]]
            row["reason_count"] = str(len(reasons))
            if "risk_score" in names:
                row["risk_score"] = str(min(80, 48 + 16 * (len(reasons) - 1)))
                for score in (48, 64, 80):
                    if f"risk_user_{score}" in names:
                        row[f"risk_user_{score}"] = row.get("user", "") if row["risk_score"] == str(score) else ""
        if "surge_threshold" in names and "baseline_avg" in names and "baseline_stdev" in names:
            # Item Access Surge: the threshold and the hour's items that passed it, as the rule computes them
            threshold = max(SURGE_MIN, _number(row["baseline_avg"]) + SURGE_SIGMA * _number(row["baseline_stdev"]))
            row["surge_threshold"] = f"{threshold:.1f}"
            if "items" in names:
                row["items"] = str(int(threshold) + 1 + int(_number(row["items"])))
                if "count" in names:
                    row["count"] = str(max(int(_number(row["count"])), int(row["items"])))
        if "surge_start" in names and "_time" in names:  # Item Access Surge: _time, surge_start and hour are the hour
            start = _parse_time(row["_time"].replace("T", " ")).replace(minute=0, second=0)
            row["_time"] = start.strftime("%Y-%m-%dT%H:%M:%S.000+00:00")
            row["surge_start"] = str(int(start.timestamp()))
            if "hour" in names:
                row["hour"] = start.strftime("%Y-%m-%dT%H:%M:%S+0000")
    return rows


# (dashboard, total data source) -> (data source it sums, {total column: summed column})
TOTALS = {
    ("onepassword_overview", "ds_kpi"): ("ds_audit_actions", {"audit_events": "count"}),
    ("onepassword_collector_health", "ds_kpi"): ("ds_per_account", {
        "events": "events", "requests": "requests", "rate_limited": "429", "server_errors": "5xx",
        "unauthorized": "401"}),
    ("onepassword_collector_health", "ds_kpi_errors"): ("ds_errors", {"errors": "count"}),
}
# Rows of a listed panel that its total does not count (the errors KPI counts errors, not retries).
NOT_COUNTED = {"ds_errors": lambda row: row.get("log_event") == "retry"}


# ---------------------------------------------------------------------------------------------
# Definitions

SIMPLE = {"fields", "table", "rename", "head", "sort", "where", "search"}


def _days(definition):
    earliest = dq.input_defaults(definition).get("global_time.earliest", "-24h")
    match = re.match(r"-(\d+)([hd])", earliest or "")
    if not match:
        return 1
    return int(match.group(1)) / (24 if match.group(2) == "h" else 1)


def stub_data(definition, name):
    """{data source id: {"fields": [{"name"}], "columns": [[...]]}} for every data source."""
    data_sources = definition.get("dataSources", {})
    defaults = dq.input_defaults(definition)
    days = _days(definition)
    out = {}

    def data_of(ds_id):
        if ds_id in out:
            return out[ds_id]
        ds = data_sources[ds_id]
        query = dq.substitute(ds["options"]["query"], defaults)
        base = ds["options"].get("extend") if ds["type"] == "ds.chain" else None
        rng = random.Random(_stable_seed(name, ds_id))
        picked = base and all(segment.split(" ", 1)[0].lower() in SIMPLE for segment in pipeline(query))
        if picked:
            base_data = data_of(base)  # a chain that only picks fields of its base: the same numbers
            base_names = [f["name"] for f in base_data["fields"]]
            shape = shape_of(dq.substitute(dq.full_spl(ds_id, data_sources), defaults))
            names = [c.name for c in shape.columns]
            columns = [base_data["columns"][base_names.index(c.origin if c.origin in base_names else c.name)]
                       for c in shape.columns]
        else:
            shape = shape_of(dq.substitute(dq.full_spl(ds_id, data_sources), defaults))
            names, columns = rows_for(shape, Values(rng, shape, days), rng.randint(1, 3) if shape.rule else 8)
            for position, column in enumerate(shape.columns or []):
                if column.copy_of in names and column.copy_of != column.name:
                    columns[position] = list(columns[names.index(column.copy_of)])
            story = _review_rows(shape.dataset) if shape.columns else None
            if story:  # the columns still come from the SPL; the values from the one history
                columns = [[str(row.get(c.name, row.get(c.origin, ""))) for row in story] for c in shape.columns]
        table = {"fields": [{"name": n} for n in names], "columns": columns}
        if not picked:  # rows made here (a chain that only picks fields keeps its base's, which agree)
            names, rows = _rows(table)
            agree_rows(names, rows)
            if (name, ds_id) in TOTALS:  # a total is the sum of the rows of the panel that lists them
                source, sums = TOTALS[(name, ds_id)]
                _, listed = _rows(data_of(source))
                listed = [r for r in listed if not NOT_COUNTED.get(source, lambda row: False)(r)]
                for row in rows:
                    for total, column in sums.items():
                        if total in row:
                            row[total] = str(int(sum(_number(r[column]) for r in listed)))
                agree_rows(names, rows)
            _store(table, names, rows)
        out[ds_id] = table
        return out[ds_id]

    for ds_id in data_sources:
        data_of(ds_id)
    return out


def render_definition(definition, name):
    """A copy of the definition whose searches are ds.test sources with stub rows."""
    data = stub_data(definition, name)
    rendered = dict(definition)
    rendered["dataSources"] = {
        ds_id: {"type": "ds.test", "name": ds.get("name", ds_id), "options": {"data": data[ds_id]}}
        for ds_id, ds in definition.get("dataSources", {}).items()
    }
    return rendered


def table_columns(rendered):
    """{table visualization id: [column names it should show]} of a rendered definition."""
    out = {}
    for viz_id, viz in rendered.get("visualizations", {}).items():
        if viz.get("type") != "splunk.table":
            continue
        primary = (viz.get("dataSources") or {}).get("primary")
        fields = [f["name"] for f in rendered["dataSources"][primary]["options"]["data"]["fields"]]
        if (viz.get("options") or {}).get("showInternalFields") is False:
            fields = [f for f in fields if not f.startswith("_") or f == "_time"]
        out[viz_id] = fields
    return out
