import pytest

from onepassword_events import timeparse


@pytest.mark.parametrize(
    "text, seconds, fraction",
    [
        ("2026-03-04T15:12:09Z", 1772637129, ""),
        ("2026-03-04T15:12:09.418Z", 1772637129, "418"),
        ("2026-03-04T15:31:02.272291980Z", 1772638262, "272291980"),
        ("2026-03-04T20:42:09.5+05:30", 1772637129, "5"),
        ("2026-03-04T12:12:09-03:00", 1772637129, ""),
        ("2026-03-04t15:12:09z", 1772637129, ""),
        ("2026-03-04 15:12:09+00:00", 1772637129, ""),
    ],
)
def test_parses_rfc3339_with_offsets_and_nanoseconds(text, seconds, fraction):
    assert timeparse.parse(text) == (seconds, fraction)


def test_cached_second_still_reads_each_fraction():
    first = timeparse.parse("2026-01-01T00:00:00.100Z")
    second = timeparse.parse("2026-01-01T00:00:00.999999999Z")
    assert first[0] == second[0]
    assert (first[1], second[1]) == ("100", "999999999")


def test_offset_timestamp_is_not_served_from_the_utc_cache():
    timeparse.parse("2026-01-01T00:00:00Z")
    assert timeparse.parse("2026-01-01T00:00:00+01:00")[0] == timeparse.parse("2026-01-01T00:00:00Z")[0] - 3600


@pytest.mark.parametrize("bad", ["", "yesterday", "2026-13-01T00:00:00Z", "2026-03-04T15:12:09", None, 1772637129,
                                 "2026-03-04T15:12:09.Z"])
def test_rejects_what_is_not_rfc3339(bad):
    with pytest.raises(ValueError):
        timeparse.parse(bad)


def test_splunk_time_keeps_microseconds_without_float_rounding():
    assert timeparse.splunk_time("2026-03-04T15:31:02.272291980Z") == "1772638262.272291"
    assert timeparse.splunk_time("2026-03-04T15:31:02.1Z") == "1772638262.1"
    assert timeparse.splunk_time("2026-03-04T15:31:02Z") == "1772638262"
    assert timeparse.splunk_time("garbage") is None


def test_user_start_time_accepts_a_date_and_explains_errors():
    assert timeparse.parse_user_time("2026-03-04") == timeparse.parse("2026-03-04T00:00:00Z")[0]
    with pytest.raises(ValueError, match="RFC 3339"):
        timeparse.parse_user_time("03/04/2026")


def test_format_round_trips():
    assert timeparse.format_rfc3339(1772637129) == "2026-03-04T15:12:09Z"


@pytest.mark.parametrize("bad", ["2026-03-04T24:00:00Z", "2026-03-04T12:61:00Z", "2026-03-04T12:00:75Z",
                                 "2026-03-04T1a:00:00Z", "2026-03-04T12:00:00.12a4Z"])
def test_the_same_day_fast_path_still_validates(bad):
    timeparse.parse("2026-03-04T00:00:00Z")  # the day is now cached
    with pytest.raises(ValueError):
        timeparse.parse(bad)


def test_every_second_of_a_cached_day_matches_timegm():
    import calendar
    import time

    for hour in range(24):
        for minute in (0, 17, 59):
            text = "2026-03-04T%02d:%02d:59.5Z" % (hour, minute)
            assert timeparse.parse(text) == (calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")), "5")


@pytest.mark.parametrize("bad", ["2026-11-30T12:00:01.\u0661\u0662\u0663Z",  # Arabic-Indic fraction
                                 "2026-11-30T12:00:\uff10\uff11Z",  # fullwidth seconds
                                 "\u0662\u0660\u0662\u0666-11-30T12:00:01Z"])
def test_only_ascii_digits_are_timestamp_digits(bad):
    timeparse.parse("2026-11-30T00:00:00Z")  # the day is cached: the fast path is asked too
    with pytest.raises(ValueError):
        timeparse.parse(bad)
    assert timeparse.splunk_time(bad) is None
    with pytest.raises(ValueError):
        timeparse.parse_user_time(bad)


@pytest.mark.parametrize("bad", [
    "2026-03-04T15:12:09.5",  # no zone
    "2026-03-04T15:12:09+",
    "2026-03-04X15:12:09Z",  # not a date-time separator
    "2026-03-04T15.12:09Z", "2026-03-04T15:12.09Z",
    "2026-03-04T15:12:09..5Z", "2026-03-04T15:12:0912Z", "2026-03-04T12:00:00.a1Z",
    "2026-03-04T12:60:00Z", "2026-03-04T12:00:61Z",
])
def test_a_cached_day_does_not_let_a_malformed_time_through(bad):
    timeparse.parse("2026-03-04T00:00:00Z")  # the day is now cached
    with pytest.raises(ValueError):
        timeparse.parse(bad)


@pytest.mark.parametrize("text, seconds", [
    ("2026-12-31T23:59:59+00:00", 1798761599),  # the last month, hour, minute and second of a year
    ("2026-12-31T23:59:59Z", 1798761599),
    ("2016-12-31T23:59:60Z", 1483228800),  # a leap second: the next second's time
    ("2016-12-31T23:59:60+00:00", 1483228800),
])
def test_the_upper_bounds_of_every_field_are_valid(text, seconds):
    timeparse.parse("2026-12-30T00:00:00Z")  # a day other than the one asked: no fast path
    assert timeparse.parse(text) == (seconds, "")


@pytest.mark.parametrize("bad", ["2026-03-04T12:60:00+00:00", "2026-03-04T12:00:61+00:00", "2026-03-04T24:00:00+00:00",
                                 "2026-00-04T12:00:00+00:00", "2026-02-29T12:00:00+00:00"])
def test_an_out_of_range_field_is_refused_whatever_the_offset(bad):
    with pytest.raises(ValueError):
        timeparse.parse(bad)


def test_the_start_time_errors_tell_the_admin_what_to_type():
    shapes = ("use RFC 3339 like 2026-01-31T00:00:00Z or 2026-01-31T09:00:00+01:00, or a date like 2026-01-31")
    for value, shown in [("03/04/2026", "03/04/2026"), (None, ""), ("  ", "")]:
        with pytest.raises(ValueError) as caught:
            timeparse.parse_user_time(value)
        assert str(caught.value) == f"start time '{shown}' is not valid; {shapes}"
    with pytest.raises(ValueError) as caught:
        timeparse.parse_user_time("2026-02-30")
    assert str(caught.value) == ("start time '2026-02-30T00:00:00Z' is not a real date or time "
                                 "(check the day of the month)")
