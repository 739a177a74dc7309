"""The add-on's search-time mapping applied outside Splunk: the real props.conf (FIELDALIAS,
EVAL through spl_eval.py, LOOKUP), transforms.conf and lookup files, eventtypes.conf and
tags.conf of the package, so that:
  * it can be checked against the hand-written values of the XML requirement samples in
    samples/ (test_samples.py; the dockerized pytest-splunk-addon run checks a real Splunk
    against the same values), and
  * the static tests can show what an analyst gets for a given event (for example that
    firewall_reported_success is a success, or that an audit event's user is the target).
"""

import csv
import json
import os
import re

from conf_reader import read_conf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = os.path.join(ROOT, "package")
LOOKUPS = os.path.join(PACKAGE, "lookups")

SIGNIN = "1password:insights:signin_attempts"
ITEM = "1password:insights:item_usages"
AUDIT = "1password:insights:audit_events"
SOURCETYPES = (SIGNIN, ITEM, AUDIT)


def read_csv(name):
    with open(os.path.join(LOOKUPS, name), encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


class Lookup:
    """A file-based lookup as Splunk applies it: exact or WILDCARD match on the input
    column, rows in file order, first max_matches rows win."""

    def __init__(self, stanza, transforms=None):
        transforms = transforms or read_conf(os.path.join(PACKAGE, "default", "transforms.conf"))
        spec = transforms[stanza]
        self.stanza = stanza
        self.rows = read_csv(spec["filename"])
        self.wildcard = set(re.findall(r"WILDCARD\(([^)]+)\)", spec.get("match_type", "")))
        self.max_matches = int(spec.get("max_matches", "1000"))
        self.case_sensitive = spec.get("case_sensitive_match", "true").lower() in ("1", "true")

    def _matches(self, column, pattern, value):
        flags = 0 if self.case_sensitive else re.IGNORECASE
        if column in self.wildcard:
            regex = "^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$"
            return re.match(regex, value, flags) is not None
        return pattern == value if self.case_sensitive else pattern.lower() == value.lower()

    def match(self, column, value):
        """The first matching row (max_matches = 1 everywhere here), or None."""
        if value is None:
            return None
        hits = [row for row in self.rows if self._matches(column, row[column], value)]
        return hits[0] if hits else None


def flatten(event, prefix="", out=None):
    """The fields KV_MODE = json extracts: nested keys joined with ".", values as text."""
    out = {} if out is None else out
    for key, value in event.items():
        name = prefix + key
        if isinstance(value, dict):
            flatten(value, name + ".", out)
        elif isinstance(value, list):
            out[name + "{}"] = [str(v) for v in value]
        elif value is None:
            continue
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = str(value)
    return out


class SourcetypeProps:
    """The search-time settings of one props.conf stanza, applied as Splunk applies them:
    KV_MODE json, then FIELDALIAS, then EVAL (each reads the fields as they were before any
    EVAL), then LOOKUP (in class-name order)."""

    def __init__(self, settings, transforms):
        from spl_eval import compile_eval

        self.aliases, self.evals, self.lookups = [], [], []
        for key in sorted(settings):
            value = settings[key]
            if key.startswith("FIELDALIAS-"):
                self.aliases += re.findall(r"(\S+)\s+AS\s+(\S+)", value, re.IGNORECASE)
            elif key.startswith("EVAL-"):
                self.evals.append((key[5:], compile_eval(value)))
            elif key.startswith("LOOKUP-"):
                stanza, rest = value.split(" ", 1)
                inputs, mode, outputs = re.split(r"\b(OUTPUTNEW|OUTPUT)\b", rest, maxsplit=1)
                self.lookups.append((Lookup(stanza, transforms), lookup_pairs(inputs), mode, lookup_pairs(outputs)))

    def apply(self, fields):
        fields = dict(fields)
        for source, target in self.aliases:
            if source in fields:
                fields[target] = fields[source]
        computed = {name: evaluate(fields) for name, evaluate in self.evals}
        for name, value in computed.items():
            if value is None or value == "":
                fields.pop(name, None)
            else:
                fields[name] = value if isinstance(value, str) else str(value)
        for lookup, inputs, mode, outputs in self.lookups:
            if any(field not in fields for _, field in inputs):
                continue
            (column, field), = inputs
            row = lookup.match(column, fields[field])
            if row is None:
                continue
            for column, target in outputs:
                if mode == "OUTPUTNEW" and target in fields:
                    continue
                if row[column] == "":
                    fields.pop(target, None)
                else:
                    fields[target] = row[column]
        return fields


def lookup_pairs(text):
    """'a AS b c' -> [(a, b), (c, c)]: (lookup column, event field)."""
    tokens = text.replace(",", " ").split()
    pairs, index = [], 0
    while index < len(tokens):
        if index + 2 < len(tokens) and tokens[index + 1].upper() == "AS":
            pairs.append((tokens[index], tokens[index + 2]))
            index += 3
        else:
            pairs.append((tokens[index], tokens[index]))
            index += 1
    return pairs


def _psa_datamodel_tags():
    """pytest-splunk-addon's tags per data model (what its test_datamodels checks), read
    from its module file directly: importing its package registers its test classes."""
    import importlib.util

    import pytest_splunk_addon

    path = os.path.join(os.path.dirname(pytest_splunk_addon.__file__), "fields_tests",
                        "requirement_test_datamodel_tag_constants.py")
    spec = importlib.util.spec_from_file_location("_psa_datamodel_tags", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dict_datamodel_tag


class Mapping:
    """props.conf, transforms.conf, the lookups, eventtypes.conf and tags.conf of the
    package, applied to one event."""

    def __init__(self):
        from spl_eval import compile_search

        default = os.path.join(PACKAGE, "default")
        transforms = read_conf(os.path.join(default, "transforms.conf"))
        props = read_conf(os.path.join(default, "props.conf"))
        self.props = {sourcetype: SourcetypeProps(props[sourcetype], transforms) for sourcetype in SOURCETYPES}
        self.eventtype_searches = {name: compile_search(spec["search"]) for name, spec in
                                   read_conf(os.path.join(default, "eventtypes.conf")).items()}
        self.tag_stanzas = read_conf(os.path.join(default, "tags.conf"))

    def all_fields(self, sourcetype, event, source="1password:example"):
        """Every field of the event after search-time processing."""
        if isinstance(event, str):
            event = json.loads(event, parse_float=str, parse_int=str)
        fields = flatten(event)
        fields.update(source=source, sourcetype=sourcetype)
        return self.props[sourcetype].apply(fields)

    def fields(self, sourcetype, event, source="1password:example"):
        """The fields the add-on sets (not the JSON fields themselves)."""
        raw = json.loads(event, parse_float=str, parse_int=str) if isinstance(event, str) else event
        extracted = flatten(raw)
        result = self.all_fields(sourcetype, raw, source)
        return {key: value for key, value in result.items()
                if key not in ("source", "sourcetype") and (key not in extracted or extracted[key] != value)}

    def eventtypes(self, sourcetype, fields):
        fields = dict(fields, sourcetype=sourcetype)
        return sorted(name for name, matches in self.eventtype_searches.items() if matches(fields))

    def tags(self, sourcetype, fields):
        tags = set()
        for eventtype in self.eventtypes(sourcetype, fields):
            for tag, state in self.tag_stanzas.get("eventtype=" + eventtype, {}).items():
                if state == "enabled":
                    tags.add(tag)
        return tags

    def model(self, sourcetype, fields):
        """The CIM model (and dataset) the event's tags select, written as in XML samples
        ("Change:Account_Management"), decided as pytest-splunk-addon's test_datamodels does."""
        dict_datamodel_tag = _psa_datamodel_tags()
        tags = self.tags(sourcetype, fields)
        matched = {dm: dm_tags for dm, dm_tags in dict_datamodel_tag.items() if all(t in tags for t in dm_tags)}
        assigned = [dm for dm, dm_tags in matched.items()
                    if not any(set(dm_tags).issubset(other) and dm != name for name, other in matched.items())]
        if len(assigned) != 1:
            raise AssertionError("tags %s select %s" % (sorted(tags), assigned))
        name = assigned[0]
        for model in ("Authentication", "Change", "Data_Access"):
            if name == model:
                return model
            if name.startswith(model + "_"):
                return model + ":" + name[len(model) + 1:]
        raise AssertionError("unexpected data model %s" % name)
