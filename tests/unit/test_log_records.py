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


# -- the bounds, on both sides -------------------------------------------------------------------
import logging  # noqa: E402

from onepassword_events.errors import AuthError, StopRequested  # noqa: E402
from onepassword_events.records import error_fields, log_record  # noqa: E402


def json_bytes(value):
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


def test_a_line_of_9000_bytes_is_kept_whole_and_one_byte_more_is_cut_to_9000():
    overhead = len('{"user":"u","action":"a","text":""}')
    whole = format_record({"user": "u", "action": "a", "text": "x" * (9000 - overhead)}, {"text": 20000})
    assert len(whole) == 9000 and json.loads(whole)["text"] == "x" * (9000 - overhead)
    cut = format_record({"user": "u", "action": "a", "text": "x" * (9001 - overhead)}, {"text": 20000})
    assert len(cut.encode("utf-8")) == 9000 and json.loads(cut)["text"].endswith("…[cut: %d characters in all]" % (9001 - overhead))


def test_a_field_without_its_own_cap_keeps_1024_bytes_of_json():
    assert json.loads(format_record({"a": "x" * 1022}))["a"] == "x" * 1022
    value = json.loads(format_record({"a": "x" * 1023}))["a"]
    assert value.endswith("[cut: 1023 characters in all]") and json_bytes(value) == 1024


def test_a_value_is_cut_to_the_longest_beginning_that_fits_with_its_marker():
    for text in ("x" * 300, "é" * 300, "監" * 300, '"\\' * 150):
        assert capped(text, json_bytes(text)) == text
        for max_bytes in range(len('"…[cut: 300 characters in all]"'.encode()), json_bytes(text), 7):
            value = capped(text, max_bytes)
            kept = len(value) - len("…[cut: 300 characters in all]")
            assert value == text[:kept] + "…[cut: 300 characters in all]", (text[:2], max_bytes)
            assert json_bytes(value) <= max_bytes < json_bytes(text[:kept + 1] + "…[cut: 300 characters in all]")


def test_non_ascii_text_stays_itself_in_the_line():
    line = format_record({"user": "監査", "action": "é"})
    assert '"監査"' in line and '"é"' in line


def test_a_list_or_object_that_fits_its_cap_stays_structured_and_a_larger_one_becomes_capped_text():
    items = ["abc"] * 10  # ["abc",...] is 61 bytes of JSON
    assert json.loads(format_record({"a": items}, {"a": 61}))["a"] == items
    assert json.loads(format_record({"a": items}, {"a": 60}))["a"].endswith("[cut: 61 characters in all]")
    obj = {"k": "v" * 50, "n": 1}  # 64 bytes of JSON
    assert json.loads(format_record({"a": obj}, {"a": 64}))["a"] == obj
    assert json.loads(format_record({"a": obj}, {"a": 63}))["a"].endswith("[cut: 64 characters in all]")


def test_the_fields_after_who_and_what_are_cut_to_fit_but_never_below_64_bytes():
    overhead = len('{"user":"u","action":"a","third":,"n":5}')
    record = {"user": "u", "action": "a", "third": "x" * 5000, "n": 5}
    line = format_record(record, {"third": 20000}, max_bytes=overhead + 64)
    assert json_bytes(json.loads(line)["third"]) == 64 and json.loads(line)["n"] == 5
    with pytest.raises(ValueError) as caught:
        format_record(record, {"third": 20000}, max_bytes=overhead + 63)
    assert str(caught.value) == "a record's fixed fields alone are longer than %d bytes" % (overhead + 63)


def test_a_collector_record_gives_its_error_words_their_room(caplog):
    logger = logging.getLogger("test_log_records")
    with caplog.at_level(logging.INFO, logger="test_log_records"):
        log_record(logger, logging.WARNING, "e" * 100, message="m" * 3000, traceback="t" * 5000, other="o" * 2000)
    (entry,) = caplog.records
    record = json.loads(entry.getMessage())
    assert list(record) == ["event", "message", "traceback", "other"] and entry.levelno == logging.WARNING
    sizes = {key: json_bytes(value) for key, value in record.items()}
    assert sizes == {"event": 64, "message": 2048, "traceback": 4096, "other": 1024}


def test_an_error_is_recorded_by_its_category_label_type_and_message():
    assert error_fields(AuthError("the token is invalid", 401, "API message: 'x'")) == {
        "category": "authentication", "label": "Authentication Error", "error_type": "AuthError",
        "message": "the token is invalid (API message: 'x')"}
    assert error_fields(KeyError("state")) == {"category": "internal", "label": "internal", "error_type": "KeyError",
                                               "message": "'state'"}
    assert error_fields(StopRequested("asked to stop"))["label"] == "internal"


def test_a_streams_summary_says_what_it_wrote_and_how_far_behind_it_is():
    import time

    from onepassword_events.collector import StreamRun
    from onepassword_events.records import stream_summary_fields
    from onepassword_events.streams import STREAMS

    newest = int(time.time()) - 30
    run = StreamRun(STREAMS["auditevents"], "in.auditevents", {"cursor": "c", "newest_second": newest})
    run.events, run.pages, run.duplicates_skipped = 1500, 2, 3
    run.stop("caught_up")
    fields = stream_summary_fields(run)
    assert 30 <= fields.pop("lag_s") <= 32
    assert fields == {"stream": "auditevents", "status": "caught_up", "events": 1500, "pages": 2,
                      "duplicates_skipped": 3, "newest_event_time": newest}
    assert stream_summary_fields(StreamRun(STREAMS["itemusages"], "in.itemusages", None))["lag_s"] is None


def test_status_counts_are_listed_by_status_and_say_nothing_else():
    from onepassword_events.records import status_counts_text

    assert status_counts_text({429: 1, 200: 5, 503: 2}) == "200:5,429:1,503:2"
    assert status_counts_text({}) == ""
