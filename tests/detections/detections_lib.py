"""Shared helpers of the detection tests: the package's saved searches, macros, lookups and
the CIM model definitions, and a reader for the references an SPL search makes."""

import csv
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PACKAGE = os.path.join(ROOT, "package")
DEFAULT = os.path.join(PACKAGE, "default")
LOOKUPS = os.path.join(PACKAGE, "lookups")
SCENARIOS = os.path.join(ROOT, "samples", "scenarios")
SCHEMAS = os.path.join(SCENARIOS, "schemas")
KNOWLEDGE = os.path.join(ROOT, "tests", "knowledge")
DOCS = os.path.join(ROOT, "docs", "detections.md")

for path in (KNOWLEDGE, SCENARIOS):
    if path not in sys.path:
        sys.path.insert(0, path)

import conf_reader as conf  # noqa: E402

RULE_SUFFIX = " - Rule"
REPORT_SUFFIX = " - Report"
BASELINE_SUFFIX = " - Baseline"
PRUNE_SUFFIX = " - Prune"
NAME_PREFIX = "1Password - "


def read_conf(name):
    return conf.read_conf(os.path.join(DEFAULT, name))


def savedsearches():
    return read_conf("savedsearches.conf")


def rules():
    return {name: spec for name, spec in savedsearches().items() if name.endswith(RULE_SUFFIX)}


def baselines():
    return {name: spec for name, spec in savedsearches().items() if name.endswith(BASELINE_SUFFIX)}


def prunes():
    return {name: spec for name, spec in savedsearches().items() if name.endswith(PRUNE_SUFFIX)}


def reports():
    return {name: spec for name, spec in savedsearches().items() if name.endswith(REPORT_SUFFIX)}


def rule_id(search):
    """The rule id is the <id> of the onepassword_<id>_filter macro that ends the search."""
    match = re.search(r"`onepassword_([a-z0-9_]+)_filter`\s*$", search.strip())
    return match.group(1) if match else None


def macros():
    return read_conf("macros.conf")


def expand_macros(text, table=None, depth=0):
    """Macros expanded as Splunk does, including those with arguments: `name(a, b)` uses the
    stanza [name(2)] and replaces its $arg$ names with the values."""
    table = table if table is not None else macros()
    if depth > 10:
        raise AssertionError("macro nesting too deep in %r" % text)

    def one(match):
        name, args = match.group(1), match.group(2)
        if args is None:
            return expand_macros(table[name]["definition"], table, depth + 1)
        values = [value.strip() for value in args.split(",")]
        spec = table["%s(%d)" % (name, len(values))]
        definition = spec["definition"]
        for arg, value in zip([a.strip() for a in spec["args"].split(",")], values):
            definition = definition.replace("$%s$" % arg, value)
        return expand_macros(definition, table, depth + 1)

    return re.sub(r"`([A-Za-z0-9_]+)(?:\(([^)`]*)\))?`", one, text)


def transforms():
    return read_conf("transforms.conf")


def csv_rows(filename):
    with open(os.path.join(LOOKUPS, filename), encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def csv_header(filename):
    with open(os.path.join(LOOKUPS, filename), encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


# ------------------------------------------------------------------ CIM models
def _cim_models_path():
    """The CIM JSON files pytest-splunk-addon ships (through splunk_cim_models, or the
    stand-in of tests/knowledge/cim_models_shim when the installed package lacks them)."""
    try:
        import splunk_cim_models

        if hasattr(splunk_cim_models, "DATA_MODELS_PATH"):
            return splunk_cim_models.DATA_MODELS_PATH
        del sys.modules["splunk_cim_models"]
    except ImportError:
        pass
    shim = os.path.join(KNOWLEDGE, "cim_models_shim")
    if shim not in sys.path:
        sys.path.insert(0, shim)
    import splunk_cim_models

    return splunk_cim_models.DATA_MODELS_PATH


def cim_model(model):
    """{dataset path ("All_Changes.Account_Management"): (root name, set of fields incl. inherited)}
    and the dataset names, from the model's JSON definition."""
    with open(os.path.join(_cim_models_path(), model + ".json"), encoding="utf-8") as handle:
        definition = json.load(handle)
    datasets = {}

    def walk(obj, path, inherited, root):
        fields = set(inherited) | {field["name"] for field in obj.get("fields", [])}
        datasets[path] = (root, fields, obj["name"])
        for child in obj.get("child_dataset", []):
            walk(child, path + "." + child["name"], fields, root)

    for obj in definition["objects"]:
        walk(obj, obj["name"], {"_time", "host", "source", "sourcetype", "index"}, obj["name"])
    return datasets


MODEL_ROOTS = {"Authentication": "Authentication", "All_Changes": "Change", "Data_Access": "Data_Access"}


# ------------------------------------------------------------------ SPL references
MACRO_REF = re.compile(r"`([A-Za-z0-9_]+)(?:\(([^`]*)\))?`")
LOOKUP_CMD = re.compile(r"\|\s*(lookup|inputlookup|outputlookup)\s+((?:[a-z_]+=\S+\s+)*)([A-Za-z0-9_.]+)([^|\]]*)")
EVENTTYPE_REF = re.compile(r"\beventtype\s*=\s*\"?([A-Za-z0-9_]+)")
DATAMODEL_REF = re.compile(r"\bdatamodel\s*=\s*\"?([A-Za-z_]+)\.([A-Za-z_]+)")
NODENAME_REF = re.compile(r"\bnodename\s*=\s*\"?([A-Za-z_.]+)")
DM_FIELD = re.compile(r"(?<![\w.])(Authentication|All_Changes|Data_Access)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


def macro_refs(spl):
    return [(m.group(1), m.group(2)) for m in MACRO_REF.finditer(spl)]


def macro_stanza(name, args):
    """The macros.conf stanza a reference uses: name, or name(<number of arguments>)."""
    return name if args is None else "%s(%d)" % (name, len(args.split(",")))


def used_macros(texts, table=None):
    """Every macros.conf stanza the texts use, directly or inside other macros."""
    table = table if table is not None else macros()
    used, todo = set(), [macro_stanza(m, a) for text in texts for m, a in macro_refs(text)]
    while todo:
        name = todo.pop()
        if name not in used:
            used.add(name)
            todo += [macro_stanza(m, a) for m, a in macro_refs(table[name]["definition"])]
    return used


def lookup_columns(name):
    """The columns of a lookup: its CSV header, or a KV store lookup's fields_list."""
    spec = transforms()[name]
    if spec.get("external_type") == "kvstore":
        return [field.strip() for field in spec["fields_list"].split(",")]
    return csv_header(spec["filename"])


def lookup_refs(spl):
    """[(command, lookup name, input columns, output columns)] of lookup/inputlookup commands."""
    found = []
    for match in LOOKUP_CMD.finditer(spl):
        command, name, rest = match.group(1), match.group(3), match.group(4)
        inputs, outputs = [], []
        if command == "lookup":
            parts = re.split(r"\bOUTPUT(?:NEW)?\b", rest, maxsplit=1)
            inputs = _columns(parts[0])
            outputs = _columns(parts[1]) if len(parts) > 1 else []
        found.append((command, name, inputs, outputs))
    return found


def _columns(text):
    tokens = text.replace(",", " ").split()
    columns, index = [], 0
    while index < len(tokens):
        columns.append(tokens[index])
        index += 3 if index + 2 < len(tokens) and tokens[index + 1].upper() == "AS" else 1
    return columns


def eventtype_refs(spl):
    return EVENTTYPE_REF.findall(spl)


def datamodel_refs(spl):
    return DATAMODEL_REF.findall(spl)


def nodename_refs(spl):
    return NODENAME_REF.findall(spl)


def datamodel_field_refs(spl):
    """Data-model field names (Authentication.src, All_Changes.Account_Management.src_user),
    leaving out wildcards (rename "X.*"), datamodel= and nodename= clauses."""
    text = re.sub(r"\bdatamodel\s*=\s*\S+", " ", spl)
    text = re.sub(r"\bnodename\s*=\s*\S+", " ", text)
    text = re.sub(r"[\w.]+\.\*", " ", text)
    return [m.group(1) + m.group(2) for m in DM_FIELD.finditer(text)]


def cron_runs_per_hour(cron):
    """The most runs the schedule makes in any hour of a week (croniter)."""
    from croniter import croniter

    start = 1795737600  # a Friday 00:00 UTC
    itr = croniter(cron, start - 1)
    per_hour = {}
    while True:
        at = itr.get_next(float)
        if at >= start + 7 * 86400:
            break
        per_hour[int(at // 3600)] = per_hour.get(int(at // 3600), 0) + 1
    return max(per_hour.values()) if per_hour else 0


# ------------------------------------------------------------------ scenarios
# "now" values the scenarios are checked at: a Wednesday noon UTC and instants around
# minute and hour boundaries and the end of a day, so snapping (@m, @h, @d) cannot hide
# a scenario that only works at some times.
BASE_NOW = 1795608000  # 2026-11-25T12:00:00Z
NOWS = [BASE_NOW + delta for delta in (0, 7, 59, 61, 1799, 3540, 3599, 43199, 86399 - 3600 * 12)]


def manifest():
    import replay

    return replay.load_manifest()


def new_slice_seconds(search):
    """The window of a rule whose subsearch selects the new events (`onepassword_new_slice(<s>)`)."""
    match = re.search(r"`onepassword_new_slice\((\d+)\)`", search)
    return int(match.group(1)) if match else None


def new_events_seconds(search):
    """The <window> of the rule's `onepassword_new_events(<window>)` marker (None when absent)."""
    match = re.search(r"`onepassword_new_events\((\d+)\)`", search)
    return int(match.group(1)) if match else None


def window_seconds(spec, now=None):
    """How far back in index time a saved search selects the events it judges: its
    dispatch.index_earliest, or the window of its new-event subsearch and marker."""
    import replay

    now = BASE_NOW if now is None else now
    if "dispatch.index_earliest" in spec:
        return now - replay.relative_time(now, spec["dispatch.index_earliest"])
    return new_events_seconds(spec["search"])


def cron_max_gap(cron, days=7):
    """The longest time between two consecutive runs of the cron over a week."""
    ticks = cron_ticks(cron, BASE_NOW, BASE_NOW + days * 86400)
    return max(after - before for before, after in zip(ticks, ticks[1:]))


def cron_ticks(cron, start, end):
    """Every time the cron fires in [start, end)."""
    from croniter import croniter

    itr, ticks = croniter(cron, start - 1), []
    while True:
        tick = itr.get_next(float)
        if tick >= end:
            return ticks
        ticks.append(tick)
