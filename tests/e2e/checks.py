"""What the e2e suite compares, as plain functions: items the simulator served vs events
Splunk indexed (nothing lost, at most a page duplicated, right sourcetype, _time equal to
the item's timestamp, raw text unchanged), and the CIM expectations of the XML
requirement samples. No Splunk here: tests/e2e_helpers unit-tests all of it.
"""

import calendar
import json
import os
import re
import xml.etree.ElementTree as ET
from collections import Counter
from decimal import Decimal

from conf_reader import read_conf, repeated_settings

from .settings import ROOT

# API stream -> sourcetype (README: the same as 1Password's own app)
SOURCETYPES = {
    "signinattempts": "1password:insights:signin_attempts",
    "itemusages": "1password:insights:item_usages",
    "auditevents": "1password:insights:audit_events",
}
# Splunk keeps _time to the microsecond; the API writes up to nanoseconds.
TIME_TOLERANCE = Decimal("0.000001")

_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([Zz])|([+-])(\d\d):?(\d\d))\Z")


def rfc3339_epoch(text):
    """Exact epoch seconds (Decimal) of an RFC 3339 time, fraction kept to the nanosecond."""
    match = _RFC3339.match(text or "")
    if match is None:
        raise ValueError("not an RFC 3339 time: %r" % (text,))
    y, mo, d, h, mi, s = (int(g) for g in match.group(1, 2, 3, 4, 5, 6))
    seconds = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    if not match.group(8):
        offset = int(match.group(10)) * 3600 + int(match.group(11)) * 60
        seconds += -offset if match.group(9) == "+" else offset
    fraction = Decimal("0." + match.group(7)) if match.group(7) else Decimal(0)
    return Decimal(seconds) + fraction


def item_epoch(text):
    return rfc3339_epoch(json.loads(text)["timestamp"])


class IngestReport:
    """Served items vs indexed events, per stream. events: dicts with _raw, sourcetype,
    source and e2e_time (printf("%.6f", _time))."""

    def __init__(self, served, events, source=None):
        self.source = source
        self.by_raw = {}                   # raw -> stream it was served on
        for stream, texts in served.items():
            for text in texts:
                self.by_raw[text] = stream
        self.counts = Counter(event.get("_raw") for event in events)
        self.missing = {stream: [t for t in texts if t not in self.counts] for stream, texts in served.items()}
        self.unexpected = sorted(raw for raw in self.counts if raw not in self.by_raw)
        self.duplicates = Counter()         # stream -> extra copies
        for raw, count in self.counts.items():
            if count > 1 and raw in self.by_raw:
                self.duplicates[self.by_raw[raw]] += count - 1
        self.wrong_sourcetype, self.wrong_source, self.wrong_time = [], [], []
        for event in events:
            raw = event.get("_raw")
            stream = self.by_raw.get(raw)
            if stream is None:
                continue
            if event.get("sourcetype") != SOURCETYPES[stream]:
                self.wrong_sourcetype.append((stream, event.get("sourcetype"), raw[:120]))
            if source is not None and event.get("source") != source:
                self.wrong_source.append((event.get("source"), raw[:120]))
            expected = item_epoch(raw)
            got = Decimal(str(event.get("e2e_time")))
            if abs(got - expected) > TIME_TOLERANCE:
                self.wrong_time.append((str(expected), str(got), raw[:120]))

    def lost(self):
        return {stream: len(texts) for stream, texts in self.missing.items() if texts}

    def too_many_duplicates(self, page_size):
        """Streams with more extra copies than one page (what a restart may replay)."""
        return {stream: count for stream, count in self.duplicates.items() if count > page_size}

    def summary(self):
        return ("lost=%s unexpected=%d duplicates=%s wrong_sourcetype=%d wrong_source=%d wrong_time=%d; first: %s"
                % (self.lost(), len(self.unexpected), dict(self.duplicates), len(self.wrong_sourcetype),
                   len(self.wrong_source), len(self.wrong_time),
                   (self.wrong_time or self.wrong_sourcetype or self.wrong_source or
                    [t[:120] for texts in self.missing.values() for t in texts] or self.unexpected)[:3]))


# -- CIM expectations of the XML requirement samples -------------------------------------------
SAMPLES_DIR = os.path.join(ROOT, "samples")
DATA_CONF = os.path.join(ROOT, "tests", "knowledge", "pytest-splunk-addon-data.conf")
ROOT_DATASETS = {"Authentication": "Authentication", "Change": "All_Changes", "Data_Access": "Data_Access"}


def dataset_of(model_spec):
    """'Change:Account_Management' -> ('Change', 'Account_Management'); 'Change' -> ('Change', 'All_Changes')."""
    model, _, dataset = model_spec.partition(":")
    model = model.strip()
    if dataset:
        return model, dataset.strip().split(":")[-1]
    if model not in ROOT_DATASETS:
        raise ValueError("no root dataset known for data model %r" % model)
    return model, ROOT_DATASETS[model]


def read_data_conf(path=DATA_CONF):
    repeated = repeated_settings(path)
    if repeated:
        raise ValueError("%s writes these twice: %s" % (path, repeated))
    return read_conf(path)


class SampleEvent:
    def __init__(self, sample, number, name, raw, models, fields, stanza):
        self.sample = sample
        self.number = number
        self.name = name
        self.raw = raw
        self.models = models          # [(model, dataset)]
        self.fields = fields          # {field: value}
        self.sourcetype = stanza["sourcetype"]
        self.source = stanza["source"]
        self.input_type = stanza.get("input_type", "modinput")

    @property
    def id(self):
        return "%s#%d" % (self.sample, self.number)

    def hec_payload(self, index, host):
        """As the modular input sends it: the raw text, the item's own time."""
        return {"time": "%.6f" % float(item_epoch(self.raw)), "host": host, "index": index,
                "source": self.source, "sourcetype": self.sourcetype, "event": self.raw}


def cim_sample_events(samples_dir=SAMPLES_DIR, data_conf=DATA_CONF):
    """Every event of the XML requirement samples that names a CIM model."""
    conf = read_data_conf(data_conf)
    events = []
    for sample in sorted(conf):
        if not sample.endswith(".xml") or conf[sample].get("requirement_test_sample") != "1":
            continue
        root = ET.parse(os.path.join(samples_dir, sample)).getroot()
        for number, event in enumerate(root.iter("event"), 1):
            models = [m.text.strip() for m in event.findall("./cim/models/model") if m.text and m.text.strip()]
            if not models:
                continue
            fields = {f.get("name"): f.get("value") for f in event.findall("./cim/cim_fields/field")}
            raw = event.findtext("raw") or ""
            events.append(SampleEvent(sample, number, event.get("name", ""), raw.strip(),
                                      [dataset_of(m) for m in models], fields, conf[sample]))
    return events


def model_fields(model, dataset):
    """Fields a CIM dataset defines (its own and its parents'), from the data-model
    definitions pytest-splunk-addon ships (the CIM app's, in PSA's JSON form)."""
    import pytest_splunk_addon

    path = os.path.join(os.path.dirname(os.path.abspath(pytest_splunk_addon.__file__)), "data_models",
                        model + ".json")
    with open(path, encoding="utf-8") as handle:
        definition = json.load(handle)

    def walk(node, parents):
        chain = parents + [node]
        if node["name"] == dataset:
            return {f["name"] for n in chain for f in n.get("fields", [])}
        for child in node.get("child_dataset", []):
            found = walk(child, chain)
            if found is not None:
                return found
        return None

    for root in definition["objects"]:
        found = walk(root, [])
        if found is not None:
            return found
    raise KeyError("no dataset %s in data model %s" % (dataset, model))


def field_values(row, name, prefixed_only=False):
    """Values of a CIM field in a `| datamodel` result row, whatever dataset prefix the
    model puts on it (Authentication.user, All_Changes.Account_Management.src_user, user)."""
    values = []
    for key, value in row.items():
        if key.endswith("." + name) or (key == name and not prefixed_only):
            values.extend(value if isinstance(value, list) else [value])
    return values


def field_mismatches(expected_fields, rows, model_field_names=()):
    """{field: (expected, got)} for CIM fields whose value no row carries. A field the
    data model defines must come as the model's (prefixed) field; the add-on's other
    fields may come as the event's own."""
    problems = {}
    for name, value in expected_fields.items():
        prefixed = name in model_field_names
        got = [v for row in rows for v in field_values(row, name, prefixed_only=prefixed)]
        if value not in got:
            problems[name] = (value, sorted(set(got))[:5])
    return problems
