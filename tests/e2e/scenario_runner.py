"""Detection scenarios in a live Splunk, following samples/scenarios/README.md ("How the
suite runs them"): one index per variant, `1password_index` pointed at it, the variant's
lookup rows and macros applied (and restored), every event replayed *before* it is indexed
(the variant is materialized for the clock at which the replay starts, so `_time` precedes
`_indextime` as in production), the rule's baselines built by dispatching the real
"- Baseline" searches over consecutive hours (`dispatch.now`), then the rule dispatched at
its first scheduled run whose range ends after the replay was indexed, with its alert
actions on, and the verdict against the manifest's hand-written expectation: "fire" =
exactly `rows` results, each carrying every entity value, and as many alerts; "silent" = no
result (none for this variant's inputs when the data is shared, as the inputs' logs are).
The rule's next scheduled run, whose window still holds the incident, must add no alert: its
throttle names the incident.

The materialization is samples/scenarios/replay.py's; this module adds what the live run
needs. Splunk is reached only through the client passed in (tests/e2e_helpers fakes it).
"""

import hashlib
import json
import os
import re
import sys
import time

from .settings import ROOT, SPLUNK_LOG_DIR

SCENARIOS_DIR = os.path.join(ROOT, "samples", "scenarios")
if SCENARIOS_DIR not in sys.path:
    sys.path.insert(0, SCENARIOS_DIR)

import replay  # noqa: E402  (samples/scenarios/replay.py, standard library only)
from conf_reader import read_conf  # noqa: E402

SAVEDSEARCHES_CONF = os.path.join(ROOT, "package", "default", "savedsearches.conf")
INDEX_MACRO = "1password_index"
ADDON = "TA-1password-events"


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


def verdict(expect, rows, entity=None, attack=(), own_inputs=(), strict=True, expected_rows=None):
    """(ok, explanation) of a rule's results for one variant: "fire" wants `expected_rows`
    results (one per incident), every one carrying the entity."""
    if expect == "fire":
        if own_inputs and not strict:
            rows = [row for row in rows if set(map(str, _as_list(row.get("input")))) & set(own_inputs)]
        hits = [row for row in rows if row_has_entity(row, entity or {})]
        wanted = len(hits) if expected_rows is None else expected_rows
        if hits and len(hits) == len(rows) == wanted:
            return True, "%d result(s), all with the entity %s" % (len(rows), entity)
        return False, "expected %s result(s), each with %s; got %d result(s), %d with it: %s" % (
            "some" if expected_rows is None else expected_rows, entity, len(rows), len(hits),
            json.dumps(rows[:3], default=str)[:800])
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
        self.now = run.now
        self.saved_search = run.dispatch["saved_search"]
        self.entity = run.dispatch.get("entity") or {}
        self.rows = run.spec.get("rows")
        self.baselines = list(manifest["rules"][rule_id].get("baselines", []))
        self.attack = attack_entities(manifest, rule_id)
        self.hec_payloads = run.hec_events(index)
        self.log_files = run.log_files()
        self.own_inputs = sorted({e["input"] for e in run.events if e["type"] == "log"})
        # Data only in its own index: any result at all is a false positive.
        self.strict = not self.log_files
        self.held_back = []   # events sent only after the rule's first run (hold_back_after_the_hour)

    @property
    def id(self):
        return "%s-%s" % (self.rule_id, self.variant)

    def hold_back_after_the_hour(self):
        """Keep the events after the first HH:00 the variant's events cross for a second
        delivery, as a collector delivers them when they happen: the rule's first run sees
        the part before the hour, the next one all of it."""
        times = [float(payload["time"]) for payload in self.hec_payloads]
        boundary = (int(min(times)) // 3600 + 1) * 3600
        if not min(times) < boundary <= max(times):
            raise ValueError("%s: the events do not cross an hour" % self.id)
        self.held_back = [p for p in self.hec_payloads if float(p["time"]) >= boundary]
        self.hec_payloads = [p for p in self.hec_payloads if float(p["time"]) < boundary]
        return self

    def log_paths(self):
        return {"%s/%s" % (SPLUNK_LOG_DIR, name): text for name, text in self.log_files.items()}

    def macros(self):
        values = {INDEX_MACRO: "index=%s" % self.index}
        values.update(self.run.macros)
        return values


def plan_variants(prefix, now, run_id, selection=None, index_for=None, manifest=None):
    """VariantPlans for every (or the selected) variant, materialized for `now`: the clock
    at which the replay starts. Every event lies before it (samples/scenarios/README.md),
    so each is indexed after it happened, never before."""
    manifest = manifest or replay.load_manifest()
    plans = []
    for rule_id, variant, expect in replay.variants(manifest):
        if selection is not None and (rule_id, variant) not in selection:
            continue
        run = replay.materialize(rule_id, variant, now=now, run_id=run_id, manifest=manifest)
        index = index_for(rule_id, variant) if index_for else variant_index(prefix, rule_id, variant)
        plans.append(VariantPlan(rule_id, variant, expect, index, run, manifest))
    return plans


# -- schedules ---------------------------------------------------------------------------------
def _cron_values(field, low, high):
    """The values of one cron field ("*", "*/10", "5", "0,30", "10-20", "10-50/20")."""
    values = set()
    for part in field.split(","):
        spec, _, step = part.partition("/")
        if spec == "*":
            first, last = low, high
        elif "-" in spec:
            first, last = (int(x) for x in spec.split("-", 1))
        else:
            first = int(spec)
            last = high if step else first
        values.update(range(first, last + 1, int(step or 1)))
    if not values or min(values) < low or max(values) > high:
        raise ValueError("cron field %r outside %d-%d" % (field, low, high))
    return values


def next_run(cron, after):
    """The first time (UTC epoch, whole minute) strictly after `after` at which `cron` fires.
    The rules and baselines are scheduled by minute and hour only."""
    fields = cron.split()
    if len(fields) != 5 or fields[2:] != ["*", "*", "*"]:
        raise ValueError("the suite schedules by minute and hour only, not %r" % cron)
    minutes, hours = _cron_values(fields[0], 0, 59), _cron_values(fields[1], 0, 23)
    at = int(after) - int(after) % 60 + 60
    for _ in range(2 * 24 * 60):
        tm = time.gmtime(at)
        if tm.tm_min in minutes and tm.tm_hour in hours:
            return float(at)
        at += 60
    raise ValueError("cron %r never fires" % cron)


def scheduled_now(settings, indexed_by):
    """The rule's first scheduled run whose range ends after the replay was indexed: the run
    of a real schedule that first sees the events."""
    at = next_run(settings["cron_schedule"], indexed_by)
    while replay.relative_time(at, settings["dispatch.latest_time"]) <= indexed_by:
        at = next_run(settings["cron_schedule"], at)
    return at


# -- baselines -----------------------------------------------------------------------------------
def baseline_lookup(search):
    """The lookup a baseline search writes (outputlookup's options skipped)."""
    match = re.search(r"\|\s*outputlookup\s+(?:[\w.]+=\S+\s+)*(\w+)", search)
    if not match:
        raise ValueError("a baseline search writes its lookup with outputlookup")
    return match.group(1)


def fold_times(settings, event_times, until):
    """The baseline's scheduled runs (dispatch.now) that fold a variant's history, in order:
    for each event, the first run whose range ends after it, and the run after that (an
    hourly schedule folds every hour at least twice: the re-fold must change nothing);
    none after `until` (the rule's run)."""
    cron, latest = settings["cron_schedule"], settings["dispatch.latest_time"]
    runs = set()
    for moment in event_times:
        at = next_run(cron, moment)
        while replay.relative_time(at, latest) <= moment:
            at = next_run(cron, at)
        runs.update((at, next_run(cron, at)))
    return sorted(at for at in runs if at <= until)


def fold_overrides(settings, replayed):
    """The replay indexed the whole history within `replayed` (start, end); a baseline that
    folds by index time (dispatch.index_earliest/index_latest) is told so for each of its
    past runs, which otherwise read nothing: what each run reads by event time is then
    what the real search gives."""
    if not settings.get("dispatch.index_earliest"):
        return {}
    return {"dispatch.index_earliest": str(int(replayed[0]) - 60),
            "dispatch.index_latest": str(int(replayed[1]) + 60)}


def fold_baselines(client, plan, fixtures, saved_searches, until, replayed):
    """Empty the rule's baselines, then dispatch each "- Baseline" search at its scheduled
    runs over the variant's history (fold_times), as the scheduler would have run it.
    Returns {baseline name: [dispatch.now, ...]}. The fixtures restore the lookups."""
    moments = [event["time"] for event in plan.run.events if event["stream"]]
    folded = {}
    for name in plan.baselines:
        settings = saved_searches[name]
        fixtures.clear_lookup(baseline_lookup(settings["search"]))
        folded[name] = fold_times(settings, moments, until)
        for at in folded[name]:
            result = client.finish(client.dispatch_saved_search(name, now=at, **fold_overrides(settings, replayed)))
            if result.errors:
                raise AssertionError("folding %s at %d failed: %s" % (name, at, result.errors))
    return folded


def lookup_rows(client, lookup):
    """The lookup's rows (with their _key), sorted: to compare two states."""
    result = client.search("| inputlookup %s" % lookup)
    if result.errors:
        raise AssertionError("cannot read lookup %s: %s" % (lookup, result.errors))
    rows = [{k: v for k, v in row.items() if not k.startswith("_") or k == "_key"} for row in result.rows]
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True))


# -- alerts --------------------------------------------------------------------------------------
def alert_counts(client, rule, sids, app=ADDON):
    """{sid: alerts fired} for the given jobs of the rule (Splunk's audit trail, one event
    per triggered alert)."""
    from . import spl

    rows = client.search(spl.alerts_by_sid(app, rule, sids), earliest="-24h").rows
    counts = {sid: 0 for sid in sids}
    counts.update({row["sid"]: int(float(row["count"])) for row in rows if row.get("sid") in counts})
    return counts


def wait_alerts(client, rule, sids, wanted, timeout=300, interval=5.0):
    """Alert counts of `sids` once the audit trail holds at least `wanted` alerts for them
    (it is indexed a little after the job ends), read again one interval later so that a
    repeat alert indexed after the first ones is counted too."""
    from .splunk_client import wait_for

    def enough():
        counts = alert_counts(client, rule, sids)
        return counts if sum(counts.values()) >= wanted else None

    wait_for(enough, timeout, interval, "%d alert(s) of %s in the audit trail" % (wanted, rule), client.sleep,
             client.clock)
    client.sleep(interval)
    return alert_counts(client, rule, sids)


def scheduled_runs(client, rule, since, app=ADDON):
    """The scheduler's successful runs of the rule since `since`, oldest first:
    [{"sid", "result_count", "scheduled_time"}]."""
    from . import spl

    rows = client.search(spl.scheduler_runs(app, rule), earliest=str(int(since))).rows
    return sorted(rows, key=lambda row: float(row.get("scheduled_time") or 0))


def _dispatch(client, name, now, trigger_actions=False, extra=None):
    result = client.finish(client.dispatch_saved_search(name, now=now, trigger_actions=trigger_actions,
                                                        **(extra or {})))
    if result.errors:
        raise AssertionError("%s at %d: %s" % (name, now, result.errors))
    return result


def judge_variant(client, plan, saved_searches, indexed_by, deliver=None):
    """Steps 2 to 4 of samples/scenarios/README.md ("How the suite runs them") for one
    replayed variant; raises AssertionError with what went wrong. A variant with held-back
    events is judged by a run before `deliver(plan)` (which indexes them and returns when)
    and by the runs after it. Returns the result of the run that holds the whole incident."""
    rule = saved_searches[plan.saved_search]
    first_run = scheduled_now(rule, indexed_by)
    replayed = (plan.now, indexed_by)
    with Fixtures(client) as fixtures:
        fixtures.apply(plan.macros(), plan.run.lookups)
        for name, runs in fold_baselines(client, plan, fixtures, saved_searches, first_run, replayed).items():
            lookup = baseline_lookup(saved_searches[name]["search"])
            before = lookup_rows(client, lookup)
            _dispatch(client, name, runs[-1], extra=fold_overrides(saved_searches[name], replayed))
            if lookup_rows(client, lookup) != before:
                raise AssertionError("re-folding %s at its last run changed %s: a fold must be idempotent"
                                     % (name, lookup))
        if plan.expect == "silent":
            first = _dispatch(client, plan.saved_search, first_run)
            ok, why = verdict("silent", first.rows, plan.entity, plan.attack, plan.own_inputs, plan.strict)
            if not ok:
                raise AssertionError("%s %s (silent): %s" % (plan.saved_search, plan.variant, why))
            return first
        runs, split = [], bool(plan.held_back)
        if split:
            # the part before the hour, judged before the rest arrives
            runs.append(_dispatch(client, plan.saved_search, first_run, trigger_actions=True))
            first_run = scheduled_now(rule, max(deliver(plan), first_run))
        first = _dispatch(client, plan.saved_search, first_run, trigger_actions=True)
        ok, why = verdict("fire", first.rows, plan.entity, plan.attack, plan.own_inputs, plan.strict,
                          expected_rows=plan.rows)
        if not ok:
            raise AssertionError("%s %s (fire): %s" % (plan.saved_search, plan.variant, why))
        runs.append(first)
        last = _dispatch(client, plan.saved_search, next_run(rule["cron_schedule"], first_run), trigger_actions=True)
        runs.append(last)
        alerts = wait_alerts(client, plan.saved_search, [run.sid for run in runs], plan.rows)
        if sum(alerts.values()) != plan.rows or alerts[last.sid] or (not split and alerts[first.sid] != plan.rows):
            raise AssertionError(
                "%s %s: the incident must alert %d time(s) in all, by the run that first holds it, and never again "
                "at a later run whose window still holds it; alerts by run, in order: %s" % (
                    plan.saved_search, plan.variant, plan.rows, [alerts[run.sid] for run in runs]))
        return first


def judge_scheduled_runs(client, rule, rows, runs_wanted, since, timeout=1200, interval=20.0):
    """Step 5: once Splunk's scheduler has run `rule` `runs_wanted` times with results since
    `since`, each run saw the incident's `rows` results and only the first alerted."""
    from .splunk_client import wait_for

    def runs_that_see_it():
        runs = [run for run in scheduled_runs(client, rule, since) if int(float(run.get("result_count") or 0)) > 0]
        return runs if len(runs) >= runs_wanted else None

    runs = wait_for(runs_that_see_it, timeout, interval, "%d scheduled runs of %s that see the incident"
                    % (runs_wanted, rule), client.sleep, client.clock)[:runs_wanted]
    for run in runs:
        if int(float(run["result_count"])) != rows:
            raise AssertionError("%s: scheduled run %s gave %s result(s), not %d" % (rule, run["sid"],
                                                                                     run["result_count"], rows))
    sids = [run["sid"] for run in runs]
    alerts = wait_alerts(client, rule, sids, rows)
    if alerts != dict({sids[0]: rows}, **{sid: 0 for sid in sids[1:]}):
        raise AssertionError("%s: %d scheduled runs saw the incident; it must alert once, at the first: %s"
                             % (rule, len(runs), alerts))
    return runs


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


def _wait_indexed(client, want, timeout, interval):
    """Until every index holds at least its count of events ({index: count})."""
    from . import spl
    from .splunk_client import wait_for

    def indexed():
        got = _counts(client.search(spl.counts_by_index(want)).rows, "index")
        return all(got.get(index, 0) >= count for index, count in want.items()) and got

    wait_for(indexed, timeout, interval, "the replayed events to be searchable", client.sleep, client.clock)


def deliver_held_back(client, hec_url, hec_token, plan, timeout=600, interval=5.0, wall_clock=time.time):
    """Send the plan's held-back events and wait until the index holds all of the variant;
    returns the epoch by which they were indexed."""
    client.hec_events(hec_url, hec_token, plan.held_back)
    _wait_indexed(client, {plan.index: len(plan.hec_payloads) + len(plan.held_back)}, timeout, interval)
    plan.hec_payloads, plan.held_back = plan.hec_payloads + plan.held_back, []
    return wall_clock()


def replay_into_splunk(client, stack, hec_url, hec_token, service, plans, timeout=900, interval=5.0,
                       wall_clock=time.time):
    """Create the plans' indexes, send their events through HEC, append their input log
    lines where splunkd reads its own logs, and wait until all of it is searchable (log
    files may already hold lines of an earlier replay: their counts are the baseline).
    Returns the epoch by which all of it was indexed (the wall clock: the client's clock
    only measures waits)."""
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
    _wait_indexed(client, expected_counts(plans), timeout, interval)
    if logs:
        def logged():
            got = _counts(client.search(spl.log_lines_by_source(logs), earliest="-30d").rows, "source")
            return all(got.get(path, 0) >= before.get(path, 0) + count for path, count in logs.items()) and got

        wait_for(logged, timeout, interval, "the replayed input log lines to be indexed", client.sleep, client.clock)
    return wall_clock()


# -- rules that need the CIM app ----------------------------------------------------------------
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
    return re.findall(r'\|\s*savedsearch\s+"([^"]+)"', text) + re.findall(r"\|\s*savedsearch\s+([^\s|\"]+)", text)


# -- lookups ---------------------------------------------------------------------------------
def spl_quote(value):
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_lookup_spl(lookup, columns, rows):
    """A search that replaces the lookup's content with `rows` (columns in that order); no
    rows empties it (outputlookup's override_if_empty)."""
    if not rows:
        return "| makeresults | where 1=0 | outputlookup override_if_empty=true %s" % lookup
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
        self._snapshot(lookup)
        columns, original = self._lookups[lookup]
        columns = lookup_columns(columns, rows)
        self._lookups[lookup] = (columns, original)
        self._write(lookup, columns, list(original) + [r for r in rows if r not in original])

    def clear_lookup(self, lookup):
        """Empty the lookup (a baseline's state) until restore()."""
        self._snapshot(lookup)
        self._write(lookup, self._lookups[lookup][0], [])

    def _snapshot(self, lookup):
        if lookup not in self._lookups:
            current = self.client.search("| inputlookup %s" % lookup, app=self.app)
            if current.errors:
                raise AssertionError("cannot read lookup %s: %s" % (lookup, current.errors))
            self._lookups[lookup] = (lookup_columns(current.fields, []), current.rows)

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
