"""onepassword_events.records: a log record is one JSON line, every field capped with its own
marker, who/what first and never cut, the line under Splunk's 10,000-byte event limit."""

import json

import pytest

from onepassword_events.records import MAX_RECORD_BYTES, capped, format_record

HOSTILE = {
    "12000 ascii": "x" * 12000,
    "control": "\x00\x01\x1b[2J\r\n" * 2000,
    "emoji": "😀" * 5000,
    "cjk": "監査" * 3000,
    "quotes": '"}, "user": "mallory", "x": "' * 500,
    "lone surrogate": "\udc80" * 3000,
}


@pytest.mark.parametrize("text", list(HOSTILE.values()), ids=list(HOSTILE))
def test_whatever_the_values_the_line_fits_and_keeps_user_and_action(text):
    line = format_record({"user": "alice", "action": "edit", "record": text, "old": text, "new": text,
                          "reason": text}, {"user": 256, "action": 16, "old": 3600, "new": 3600})
    assert "\n" not in line and len(line.encode("utf-8")) <= MAX_RECORD_BYTES
    record = json.loads(line)
    assert list(record)[:2] == ["user", "action"] and (record["user"], record["action"]) == ("alice", "edit")
    for field in ("record", "old", "new", "reason"):
        assert record[field].endswith("characters in all]"), field  # its own marker


def test_a_hostile_user_name_is_capped_but_still_first():
    line = format_record({"user": "u" * 50000, "action": "create", "findings": "f" * 50000}, {"user": 256})
    record = json.loads(line)
    assert list(record) == ["user", "action", "findings"] and record["action"] == "create"
    assert record["user"].startswith("u" * 100) and "50000 characters in all" in record["user"]
    assert len(line.encode("utf-8")) <= MAX_RECORD_BYTES


def test_values_under_their_cap_are_kept_whole_and_at_the_cap_too():
    assert json.loads(format_record({"a": "x" * 100}, {"a": 102}))["a"] == "x" * 100  # 100 + 2 quotes
    assert json.loads(format_record({"a": "x" * 101}, {"a": 102}))["a"].endswith("101 characters in all]")
    record = json.loads(format_record({"event": "run", "n": 7, "none": None, "list": ["a", "b"]}))
    assert record == {"event": "run", "n": 7, "none": None, "list": ["a", "b"]}


def test_capped_counts_bytes_of_the_json_string():
    for text in HOSTILE.values():
        cut = capped(text, 500)
        assert len(json.dumps(cut, ensure_ascii=False).encode("utf-8")) <= 500
