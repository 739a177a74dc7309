"""The simulator as a newcomer's demo uses it: started with a plain Python (standard
library only), it keeps producing new events at a chosen rate, so a second fetch returns
only the new ones; and its data stays out of the example rows the add-on ships, so a demo
does not light up detections by accident."""

import calendar
import csv
import fnmatch
import ipaddress
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time

import pytest
import requests

from functional_helpers import ROOT, rfc3339, run_cli, uuid_of
from conf_reader import read_conf
from simulator import STREAMS, EventsApiSimulator

SERVER = os.path.join(ROOT, "tests", "simulator", "server.py")
SIM_README = os.path.join(ROOT, "tests", "simulator", "README.md")
LOOKUPS = os.path.join(ROOT, "package", "lookups")
TRANSFORMS = os.path.join(ROOT, "package", "default", "transforms.conf")
# what a newcomer has: the system's python3; -S keeps every site-packages folder out,
# so only the standard library can be imported
PLAIN_PYTHON = [shutil.which("python3", path="/usr/bin:/bin") or sys.executable, "-I", "-S"]
WAIT = 15.0  # seconds: the bound of every wait in this file


def _lines(stream):
    """A queue of the lines of a pipe, read by a thread, so every read can be bounded."""
    lines = queue.Queue()

    def pump():
        for line in iter(stream.readline, ""):
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _read_until(lines, pattern, deadline):
    seen = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.05, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match, seen
    raise AssertionError("the simulator never printed %r; it printed:\n%s" % (pattern, "".join(seen)))


@pytest.fixture
def plain_simulator(tmp_path, scanner):
    """Start tests/simulator/server.py under `python3 -I -S` with the given options;
    stopped (and waited for, bounded) at the end of the test."""
    started = []

    def start(*options):
        token_file = tmp_path / "token"
        proc = subprocess.Popen(PLAIN_PYTHON + [SERVER, "--port", "0", "--token-file", str(token_file)] + list(options),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(tmp_path))
        started.append(proc)
        lines = _lines(proc.stdout)
        deadline = time.monotonic() + WAIT
        url = _read_until(lines, r"listening on (http://127\.0\.0\.1:\d+)", deadline)[0].group(1)
        banner = _read_until(lines, r"^(ey\S+)$", deadline)[1]
        token = token_file.read_text().strip()
        scanner.add_token(token)
        scanner.excluded.add(str(token_file))
        return url, token, "".join(banner)

    yield start
    for proc in started:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        scanner.add("simulator stderr", proc.stderr.read())


def _session(token):
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = "Bearer " + token
    return session


def _drain(api, url, body):
    """Follow the cursor to the end: (every item, the last cursor)."""
    items = []
    page = api.post(url, json=body, timeout=WAIT).json()
    items += page["items"]
    while page["has_more"]:
        page = api.post(url, json={"cursor": page["cursor"]}, timeout=WAIT).json()
        items += page["items"]
    return items, page["cursor"]


# -- item 1: new events at a chosen rate -----------------------------------------------
def test_a_plain_python_simulator_with_a_rate_serves_new_events_after_the_cursor(plain_simulator):
    url, token, banner = plain_simulator("--signinattempts", "30", "--itemusages", "30", "--auditevents", "30",
                                         "--rate", "30")
    assert "30 per second" in banner
    api = _session(token)
    first, cursors = {}, {}
    for stream in STREAMS:
        first[stream], cursors[stream] = _drain(api, url + "/api/v2/" + stream,
                                                {"limit": 1000, "start_time": rfc3339(time.time() - 8 * 86400)})
        assert len(first[stream]) >= 30
    caught_up = time.time()
    # the same cursor, a moment later: only events that arrived since
    fresh = {stream: [] for stream in STREAMS}
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and not all(fresh.values()):
        time.sleep(0.2)
        for stream in STREAMS:
            items, cursors[stream] = _drain(api, url + "/api/v2/" + stream, {"cursor": cursors[stream]})
            fresh[stream] += items
    assert all(fresh.values()), "no new events within %ss: %s" % (WAIT, {s: len(v) for s, v in fresh.items()})
    for stream in STREAMS:
        old = {item["uuid"] for item in first[stream]}
        assert not old & {item["uuid"] for item in fresh[stream]}, "an event was served twice"
        stamps = [calendar.timegm(time.strptime(item["timestamp"][:19], "%Y-%m-%dT%H:%M:%S"))
                  for item in fresh[stream]]
        assert min(stamps) >= int(caught_up) - 2, "new events are stamped now, not in the backlog's past"


def test_two_fetches_of_the_demo_the_second_writes_only_new_events(plain_simulator, tmp_path, scanner):
    url, token, _ = plain_simulator("--signinattempts", "200", "--itemusages", "200", "--auditevents", "200",
                                    "--rate", "20")

    class Remote:  # what run_cli needs of a simulator
        pass

    remote = Remote()
    remote.url, remote.token = url, token
    first = run_cli(remote, scanner, tmp_path / "state", limit=1000)
    assert first.exit_code == 0, first.log
    assert len(first.events) >= 600
    deadline = time.monotonic() + WAIT
    second = None
    while time.monotonic() < deadline:
        time.sleep(1.0)
        second = run_cli(remote, scanner, tmp_path / "state", limit=1000)
        assert second.exit_code == 0, second.log
        if second.events:
            break
    assert second is not None and second.events, "the second fetch found nothing new within %ss" % WAIT
    assert len(second.events) < len(first.events)
    assert not {uuid_of(e) for e in first.events} & {uuid_of(e) for e in second.events}


def test_rate_from_python_round_robin_and_stops_with_the_server():
    with pytest.raises(ValueError):
        EventsApiSimulator(rate=-1)
    still = EventsApiSimulator(seed=5, auditevents=3).start()
    try:
        time.sleep(0.5)
        assert len(still.items("auditevents")) == 3, "rate 0 (the default): the backlog only"
    finally:
        still.stop()
    sim = EventsApiSimulator(seed=5, signinattempts=3, itemusages=3, auditevents=3, rate=40).start()
    try:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and sum(len(sim.items(s)) for s in STREAMS) < 9 + 12:
            time.sleep(0.1)
    finally:
        sim.stop()
    added = [len(sim.items(s)) - 3 for s in STREAMS]
    assert sum(added) >= 12 and max(added) - min(added) <= 1, added  # the streams take turns
    time.sleep(0.3)
    assert [len(sim.items(s)) - 3 for s in STREAMS] == added, "stop() ends the production"


def test_help_runs_on_a_plain_python_and_documents_what_the_readme_lists():
    result = subprocess.run(PLAIN_PYTHON + [SERVER, "--help"], capture_output=True, text=True, timeout=WAIT,
                            cwd="/")
    assert result.returncode == 0, result.stderr
    listed = set(re.findall(r"(?m)^\s+(--[a-z-]+)", result.stdout)) | set(re.findall(r", (--[a-z-]+)", result.stdout))
    readme = open(SIM_README, encoding="utf-8").read()
    table = readme.split("### Options", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(--[a-z-]+)", table))
    assert "--rate" in documented and "--rate" in listed
    assert documented - {"--help"} <= listed, "README options --help does not know: %s" % (documented - listed)
    assert listed - {"--help", "--verbose"} <= documented, "options missing from the README: %s" % (
        listed - documented)
    refused = subprocess.run(PLAIN_PYTHON + [SERVER, "--rate", "fast"], capture_output=True, text=True,
                             timeout=WAIT, cwd="/")
    assert refused.returncode == 2 and "--rate" in refused.stderr


# -- item 6: nothing of the demo's data is in a shipped example row ----------------------
def _lookup_definitions():
    return {stanza["filename"]: stanza for stanza in read_conf(TRANSFORMS).values() if "filename" in stanza}


def _rows(filename):
    with open(os.path.join(LOOKUPS, filename), newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _matcher(definition, key_column):
    """How Splunk matches a value against the lookup's key column (transforms.conf:
    match_type CIDR(...) / WILDCARD(...), case_sensitive_match, default exact and
    case-sensitive)."""
    match_type = definition.get("match_type", "")
    case_sensitive = definition.get("case_sensitive_match", "true").lower() not in ("false", "0")
    if "CIDR(%s)" % key_column in match_type:
        def cidr(value, key):
            try:
                return ipaddress.ip_address(value) in ipaddress.ip_network(key, strict=False)
            except ValueError:
                return False
        return cidr
    wildcard = "WILDCARD(%s)" % key_column in match_type

    def compare(value, key):
        if not case_sensitive:
            value, key = value.lower(), key.lower()
        return fnmatch.fnmatchcase(value, key) if wildcard else value == key
    return compare


def _strings(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def _default_data(seed):
    """What the command-line simulator serves by default (1000 events per stream),
    plus new events from its --rate production."""
    sim = EventsApiSimulator(seed=seed, signinattempts=1000, itemusages=1000, auditevents=1000)
    for stream in STREAMS:
        sim.append(stream, 200)
    return [json.loads(text) for stream in STREAMS for text in sim.items(stream)]


@pytest.fixture(scope="module")
def default_items():
    return {seed: _default_data(seed) for seed in (1, 2, 3)}


def test_simulated_values_match_no_example_row_of_any_shipped_list(default_items):
    definitions = _lookup_definitions()
    example_lists = {}
    for filename in sorted(os.listdir(LOOKUPS)):
        rows = _rows(filename)
        examples = [row for row in rows if (row.get("comment") or "").startswith("Example row")]
        if examples:
            key_column = next(iter(rows[0]))
            example_lists[filename] = (key_column, [row[key_column] for row in examples],
                                       _matcher(definitions[filename], key_column))
    # the lists the issue names are among them (a renamed comment must not empty this test)
    assert {"onepassword_trusted_networks.csv", "onepassword_admin_users.csv"} <= set(example_lists)
    for seed, items in default_items.items():
        values = {value for item in items for value in _strings(item)}
        addresses = {v for v in values if re.fullmatch(r"[0-9a-fA-F:.]+", v) and _is_ip(v)}
        assert any(":" in a for a in addresses) and any("." in a for a in addresses)
        for filename, (key_column, keys, matches) in example_lists.items():
            hits = sorted({(value, key) for value in values for key in keys if matches(value, key)})
            assert not hits, "seed %d: %s example row(s) match simulated values: %s" % (seed, filename, hits[:5])


def _is_ip(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def test_every_simulated_client_app_is_in_the_allowed_list(default_items):
    filename = "onepassword_allowed_client_apps.csv"
    matches = _matcher(_lookup_definitions()[filename], "app_name")
    allowed = [row["app_name"] for row in _rows(filename)]
    for seed, items in default_items.items():
        apps = {item["client"]["app_name"] for item in items if isinstance(item.get("client"), dict)}
        assert len(apps) >= 8
        unknown = sorted(app for app in apps if not any(matches(app, key) for key in allowed))
        assert not unknown, "seed %d: the demo would fire Unusual Client App for %s" % (seed, unknown)
