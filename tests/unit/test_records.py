"""The collector's log records as the admin and the dashboards read them: one JSON object per line,
each field in its place, each capped on its own at the edge it promises, the line under 9,000 bytes."""

import json
import logging
import time

import pytest

from onepassword_events.collector import StreamRun
from onepassword_events.errors import AuthError
from onepassword_events.records import capped, error_fields, format_record, log_record, status_counts_text, \
    stream_summary_fields
from onepassword_events.streams import STREAMS

LINE_LIMIT = 9000  # Splunk's TRUNCATE (10,000 bytes) less room for the logger's prefix


def _logged(caplog, event, **fields):
    logger = logging.getLogger("test_records")
    with caplog.at_level(logging.INFO, logger="test_records"):
        log_record(logger, logging.ERROR, event, **fields)
    (record,) = [r for r in caplog.records if r.name == "test_records"]
    return record.getMessage()


def _json_size(value):
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


def test_an_error_record_names_its_category_label_type_and_message(caplog):
    line = _logged(caplog, "stream_failed", input="onepassword://acme_in", account="acme", stream="auditevents",
                   **error_fields(AuthError("the token was refused (HTTP 401)", status=401)))
    assert json.loads(line) == {"event": "stream_failed", "input": "onepassword://acme_in", "account": "acme",
                                "stream": "auditevents", "category": "authentication",
                                "label": "Authentication Error", "error_type": "AuthError",
                                "message": "the token was refused (HTTP 401)"}
    assert line.startswith('{"event":"stream_failed",')


def test_an_error_of_no_category_of_ours_is_internal(caplog):
    line = _logged(caplog, "input_failed", **error_fields(KeyError("token")))
    assert json.loads(line) == {"event": "input_failed", "category": "internal", "label": "internal",
                                "error_type": "KeyError", "message": "'token'"}


@pytest.mark.parametrize("field, room", [("event", 64), ("message", 2048), ("traceback", 4096), ("other", 1024)])
def test_each_field_of_a_collector_record_keeps_its_room_whole_and_no_more(caplog, field, room):
    at_the_edge = "x" * (room - 2)  # its JSON string: the text and two quotes
    fields = {"event": "input_failed", field: at_the_edge} if field != "event" else {"event": at_the_edge}
    assert json.loads(_logged(caplog, **fields))[field] == at_the_edge
    caplog.clear()
    fields[field] = at_the_edge + "x"
    value = json.loads(_logged(caplog, **fields))[field]
    assert value.endswith(f"…[cut: {room - 1} characters in all]") and _json_size(value) <= room


def test_non_ascii_text_is_written_as_itself_and_counted_in_utf8_bytes(caplog):
    line = _logged(caplog, "input_failed", message="Zoë 鍵 " * 1000)
    assert "Zoë 鍵" in line
    message = json.loads(line)["message"]
    assert 2048 - 4 <= _json_size(message) <= 2048  # cut by bytes, not by \\u escapes (a character is 1 to 3 bytes)


@pytest.mark.parametrize("cap", [33, 100, 101, 500, 601])
def test_a_capped_text_fills_its_room_exactly(cap):
    text = "abcdefghij" * 60
    cut = capped(text, cap)
    assert _json_size(cut) == cap and cut.endswith("…[cut: 600 characters in all]")
    assert text.startswith(cut[: -len("…[cut: 600 characters in all]")])


def test_a_line_at_the_limit_is_kept_whole_and_one_byte_more_is_cut():
    fields = {"user": "alice", "action": "edit", "note": ""}
    overhead = len(format_record(fields, {"note": 20000}).encode("utf-8"))
    fields["note"] = "n" * (LINE_LIMIT - overhead)
    assert json.loads(format_record(fields, {"note": 20000}))["note"] == fields["note"]
    fields["note"] += "n"
    line = format_record(fields, {"note": 20000})
    assert len(line.encode("utf-8")) <= LINE_LIMIT and json.loads(line)["note"].endswith("characters in all]")


def test_the_third_field_is_cut_to_fit_and_the_first_two_never():
    line = format_record({"user": "u" * 5000, "action": "edit", "note": "n" * 5000},
                         {"user": 8000, "note": 8000})
    record = json.loads(line)
    assert record["user"] == "u" * 5000 and record["action"] == "edit"
    assert record["note"].endswith("5000 characters in all]") and len(line.encode("utf-8")) <= LINE_LIMIT


def test_a_field_is_cut_down_to_64_bytes_and_no_further():
    note = "n" * 1000
    user_room = LINE_LIMIT - len(format_record({"user": "", "action": "a", "note": capped(note, 64)}).encode())
    line = format_record({"user": "u" * user_room, "action": "a", "note": note}, {"user": 9000})
    assert _json_size(json.loads(line)["note"]) == 64 and len(line.encode("utf-8")) == LINE_LIMIT
    with pytest.raises(ValueError, match="^a record's fixed fields alone are longer than 9000 bytes$"):
        format_record({"user": "u" * (user_room + 1), "action": "a", "note": note}, {"user": 9000})


def test_lists_and_objects_keep_their_shape_up_to_their_room():
    items = ["ab"] * 10  # ["ab","ab",...]: 51 bytes
    assert json.loads(format_record({"e": "x", "list": items}, {"list": 51}))["list"] == items
    assert isinstance(json.loads(format_record({"e": "x", "list": items}, {"list": 50}))["list"], str)
    mapping = {"a": "b", 1: "é"}  # {"a":"b","1":"é"}: 18 bytes
    assert json.loads(format_record({"e": "x", "map": mapping}, {"map": 18}))["map"] == {"a": "b", "1": "é"}
    assert isinstance(json.loads(format_record({"e": "x", "map": mapping}, {"map": 17}))["map"], str)


def test_a_stream_summary_says_what_the_run_did():
    run = StreamRun(STREAMS["auditevents"], "in:auditevents", {"newest_second": int(time.time()) - 90})
    run.status, run.events, run.pages, run.duplicates_skipped = "caught_up", 1200, 2, 3
    summary = stream_summary_fields(run)
    lag = summary.pop("lag_s")
    assert summary == {"stream": "auditevents", "status": "caught_up", "events": 1200, "pages": 2,
                       "duplicates_skipped": 3, "newest_event_time": run.newest_second}
    assert 90 <= lag <= 120


def test_status_counts_read_as_code_colon_count_in_code_order():
    assert status_counts_text({429: 1, 200: 5, 503: 2}) == "200:5,429:1,503:2"
