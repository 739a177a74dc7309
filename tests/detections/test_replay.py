"""samples/scenarios/replay.py: relative times like Splunk's (UTC), absolute RFC 3339
timestamps, stable unique UUIDs, placeholders, and the outputs the dockerized suite and the
simulator use (API items, HEC payloads, input log files, fixtures, dispatch parameters)."""

import calendar
import json
import os
import re
import subprocess
import sys

import pytest

import detections_lib as lib
import replay

NOW = calendar.timegm((2026, 11, 25, 12, 34, 56)) + 0.25  # a Wednesday


@pytest.mark.parametrize("spec,expected", [
    ("now", (2026, 11, 25, 12, 34, 56.25)),
    ("-15m", (2026, 11, 25, 12, 19, 56.25)),
    ("-5m@m", (2026, 11, 25, 12, 29, 0)),
    ("-1h@h", (2026, 11, 25, 11, 0, 0)),
    ("-2h@h+10m", (2026, 11, 25, 10, 10, 0)),
    ("-10m@m-30m", (2026, 11, 25, 11, 54, 0)),
    ("-30d@d", (2026, 10, 26, 0, 0, 0)),
    ("-14d-12h", (2026, 11, 11, 0, 34, 56.25)),
    ("@w0", (2026, 11, 22, 0, 0, 0)),
    ("@w1", (2026, 11, 23, 0, 0, 0)),
    ("-12mon@mon", (2025, 11, 1, 0, 0, 0)),
    ("@mon", (2026, 11, 1, 0, 0, 0)),
    ("-1q@q", (2026, 7, 1, 0, 0, 0)),
    ("@q", (2026, 10, 1, 0, 0, 0)),
    ("+1d", (2026, 11, 26, 12, 34, 56.25)),
])
def test_relative_time_follows_splunk(spec, expected):
    *date, seconds = expected
    assert replay.relative_time(NOW, spec) == calendar.timegm(tuple(date) + (0,)) + seconds


def test_relative_time_rejects_garbage():
    for spec in ("-5x", "yesterday", "-5m@"):
        with pytest.raises(ValueError):
            replay.relative_time(NOW, spec)


def test_format_rfc3339():
    assert replay.format_rfc3339(calendar.timegm((2026, 3, 4, 15, 12, 9)) + 0.418) == "2026-03-04T15:12:09.418Z"
    assert replay.format_rfc3339(calendar.timegm((2026, 3, 4, 15, 12, 9)) + 0.9999) == "2026-03-04T15:12:10.000Z"


def test_materialize_gives_absolute_times_and_stable_unique_uuids():
    run = replay.materialize("brute_force_ip", "attack", now=NOW)
    assert len(run.events) == 12 and run.now == NOW
    first = run.events[0]
    assert first["time"] == replay.relative_time(NOW, "-15m")
    assert first["item"]["timestamp"] == replay.format_rfc3339(first["time"])
    assert list(first["item"])[:3] == ["uuid", "timestamp", "session_uuid"]
    assert [e["time"] for e in run.events] == sorted(e["time"] for e in run.events)
    assert run.events[1]["time"] - run.events[0]["time"] == 15
    again = replay.materialize("brute_force_ip", "attack", now=NOW + 3600)
    assert [e["item"]["uuid"] for e in again.events] == [e["item"]["uuid"] for e in run.events], "UUIDs do not depend on now"
    other = replay.materialize("brute_force_ip", "attack", now=NOW, run_id="second")
    assert not {e["item"]["uuid"] for e in other.events} & {e["item"]["uuid"] for e in run.events}
    assert all(re.fullmatch(r"[A-Z2-7]{26}", e["item"]["uuid"]) for e in run.events)


def test_placeholders_and_sources():
    run = replay.materialize("item_access_surge", "attack", now=NOW)
    current = [e for e in run.events if e["time"] >= replay.relative_time(NOW, "-2h@h")]
    assert len({e["item"]["item_uuid"] for e in current}) == 60
    assert all(len(e["item"]["item_uuid"]) == 26 for e in current)
    assert {e["source"] for e in run.events} == {"1password:scn_item_access_surge_attack"}
    audit = replay.materialize("vault_export", "attack", now=NOW).events[0]["item"]
    assert audit["session"]["login_time"] == replay.format_rfc3339(replay.relative_time(NOW, "-3h"))
    silent = replay.materialize("collector_stream_silent", "attack", now=NOW)
    assert {e["source"] for e in silent.events} == {"1password:scn_stream_silent_attack"}


def test_outputs_for_the_suite_and_the_simulator():
    run = replay.materialize("session_multiple_ips", "attack", now=NOW)
    items = run.api_items()
    assert set(items) == {"signinattempts", "itemusages", "auditevents"}
    assert len(items["signinattempts"]) == 1 and len(items["auditevents"]) == 1
    hec = run.hec_events("scn")
    assert [p["sourcetype"] for p in hec] == ["1password:insights:signin_attempts", "1password:insights:audit_events"]
    assert all(p["index"] == "scn" and json.loads(p["event"])["uuid"] for p in hec)
    assert float(hec[0]["time"]) == pytest.approx(run.events[0]["time"], abs=0.001)
    assert run.dispatch == {"saved_search": "1Password - Session Used From Multiple IPs - Rule",
                            "dispatch.now": int(NOW), "expect": "fire", "entity": {"session_id": run.events[0]["item"]["session_uuid"]}}

    class FakeSimulator:
        def __init__(self):
            self.added = []

        def append_raw(self, stream, text):
            self.added.append((stream, text))

    fake = FakeSimulator()
    replay.load_into_simulator(fake, run)
    assert [s for s, _ in fake.added] == ["signinattempts", "auditevents"]


def test_fixtures_and_macro_overrides_travel_with_the_variant():
    run = replay.materialize("suspicious_admin_signin", "attack", now=NOW)
    assert run.lookups["onepassword_admin_users"][0]["user"] == "grace@example.com"
    assert run.macros == {"onepassword_business_hours": "true()"}


def test_log_files_have_solnlib_format_and_match_the_rule():
    run = replay.materialize("collector_api_errors", "attack", now=NOW)
    files = run.log_files()
    assert list(files) == ["ta_1password_events_scn_errors_attack.log"]
    text = files["ta_1password_events_scn_errors_attack.log"]
    lines = [line for line in text.splitlines() if re.match(r"^\d{4}-\d\d-\d\d ", line)]
    assert len(lines) == 7
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} log_level=(INFO|ERROR) pid=\d+ tid=\S+ file=\S+ \| ", lines[0])
    records = [json.loads(line.split(" | ", 1)[1]) for line in lines]  # one JSON record after the prefix
    errors = [r for r in records if r["event"] == "stream_failed"]
    assert len(errors) == 2 and all(r["label"] == "Authentication Error" for r in errors)
    assert {r["input"] for r in records} == {"scn_errors_attack"}
    macro = lib.macros()["onepassword_input_logs"]["definition"]
    pattern = re.search(r'source="\*([^"*]+)\*([^"]+)"', macro)
    source = [e for e in run.events if e["type"] == "log"][0]["source"]
    assert source.endswith(pattern.group(2)) and pattern.group(1) in source


def test_cli_lists_and_shows():
    script = os.path.join(lib.SCENARIOS, "replay.py")
    listing = subprocess.run([sys.executable, script, "list"], capture_output=True, text=True, check=True).stdout
    assert "brute_force_ip" in listing and "silent" in listing
    shown = subprocess.run([sys.executable, script, "show", "vault_export", "attack", "--now", str(NOW), "--format", "hec"],
                           capture_output=True, text=True, check=True).stdout
    assert json.loads(shown.splitlines()[0])["sourcetype"] == "1password:insights:audit_events"
    api = json.loads(subprocess.run([sys.executable, script, "show", "vault_export", "attack", "--now", str(NOW)],
                                    capture_output=True, text=True, check=True).stdout)
    assert api["dispatch"]["dispatch.now"] == int(NOW) and api["items"]["auditevents"]
