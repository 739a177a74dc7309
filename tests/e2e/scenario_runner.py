"""Detection scenarios in a live Splunk, following docs/detections.md "Scenarios and replay":
one index per variant, `1password_index` pointed at it, the variant's lookup rows and
macros applied (and restored), the saved search dispatched with dispatch.now = the
replay's now, then the verdict: "fire" = a result carrying every entity value, "silent" =
no result carrying the attack's entity (and none at all when the variant's data lives
only in its own index).

The materialization is samples/scenarios/replay.py's; this module adds what the live run
needs. Splunk is reached only through the client passed in (tests/e2e_helpers fakes it).
"""

import hashlib
import json
import os
import sys

from .settings import ROOT, SPLUNK_LOG_DIR

SCENARIOS_DIR = os.path.join(ROOT, "samples", "scenarios")
if SCENARIOS_DIR not in sys.path:
    sys.path.insert(0, SCENARIOS_DIR)

import replay  # noqa: E402  (samples/scenarios/replay.py, standard library only)

SAVEDSEARCHES_CONF = os.path.join(ROOT, "package", "default", "savedsearches.conf")
INDEX_MACRO = "1password_index"


def variant_index(prefix, rule_id, variant):
    """Index of one variant: the run's prefix and a short stable hash (index names are
    short, lowercase, [a-z0-9_-])."""
    digest = hashlib.sha1(("%s/%s" % (rule_id, variant)).encode("utf-8")).hexdigest()[:10]
    return "%ss%s" % (prefix, digest)


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def row_has_entity(row, entity):
    """Every entity value is in the row (multivalue fields: membership)."""
    for key, value in entity.items():
        if str(value) not in [str(v) for v in _as_list(row.get(key))]:
            return False
    return True


def attack_entities(manifest, rule_id):
    return [spec["entity"] for spec in manifest["rules"][rule_id]["variants"]
            if spec["expect"] == "fire" and spec.get("entity")]


def verdict(expect, rows, entity=None, attack=(), own_inputs=(), strict=True):
    """(ok, explanation) of a rule's results for one variant."""
    if expect == "fire":
        hits = [row for row in rows if row_has_entity(row, entity or {})]
        if hits:
            return True, "%d result(s), %d with the entity %s" % (len(rows), len(hits), entity)
        return False, "expected a result with %s; got %d result(s): %s" % (
            entity, len(rows), json.dumps(rows[:3], default=str)[:800])
    if expect != "silent":
        raise ValueError("unknown expectation %r" % expect)
    bad = [row for row in rows
           if any(row_has_entity(row, e) for e in attack)
           or (own_inputs and set(map(str, _as_list(row.get("input")))) & set(own_inputs))]
    if strict:
        bad = list(rows)
    if bad:
        return False, "expected no result%s; got %d: %s" % (
            "" if strict else " for the attack's entity or this variant's inputs", len(bad),
            json.dumps(bad[:3], default=str)[:800])
    return True, "no result" if not rows else "%d unrelated result(s)" % len(rows)


class VariantPlan:
    """One scenario variant materialized for `now`, bound to its index."""

    def __init__(self, rule_id, variant, expect, index, run, manifest):
        self.rule_id = rule_id
        self.variant = variant
        self.expect = expect
        self.index = index
        self.run = run
        self.saved_search = run.dispatch["saved_search"]
        self.entity = run.dispatch.get("entity") or {}
        self.attack = attack_entities(manifest, rule_id)
        self.hec_payloads = run.hec_events(index)
        self.log_files = run.log_files()
        self.own_inputs = sorted({e["input"] for e in run.events if e["type"] == "log"})
        # Data only in its own index: any result at all is a false positive.
        self.strict = not self.log_files

    @property
    def id(self):
        return "%s-%s" % (self.rule_id, self.variant)

    def log_paths(self):
        return {"%s/%s" % (SPLUNK_LOG_DIR, name): text for name, text in self.log_files.items()}

    def macros(self):
        values = {INDEX_MACRO: "index=%s" % self.index}
        values.update(self.run.macros)
        return values


def plan_variants(prefix, now, run_id, selection=None, index_for=None, manifest=None):
    """VariantPlans for every (or the selected) variant, all for the same `now`."""
    manifest = manifest or replay.load_manifest()
    plans = []
    for rule_id, variant, expect in replay.variants(manifest):
        if selection is not None and (rule_id, variant) not in selection:
            continue
        run = replay.materialize(rule_id, variant, now=now, run_id=run_id, manifest=manifest)
        index = index_for(rule_id, variant) if index_for else variant_index(prefix, rule_id, variant)
        plans.append(VariantPlan(rule_id, variant, expect, index, run, manifest))
    return plans


def merged_fixtures(plans):
    """The lookup rows and macros of several variants together (first value of a macro wins)."""
    lookups, macros = {}, {}
    for plan in plans:
        for name, rows in plan.run.lookups.items():
            target = lookups.setdefault(name, [])
            target.extend(row for row in rows if row not in target)
        for name, value in plan.run.macros.items():
            macros.setdefault(name, value)
    return lookups, macros


def expected_counts(plans):
    """{index: number of events HEC gets for it}."""
    counts = {}
    for plan in plans:
        counts[plan.index] = counts.get(plan.index, 0) + len(plan.hec_payloads)
    return counts


def expected_log_lines(plans):
    """{full log path: number of lines appended}."""
    counts = {}
    for plan in plans:
        for path, text in plan.log_paths().items():
            counts[path] = counts.get(path, 0) + len(text.splitlines())
    return counts


# -- into Splunk ------------------------------------------------------------------------------
def _counts(rows, key):
    return {row[key]: int(float(row["count"])) for row in rows}


def replay_into_splunk(client, stack, hec_url, hec_token, service, plans, timeout=900, interval=5.0):
    """Create the plans' indexes, send their events through HEC, append their input log
    lines where splunkd reads its own logs, and wait until all of it is searchable (log
    files may already hold lines of an earlier replay: their counts are the baseline)."""
    from . import spl
    from .splunk_client import wait_for

    for index in sorted({plan.index for plan in plans}):
        client.create_index(index)
    client.hec_events(hec_url, hec_token, [payload for plan in plans for payload in plan.hec_payloads])
    logs = expected_log_lines(plans)
    before = _counts(client.search(spl.log_lines_by_source(logs), earliest="-30d").rows, "source") if logs else {}
    for plan in plans:
        for path, text in plan.log_paths().items():
            stack.append_file(service, path, text, user="splunk")
    want = expected_counts(plans)

    def indexed():
        got = _counts(client.search(spl.counts_by_index(want)).rows, "index")
        return all(got.get(index, 0) >= count for index, count in want.items()) and got

    wait_for(indexed, timeout, interval, "the replayed events to be searchable", client.sleep, client.clock)
    if logs:
        def logged():
            got = _counts(client.search(spl.log_lines_by_source(logs), earliest="-30d").rows, "source")
            return all(got.get(path, 0) >= before.get(path, 0) + count for path, count in logs.items()) and got

        wait_for(logged, timeout, interval, "the replayed input log lines to be indexed", client.sleep, client.clock)


# -- rules that need the CIM app ----------------------------------------------------------------
def read_conf(path):
    """Stanza -> {key: value} of a .conf file (tests/dashboards/dashboard_queries.py's reader)."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "dashboards"))
    try:
        import dashboard_queries
    finally:
        sys.path.pop(0)
    return dashboard_queries.read_conf(path)


def read_savedsearches(path=SAVEDSEARCHES_CONF):
    return read_conf(path)


def needs_cim(spl, saved_searches):
    """Whether a search reads a CIM data model, itself or through `| savedsearch "<name>"`."""
    seen = set()

    def walk(text):
        if "datamodel" in text:
            return True
        for name in _saved_search_calls(text):
            if name in seen or name not in saved_searches:
                continue
            seen.add(name)
            if walk(saved_searches[name].get("search", "")):
                return True
        return False

    return walk(spl)


def _saved_search_calls(text):
    import re

    return re.findall(r'\|\s*savedsearch\s+"([^"]+)"', text) + re.findall(r"\|\s*savedsearch\s+([^\s|\"]+)", text)


# -- lookups ---------------------------------------------------------------------------------
def spl_quote(value):
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_lookup_spl(lookup, columns, rows):
    """A search that replaces the lookup's content with `rows` (columns in that order)."""
    data = json.dumps([{c: ("" if row.get(c) is None else str(row.get(c))) for c in columns} for row in rows],
                      separators=(",", ":"), ensure_ascii=False)
    return "| makeresults format=json data=%s | table %s | outputlookup %s" % (
        spl_quote(data), " ".join(spl_quote(c) for c in columns), lookup)


def lookup_columns(fields, fixture_rows):
    """The lookup's own columns (internal fields dropped), then any new one the fixture adds."""
    columns = [f for f in fields if f and not f.startswith("_")]
    for row in fixture_rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    return columns


class Fixtures:
    """Apply macros and lookup rows for a while; restore() puts back what was there."""

    def __init__(self, client, app=None):
        self.client = client
        self.app = app
        self._macros = []      # (name, previous definition) in application order
        self._lookups = {}     # name -> (columns, original rows)

    def set_macro(self, name, definition):
        previous = self.client.set_macro(name, definition, app=self.app)
        self._macros.append((name, previous))

    def add_lookup_rows(self, lookup, rows):
        if lookup not in self._lookups:
            current = self.client.search("| inputlookup %s" % lookup, app=self.app)
            if current.errors:
                raise AssertionError("cannot read lookup %s: %s" % (lookup, current.errors))
            self._lookups[lookup] = (lookup_columns(current.fields, []), current.rows)
        columns, original = self._lookups[lookup]
        columns = lookup_columns(columns, rows)
        self._lookups[lookup] = (columns, original)
        self._write(lookup, columns, list(original) + [r for r in rows if r not in original])

    def _write(self, lookup, columns, rows):
        result = self.client.search(write_lookup_spl(lookup, columns, rows), app=self.app)
        if result.errors:
            raise AssertionError("cannot write lookup %s: %s" % (lookup, result.errors))

    def apply(self, macros=None, lookups=None):
        for name, definition in (macros or {}).items():
            self.set_macro(name, definition)
        for lookup, rows in (lookups or {}).items():
            self.add_lookup_rows(lookup, rows)
        return self

    def restore(self):
        errors = []
        for lookup, (columns, original) in self._lookups.items():
            try:
                if original:
                    self._write(lookup, columns, original)
            except Exception as exc:  # noqa: BLE001 - restore the rest anyway
                errors.append("%s: %s" % (lookup, exc))
        for name, previous in reversed(self._macros):
            try:
                if previous is not None:
                    self.client.set_macro(name, previous, app=self.app)
            except Exception as exc:  # noqa: BLE001
                errors.append("%s: %s" % (name, exc))
        self._lookups, self._macros = {}, []
        if errors:
            raise AssertionError("could not restore: " + "; ".join(errors))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.restore()
