"""Read the add-on's Dashboard Studio views and list every search they run.

Used by the static dashboard tests here and meant for the dockerized suite (issue 7),
which runs every data-source search against a live Splunk:

    python tests/dashboards/dashboard_queries.py            # JSON list, tokens at their defaults
    python tests/dashboards/dashboard_queries.py --raw      # JSON list, tokens left as written

Each entry: dashboard (file name without .xml), id (data source id, or
"<viz id>:drilldown<n>" for a drilldown search), kind (ds.search, ds.chain, drilldown),
query (as written), spl (the complete search: a chain is prefixed with the searches it
extends), earliest/latest (the time range it runs over) and tokens (the tokens it uses).
With defaults, tokens are replaced by the default value of the input that sets them
(the time picker by its default range); drilldown row tokens ($row.<field>.value$) are
left in place because they only exist when someone clicks.
"""

import glob
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.path.join(ROOT, "tests") not in sys.path:  # run as a script
    sys.path.insert(0, os.path.join(ROOT, "tests"))
from conf_reader import read_conf  # noqa: E402,F401  (stub_rows reads the confs through here)

PACKAGE = os.path.join(ROOT, "package")
VIEWS = os.path.join(PACKAGE, "default", "data", "ui", "views")
# Views ucc-gen generates into the built package (not in package/).
UCC_VIEWS = ("inputs", "configuration", "dashboard")

# $name$ or $name|filter$; "$$" is a literal dollar sign in Dashboard Studio.
TOKEN = re.compile(r"\$([A-Za-z_][\w.:\-]*?)(?:\|([a-z]+))?\$")


def dashboard_files():
    return sorted(glob.glob(os.path.join(VIEWS, "*.xml")))


def load(path):
    """(root element, definition dict) of one Dashboard Studio view."""
    root = ET.parse(path).getroot()
    definition = root.find("definition")
    if definition is None:
        raise ValueError(f"{path}: no <definition>")
    return root, json.loads(definition.text)


def load_all():
    return {os.path.splitext(os.path.basename(path))[0]: load(path)[1] for path in dashboard_files()}


def tokens_in(text):
    return [m.group(1) for m in TOKEN.finditer(text or "")]


def walk_strings(value, path=""):
    """Every string in a JSON value with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk_strings(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_strings(item, f"{path}[{index}]")


def input_defaults(definition):
    """Token -> default value, from the dashboard's inputs (the time picker gives .earliest/.latest)."""
    defaults = {}
    for spec in definition.get("inputs", {}).values():
        options = spec.get("options", {})
        token, default = options.get("token"), options.get("defaultValue")
        if token is None:
            continue
        if spec.get("type") == "input.timerange":
            earliest, _, latest = str(default or "-24h@h,now").partition(",")
            defaults[token + ".earliest"] = earliest
            defaults[token + ".latest"] = latest or "now"
        else:
            defaults[token] = default
    defaults.update(definition.get("defaults", {}).get("tokens", {}).get("default", {}) or {})
    return defaults


def _time_range(ds, definition):
    params = ds.get("options", {}).get("queryParameters")
    if params is None:
        params = (definition.get("defaults", {}).get("dataSources", {}).get("ds.search", {})
                  .get("options", {}).get("queryParameters", {}))
    return params.get("earliest"), params.get("latest")


def full_spl(ds_id, data_sources, seen=()):
    ds = data_sources[ds_id]
    query = ds.get("options", {}).get("query", "")
    if ds.get("type") == "ds.chain":
        base = ds["options"]["extend"]
        if base in seen:
            raise ValueError(f"chain cycle through {ds_id}")
        return full_spl(base, data_sources, seen + (ds_id,)) + "\n" + query
    return query


def _root_search(ds_id, data_sources):
    while data_sources[ds_id].get("type") == "ds.chain":
        ds_id = data_sources[ds_id]["options"]["extend"]
    return data_sources[ds_id]


def substitute(text, values):
    def replace(match):
        name, flt = match.group(1), match.group(2)
        if name not in values:
            return match.group(0)
        value = str(values[name])
        if flt == "s":
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return value
    return TOKEN.sub(replace, text)


def queries(definitions=None, with_defaults=True):
    """Every search of every dashboard (see the module docstring)."""
    out = []
    for name, definition in sorted((definitions or load_all()).items()):
        data_sources = definition.get("dataSources", {})
        defaults = input_defaults(definition) if with_defaults else {}
        for ds_id, ds in sorted(data_sources.items()):
            spl = full_spl(ds_id, data_sources)
            earliest, latest = _time_range(_root_search(ds_id, data_sources), definition)
            entry = {"dashboard": name, "id": ds_id, "kind": ds.get("type"), "name": ds.get("name"),
                     "query": ds.get("options", {}).get("query", ""), "spl": spl,
                     "earliest": earliest, "latest": latest, "tokens": sorted(set(tokens_in(spl)))}
            out.append(entry)
        for viz_id, viz in sorted(definition.get("visualizations", {}).items()):
            for number, handler in enumerate(viz.get("eventHandlers", []) or []):
                options = handler.get("options", {})
                if "query" not in options:
                    continue
                out.append({"dashboard": name, "id": f"{viz_id}:drilldown{number}", "kind": "drilldown",
                            "name": viz.get("title"), "query": options["query"], "spl": options["query"],
                            "earliest": options.get("earliest"), "latest": options.get("latest"),
                            "tokens": sorted(set(tokens_in(options["query"])))})
        if with_defaults:
            for entry in out:
                if entry["dashboard"] != name:
                    continue
                for key in ("spl", "earliest", "latest"):
                    if entry[key] is not None:
                        entry[key] = substitute(entry[key], defaults)
    return out


def main(argv):
    raw = "--raw" in argv
    json.dump(queries(with_defaults=not raw), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
