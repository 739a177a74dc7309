"""The fields a dashboard search gives one log event, computed from the search itself.

A dashboard's "$$" is read as the "$" Splunk gets; the search's macros are expanded from
package/default/macros.conf, then its commands
are applied in order to the event, up to the first command that aggregates:

* ``rex [field=<f>] "<PCRE>"``      named groups become fields (PCRE ``(?<n>`` -> Python ``(?P<n>``);
* ``where`` with ``isnotnull(<f>)``, ``<f>=="<text>"`` and ``in(<f>, "<text>", ...)`` joined by AND:
  the event is dropped (None) when it fails;
* ``eval <f>=<expression>, ...`` with ``json_extract(<g>, "<key>")`` (a top-level key of the JSON
  text in field g as Splunk gives it: text as is, numbers as their text, null as no value, arrays
  and objects as JSON text), ``tonumber``, ``coalesce``, field names and quoted text; an
  assignment with any other function is left out;
* ``search``, ``fillnull``, ``fields``, ``rename`` and ``eval`` without json_extract change nothing here.

So a test that feeds the lines our code writes through this sees the rows the
dashboard would see, and a change of the log format or of a search breaks it.
"""

import json
import os
import re

try:
    import dashboard_queries as dq
except ImportError:  # imported from another test folder, as dashboards.spl_fields
    from dashboards import dashboard_queries as dq
from conf_reader import read_conf  # noqa: E402

MACROS = os.path.join(dq.PACKAGE, "default", "macros.conf")
AGGREGATING = {"stats", "eventstats", "streamstats", "timechart", "chart", "table", "top", "dedup", "sort", "head",
               "mvexpand", "append", "join", "lookup", "inputlookup", "tstats", "rest"}


def macros():
    return {name: spec["definition"] for name, spec in read_conf(MACROS).items() if "definition" in spec}


def expand(query, definitions=None):
    """The search with every `macro` replaced by its definition (macros inside macros too)."""
    definitions = definitions if definitions is not None else macros()
    for _ in range(20):
        expanded = re.sub(r"`([\w.]+)`", lambda m: definitions[m.group(1)], query)
        if expanded == query:
            return expanded
        query = expanded
    raise ValueError("macros nest too deep")


def commands(query):
    """The search's commands, split at the pipes that are not inside a quoted string."""
    parts, current, quoted, escaped = [], [], False, False
    for char in query:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == '"':
            current.append(char)
            quoted = not quoted
        elif char == "|" and not quoted:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def _spl_string(body):
    return body.replace('\\"', '"').replace("\\\\", "\\")


def _split_top(text, separator):
    """text split at `separator` where it is outside parentheses and quotes."""
    parts, depth, quoted, escaped, current = [], 0, False, False, ""
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and text.startswith(separator, index):
            parts.append(current)
            current = ""
            continue
        current += char
    parts.append(current)
    return [part.strip() for part in parts if part.strip() and part.strip() != separator.strip()]


class _Unsupported(Exception):
    pass


def _value(expression, fields):
    expression = expression.strip()
    if expression.startswith('"') and expression.endswith('"'):
        return _spl_string(expression[1:-1])
    if re.fullmatch(r"[A-Za-z_]\w*", expression):
        return fields.get(expression)
    if expression == "null()":
        return None
    call = re.fullmatch(r"(\w+)\((.*)\)", expression, flags=re.S)
    if call is None:
        raise _Unsupported(expression)
    name, args = call.group(1), _split_top(call.group(2), ",")
    if name == "json_extract" and len(args) == 2:
        return _json_extract(fields.get(args[0]), _value(args[1], fields))
    if name == "tonumber" and len(args) == 1:
        value = _value(args[0], fields)
        try:
            float(value)
            return value
        except (TypeError, ValueError):
            return None
    if name == "coalesce":
        return next((v for v in (_value(arg, fields) for arg in args) if v is not None), None)
    raise _Unsupported(expression)


def _json_extract(text, key):
    try:
        value = json.loads(text).get(key)
    except (TypeError, ValueError, AttributeError):
        return None
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if isinstance(value, (list, dict)) else str(value)


def _keeps(condition, fields):
    """Whether `where <condition>` keeps the event (conditions this module does not know keep it)."""
    for part in _split_top(condition, " AND "):
        present = re.fullmatch(r"isnotnull\((\w+)\)", part)
        equal = re.fullmatch(r'(\w+)=="((?:[^"\\]|\\.)*)"', part)
        member = re.fullmatch(r"in\((\w+),(.*)\)", part)
        if present and fields.get(present.group(1)) is None:
            return False
        if equal and fields.get(equal.group(1)) != _spl_string(equal.group(2)):
            return False
        if member and fields.get(member.group(1)) not in [_value(v, fields) for v in _split_top(member.group(2), ",")]:
            return False
    return True


def fields_of(query, raw, source="/opt/splunk/var/log/splunk/ta_1password_events_acme_in.log"):
    """The fields the search gives one event (_raw, source), or None if it drops the event."""
    fields = {"_raw": raw, "source": source}
    query = query.replace("$$", "$")  # Dashboard Studio's literal dollar sign
    for command in commands(expand(query))[1:]:  # the first one selects the events
        name = command.split(None, 1)[0]
        if name in AGGREGATING:
            break
        if name == "rex":
            match = re.fullmatch(r'rex (?:field=(\w+) )?"((?:[^"\\]|\\.)*)"', command)
            if match is None:
                raise ValueError("rex not understood: " + command)
            pattern = re.compile(_spl_string(match.group(2)).replace("(?<", "(?P<"))
            found = pattern.search(fields.get(match.group(1) or "_raw") or "")
            if found:
                fields.update({k: v for k, v in found.groupdict().items() if v is not None})
        elif name == "where":
            if not _keeps(command[len("where"):].strip(), fields):
                return None
        elif name == "eval":
            for assignment in _split_top(command[len("eval"):], ","):
                target, _, expression = assignment.partition("=")
                try:
                    fields[target.strip()] = _value(expression, fields)
                except _Unsupported:
                    pass
    return fields
