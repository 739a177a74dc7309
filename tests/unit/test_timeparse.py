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
