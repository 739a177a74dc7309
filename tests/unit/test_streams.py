"""Which event types an input or the CLI asks for, and where each is read from and lands."""

import pytest

from onepassword_events.streams import STREAMS, parse_stream_names


def test_each_stream_is_read_from_its_documented_v2_endpoint_and_lands_under_1passwords_sourcetype():
    # endpoints: the Events API reference (v2, section 4); sourcetypes: those of 1Password's own Splunk app,
    # which existing searches use (README, first section)
    assert {name: (s.name, s.path, s.sourcetype) for name, s in STREAMS.items()} == {
        "signinattempts": ("signinattempts", "/api/v2/signinattempts", "1password:insights:signin_attempts"),
        "itemusages": ("itemusages", "/api/v2/itemusages", "1password:insights:item_usages"),
        "auditevents": ("auditevents", "/api/v2/auditevents", "1password:insights:audit_events"),
    }


@pytest.mark.parametrize("value, names", [
    (None, ()),
    ("", ()),
    (" , |", ()),
    ("auditevents", ("auditevents",)),
    ("auditevents,signinattempts", ("signinattempts", "auditevents")),  # always in one order
    ("itemusages|auditevents | signinattempts", ("signinattempts", "itemusages", "auditevents")),
    (" itemusages , itemusages ", ("itemusages",)),
    (["auditevents", " itemusages "], ("itemusages", "auditevents")),
])
def test_event_types_are_read_from_a_setting_or_a_list(value, names):
    assert parse_stream_names(value) == names


def test_an_unknown_event_type_is_named_with_the_ones_accepted():
    with pytest.raises(ValueError) as caught:
        parse_stream_names("signinattempts,audit,Itemusages")
    assert str(caught.value) == ("unknown event type(s) audit, Itemusages; "
                                 "use any of signinattempts, itemusages, auditevents")
