"""tests/e2e/checks.py: the comparisons of ingested events with the simulator's items, and
the CIM expectations read from the XML requirement samples."""

import json
import os
import re
from decimal import Decimal

import pytest

from e2e import checks
from e2e.settings import ROOT
from onepassword_events import timeparse
from onepassword_events.streams import STREAMS
from simulator import EventsApiSimulator


def test_rfc3339_epoch_keeps_every_digit_and_offset():
    assert checks.rfc3339_epoch("1970-01-01T00:00:01Z") == Decimal(1)
    assert checks.rfc3339_epoch("2026-03-04T15:31:02.272291980Z") == Decimal("1772638262.272291980")
    assert checks.rfc3339_epoch("2026-03-04T21:01:02.5+05:30") == Decimal("1772638262.5")
    assert checks.rfc3339_epoch("2026-03-04T10:31:02-05:00") == Decimal("1772638262")
    for bad in ("2026-03-04", "2026-03-04T15:31:02", "yesterday", ""):
        with pytest.raises(ValueError):
            checks.rfc3339_epoch(bad)


def test_sourcetypes_are_the_add_ons():
    assert checks.SOURCETYPES == {name: stream.sourcetype for name, stream in STREAMS.items()}


def _item(uuid, timestamp):
    return json.dumps({"uuid": uuid, "timestamp": timestamp}, separators=(",", ":"))


def _event(raw, stream, time_text, source="1password:acme"):
    return {"_raw": raw, "sourcetype": checks.SOURCETYPES[stream], "source": source, "e2e_time": time_text}


def test_a_perfect_ingest_reports_nothing():
    served = {"signinattempts": [_item("A", "2026-03-04T15:12:09.418Z")],
              "auditevents": [_item("B", "2026-03-04T15:31:02.272291980Z")]}
    events = [_event(served["signinattempts"][0], "signinattempts", "1772637129.418000"),
              _event(served["auditevents"][0], "auditevents", "1772638262.272291")]
    report = checks.IngestReport(served, events, source="1password:acme")
    assert report.lost() == {} and report.unexpected == [] and not report.duplicates
    assert report.wrong_time == report.wrong_sourcetype == report.wrong_source == []


def test_losses_duplicates_and_strangers_are_counted_per_stream():
    served = {"itemusages": [_item("I%d" % i, "2026-03-04T15:00:0%dZ" % i) for i in range(4)]}
    first, second, third, _ = served["itemusages"]
    events = [_event(first, "itemusages", "1772636400.000000")] * 3 + [
        _event(second, "itemusages", "1772636401.000000"), _event(third, "itemusages", "1772636402.000000"),
        _event(_item("X", "2026-03-04T15:00:09Z"), "itemusages", "1772636409.000000")]
    report = checks.IngestReport(served, events)
    assert report.lost() == {"itemusages": 1}
    assert report.duplicates == {"itemusages": 2}
    assert len(report.unexpected) == 1 and '"X"' in report.unexpected[0]
    assert report.too_many_duplicates(2) == {} and report.too_many_duplicates(1) == {"itemusages": 2}
    assert "lost={'itemusages': 1}" in report.summary()


def test_time_tolerance_is_one_microsecond():
    raw = _item("T", "2026-03-04T15:31:02.272291980Z")
    served = {"auditevents": [raw]}
    for got, ok in (("1772638262.272291", True), ("1772638262.272292", True), ("1772638262.272290", False),
                    ("1772638262.272", False), ("1772638263.272291", False)):
        report = checks.IngestReport(served, [_event(raw, "auditevents", got)])
        assert (report.wrong_time == []) is ok, got


def test_wrong_sourcetype_and_source_are_reported():
    raw = _item("S", "2026-03-04T15:12:09.418Z")
    event = _event(raw, "signinattempts", "1772637129.418000", source="1password:other")
    event["sourcetype"] = "1password:insights:audit_events"
    report = checks.IngestReport({"signinattempts": [raw]}, [event], source="1password:acme")
    assert report.wrong_sourcetype and report.wrong_source


def test_the_add_ons_event_time_meets_the_tolerance_for_every_simulated_item():
    """What the input writes in <time> (timeparse.splunk_time), read back at Splunk's
    microsecond precision, is within TIME_TOLERANCE of every timestamp shape the API uses."""
    with EventsApiSimulator(seed=3, signinattempts=300, itemusages=300, auditevents=300) as sim:
        served = {name: sim.items(name) for name in STREAMS}
    events = []
    for stream, texts in served.items():
        for text in texts:
            stored = Decimal(timeparse.splunk_time(json.loads(text)["timestamp"])).quantize(Decimal("0.000001"))
            events.append(_event(text, stream, str(stored)))
    report = checks.IngestReport(served, events)
    assert report.wrong_time == [], report.wrong_time[:3]
    assert report.lost() == {} and sum(len(t) for t in served.values()) == 900


# -- CIM samples -------------------------------------------------------------------------------
def test_dataset_of():
    assert checks.dataset_of("Authentication") == ("Authentication", "Authentication")
    assert checks.dataset_of("Authentication:Privileged_Authentication") == ("Authentication",
                                                                               "Privileged_Authentication")
    assert checks.dataset_of("Change") == ("Change", "All_Changes")
    assert checks.dataset_of("Change:Account_Management") == ("Change", "Account_Management")
    assert checks.dataset_of("Data_Access") == ("Data_Access", "Data_Access")
    with pytest.raises(ValueError):
        checks.dataset_of("Web")


def test_every_cim_sample_event_is_read():
    events = checks.cim_sample_events()
    by_sample = {}
    for event in events:
        by_sample[event.sample] = by_sample.get(event.sample, 0) + 1
    for sample, count in by_sample.items():
        with open(os.path.join(ROOT, "samples", sample), encoding="utf-8") as handle:
            text = handle.read()
        assert count == len(re.findall(r"<models>\s*<model>", text)), sample
    assert len(events) >= 50 and len({e.id for e in events}) == len(events)
    assert {m for e in events for m, _ in e.models} == {"Authentication", "Change", "Data_Access"}
    first = next(e for e in events if e.sample == "1password_signin_attempts.xml")
    assert first.source == "1password:pytest" and first.sourcetype == "1password:insights:signin_attempts"
    assert first.fields["action"] in ("success", "failure") and first.raw.startswith("{")
    assert {e.input_type for e in events} == {"modinput", "scripted_input"}


def test_hec_payload_carries_the_item_time_and_metadata():
    event = next(e for e in checks.cim_sample_events() if e.input_type == "modinput")
    payload = event.hec_payload("idx", "h")
    assert payload["event"] == event.raw and payload["index"] == "idx" and payload["host"] == "h"
    assert payload["sourcetype"] == event.sourcetype and payload["source"] == event.source
    assert abs(Decimal(payload["time"]) - checks.item_epoch(event.raw)) <= checks.TIME_TOLERANCE


def test_field_values_follow_dataset_prefixes():
    row = {"Authentication.user": "ada", "All_Changes.Account_Management.src_user": ["x", "y"],
           "action": "success", "Authentication.user_id": "U1"}
    assert checks.field_values(row, "user") == ["ada"]
    assert checks.field_values(row, "src_user") == ["x", "y"]
    assert checks.field_values(row, "action") == ["success"]
    assert checks.field_mismatches({"user": "ada", "src_user": "y"}, [row]) == {}
    assert checks.field_mismatches({"user": "bob"}, [row, {"Authentication.user": "carl"}]) == {
        "user": ("bob", ["ada", "carl"])}
    # a model field must come as the model's field, not only as the event's own
    assert checks.field_mismatches({"action": "success"}, [row], {"action"}) == {"action": ("success", [])}
    assert checks.field_mismatches({"user": "ada"}, [row], {"user"}) == {}


def test_model_fields_include_the_parents():
    auth = checks.model_fields("Authentication", "Privileged_Authentication")
    assert {"action", "user", "src", "app"} <= auth
    assert "src_user" in checks.model_fields("Change", "Account_Management")
    assert "src_user" not in checks.model_fields("Change", "All_Changes")
    assert "object_id" in checks.model_fields("Data_Access", "Data_Access")
    with pytest.raises(KeyError):
        checks.model_fields("Change", "Nope")


def test_every_cim_sample_field_is_checkable():
    """Each expected value either belongs to a field of the event's datasets, or is one of the
    add-on's own fields (checked as the event's field): none is silently ignored."""
    for event in checks.cim_sample_events():
        defined = set()
        for model, dataset in event.models:
            defined |= checks.model_fields(model, dataset)
        assert event.fields and set(event.fields) & defined, event.id
