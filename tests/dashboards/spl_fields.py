"""The fields a dashboard search gives one log event, computed from the search itself.

The search's macros are expanded from package/default/macros.conf, then its commands
are applied in order to the event, up to the first command that aggregates:

* ``rex [field=<f>] "<PCRE>"``      named groups become fields (PCRE ``(?<n>`` -> Python ``(?P<n>``);
* ``where isnotnull(<f>)``           the event is dropped (None) when the field is missing;
* ``eval <f>=json_extract(<g>, "<key>"), ...``  a top-level key of the JSON text in field g,
  as Splunk's json_extract gives it (text as is, numbers as their text, null as no value,
  arrays and objects as JSON text); other eval expressions are left out;
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

MACROS = os.path.join(dq.PACKAGE, "default", "macros.conf")
AGGREGATING = {"stats", "eventstats", "streamstats", "timechart", "chart", "table", "top", "dedup", "sort", "head",
               "mvexpand", "append", "join", "lookup", "inputlookup", "tstats", "rest"}


def macros():
    return {name: spec["definition"] for name, spec in dq.read_conf(MACROS).items() if "definition" in spec}


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


def fields_of(query, raw, source="/opt/splunk/var/log/splunk/ta_1password_events_acme_in.log"):
    """The fields the search gives one event (_raw, source), or None if it drops the event."""
    fields = {"_raw": raw, "source": source}
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
            missing = re.fullmatch(r"where isnotnull\((\w+)\)", command)
            if missing and fields.get(missing.group(1)) is None:
                return None
        elif name == "eval":
            for target, source_field, key in re.findall(
                    r'(\w+)=json_extract\((\w+), *"((?:[^"\\]|\\.)*)"\)', command):
                fields[target] = _json_extract(fields.get(source_field), _spl_string(key))
    return fields
