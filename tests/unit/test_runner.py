"""The settings an admin types (page size, start time, event types, the input's interval) turned into a
client and a collector: each limit holds on both sides, and a refusal says what to fix."""

import logging

import pytest

from onepassword_events import runner
from onepassword_events.collector import RETENTION_SECONDS
from onepassword_events.errors import ConfigurationError, FeatureNotGrantedError
from helpers.tokens import make_token

NOW = 1_800_000_000


@pytest.mark.parametrize("value, size", [("", 1000), (None, 1000), ("1", 1), (" 1000 ", 1000), (250, 250)])
def test_a_page_size_from_1_to_1000_is_taken(value, size):
    assert runner.parse_page_size(value) == size


@pytest.mark.parametrize("value", ["0", "1001", "-5", "ten", "2.5"])
def test_a_page_size_outside_1_to_1000_is_refused_naming_it(value):
    with pytest.raises(ConfigurationError, match="page size '%s' must be a whole number from 1 to 1000" % value):
        runner.parse_page_size(value)


def test_an_empty_start_time_means_30_days_back():
    assert runner.parse_start_time("", now=NOW) == NOW - 30 * 86400


def test_a_start_time_at_the_edges_of_the_retention_window():
    """An off-by-one at either edge would refuse a valid start or accept one the API no longer has."""
    from onepassword_events import timeparse

    oldest = timeparse.format_rfc3339(NOW - RETENTION_SECONDS)
    assert runner.parse_start_time(oldest, now=NOW) == NOW - RETENTION_SECONDS
    too_old = timeparse.format_rfc3339(NOW - RETENTION_SECONDS - 1)
    with pytest.raises(ConfigurationError, match="more than 120 days ago"):
        runner.parse_start_time(too_old, now=NOW)
    assert runner.parse_start_time(too_old, now=NOW, strict=False) == NOW - RETENTION_SECONDS - 1
    assert runner.parse_start_time(timeparse.format_rfc3339(NOW + 300), now=NOW) == NOW + 300
    with pytest.raises(ConfigurationError, match="in the future"):
        runner.parse_start_time(timeparse.format_rfc3339(NOW + 301), now=NOW)


def test_a_start_time_that_is_no_time_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="RFC 3339"):
        runner.parse_start_time("yesterday", now=NOW)


@pytest.mark.parametrize("intervals, bound", [
    (["60"], 60 + runner.RUN_MARGIN_SECONDS),
    (["60", "3600"], 3600 + runner.RUN_MARGIN_SECONDS),          # the longest interval of the stanzas
    (["0 * * * *"], runner.DEFAULT_INTERVAL_SECONDS + runner.RUN_MARGIN_SECONDS),   # a cron schedule
    (["86401"], runner.DEFAULT_INTERVAL_SECONDS + runner.RUN_MARGIN_SECONDS),
    (["86400"], 86400 + runner.RUN_MARGIN_SECONDS),
    ([], runner.DEFAULT_INTERVAL_SECONDS + runner.RUN_MARGIN_SECONDS),
])
def test_a_run_may_last_its_longest_interval_plus_the_margin(intervals, bound):
    inputs = {"onepassword://in%d" % n: {"interval": value} for n, value in enumerate(intervals)}
    assert runner.run_bound(inputs) == bound


def test_the_streams_are_those_asked_for_that_the_token_grants():
    streams, refused = runner.choose_streams("auditevents,signinattempts", ["signinattempts", "itemusages"])
    assert [s.name for s in streams] == ["signinattempts"] and refused == ["auditevents"]
    streams, refused = runner.choose_streams("", ["auditevents", "itemusages"])
    assert [s.name for s in streams] == ["itemusages", "auditevents"] and refused == []
    streams, refused = runner.choose_streams("itemusages", None)  # features unknown: the request is trusted
    assert [s.name for s in streams] == ["itemusages"] and refused == []


def test_a_token_that_grants_no_stream_or_an_unknown_type_is_refused():
    with pytest.raises(FeatureNotGrantedError, match="grants none of"):
        runner.choose_streams("", ["something_else"])
    with pytest.raises(ConfigurationError, match="unknown event type"):
        runner.choose_streams("signinattempts,logins", None)


def test_an_account_without_a_token_or_with_a_missing_ca_bundle_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="no API token"):
        runner.build_client({"token": "  "})
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(ConfigurationError, match="CA bundle file %s does not exist" % missing):
        runner.build_client({"token": make_token(), "ca_bundle": missing})


def test_tls_verification_off_is_warned_about_once_without_the_token(caplog):
    token = make_token()
    logger = logging.getLogger("test_runner")
    with caplog.at_level(logging.WARNING, logger="test_runner"):
        runner.build_client({"token": token, "verify_tls": "0", "ca_bundle": "/nowhere.pem"}, logger=logger).close()
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "tls_verification_off" in warnings[0] and token not in warnings[0]
