"""The input's Start time field takes exactly what the CLI takes (issue 13, item 4):
YYYY-MM-DD, or RFC 3339 YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM). A regex
cannot know calendars: a date that does not exist passes the page and is refused
when the input is saved, which the help says."""

import pytest

from setup_pages_helpers import first_refusal, input_entity, node_verdicts, regex_validators, ui_accepts

ACCEPTED = [
    "2026-01-31",
    "2026-12-01",
    "2024-02-29",
    "2026-01-31T00:00:00Z",
    "2026-01-31T23:59:59Z",
    "2026-01-31T08:00:00.5Z",
    "2026-01-31T08:00:00.123456789Z",
    "2026-01-31T09:00:00+01:00",
    "2026-01-31T03:00:00-05:00",
    "2026-01-31T05:30:00+05:30",
    "2026-01-31T00:00:00+00:00",
    "2026-01-31T00:00:00-00:00",
    "2026-01-31T23:00:00.250-12:00",
]

# The right shape, but no such day: the page cannot tell (the add-on refuses them on save).
IMPOSSIBLE_DATES = ["2026-02-30", "2026-02-29", "2026-04-31", "2026-02-30T00:00:00Z"]

REFUSED = [
    "2026-1-31",
    "26-01-31",
    "2026/01/31",
    "31.01.2026",
    "2026-13-01",
    "2026-00-10",
    "2026-01-32",
    "2026-01-00",
    "2026-01-31T00:00:00",  # no offset: which time zone?
    "2026-01-31T00:00Z",  # no seconds
    "2026-01-31 00:00:00Z",  # a space for T
    "2026-01-31t00:00:00z",
    "2026-01-31T00:00:00z",
    "2026-01-31T24:00:00Z",
    "2026-01-31T12:60:00Z",
    "2026-01-31T12:00:60Z",
    "2026-01-31T9:00:00Z",
    "2026-01-31T09:00:00+0100",  # the offset needs its colon
    "2026-01-31T09:00:00+01",
    "2026-01-31T09:00:00+24:00",
    "2026-01-31T09:00:00+01:60",
    "2026-01-31T09:00:00.Z",
    "2026-01-31T09:00:00,5Z",
    "2026-01-31Z",
    "2026-01-31T",
    "2026-01-31T09:00:00Z ",
    " 2026-01-31",
    "20260131",
    "1706659200",
    "yesterday",
    "-30d",
]


@pytest.fixture(scope="module")
def start_time():
    return input_entity("start_time")


@pytest.mark.parametrize("value", ACCEPTED + IMPOSSIBLE_DATES)
def test_the_page_accepts_every_shape_the_cli_takes(start_time, value):
    assert ui_accepts(start_time, value), first_refusal(start_time, value)


@pytest.mark.parametrize("value", REFUSED)
def test_the_page_refuses_anything_else_and_shows_both_forms(start_time, value):
    message = first_refusal(start_time, value)
    assert message is not None, "the page accepts %r" % value
    assert "2026-01-31" in message and "T08:00:00Z" in message and "+01:00" in message


def test_the_browser_judges_every_example_as_splunkd_does(start_time):
    values = ACCEPTED + IMPOSSIBLE_DATES + REFUSED
    patterns = [v["pattern"] for v in regex_validators(start_time)]
    assert node_verdicts(patterns, values) == [ui_accepts(start_time, v) for v in values]


def test_the_help_shows_both_forms_and_says_the_date_is_checked_on_save(start_time):
    help_text = start_time["help"]
    for words in ("2026-01-31", "T08:00:00Z", "+01:00", "30 days", "120 days", "2026-02-30", "when you save"):
        assert words in help_text, words
