"""The event types an admin names and the Events API endpoints they are read from."""

import io
import json

import pytest
import responses

from onepassword_events import runner
from onepassword_events.checkpoint import MemoryCheckpointStore
from onepassword_events.client import EventsApiClient
from onepassword_events.sinks import JsonLinesSink
from onepassword_events.streams import parse_stream_names
from helpers.tokens import make_token

# the v2 endpoints as the API reference names them (POST, JSON cursor body)
DOCUMENTED_ENDPOINTS = {
    "signinattempts": "https://events.1password.com/api/v2/signinattempts",
    "itemusages": "https://events.1password.com/api/v2/itemusages",
    "auditevents": "https://events.1password.com/api/v2/auditevents",
}


def test_each_event_type_is_read_from_its_documented_endpoint():
    out = io.StringIO()
    with responses.RequestsMock() as rsps:
        for name, url in DOCUMENTED_ENDPOINTS.items():
            rsps.add(responses.POST, url, json={"cursor": "c-" + name, "has_more": False,
                                                "items": [{"uuid": name, "timestamp": "2026-03-04T15:12:09Z"}]})
        client = EventsApiClient("https://events.1password.com", make_token(), sleep=lambda s: None)
        collector, refused = runner.build_collector(
            client, MemoryCheckpointStore(), JsonLinesSink(out), "in", "acme", "", 1772637129, 100,
            features=list(DOCUMENTED_ENDPOINTS))
        collector.run()
    assert refused == []
    assert sorted(json.loads(line)["uuid"] for line in out.getvalue().splitlines()) == sorted(DOCUMENTED_ENDPOINTS)


@pytest.mark.parametrize("value, names", [
    (None, ()),
    ("", ()),
    (" , ", ()),
    ("auditevents", ("auditevents",)),
    ("auditevents|signinattempts", ("signinattempts", "auditevents")),   # the UI's multi-select separator
    (" itemusages , auditevents,itemusages ", ("itemusages", "auditevents")),
    (["auditevents", " itemusages "], ("itemusages", "auditevents")),
    (("signinattempts", ""), ("signinattempts",)),
])
def test_event_types_are_read_in_any_spelling_in_one_order_without_repeats(value, names):
    assert parse_stream_names(value) == names


def test_unknown_event_types_are_refused_naming_them_and_the_accepted_ones():
    with pytest.raises(ValueError) as refused:
        parse_stream_names("signinattempts|signins, audit")
    assert str(refused.value) == ("unknown event type(s) signins, audit; "
                                  "use any of signinattempts, itemusages, auditevents")
