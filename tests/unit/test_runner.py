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


@pytest.mark.parametrize("interval, bound", [
    ("60", 360),        # the input's interval plus five minutes
    ("0", 300),
    ("-1", 600),        # not an interval: the default 300 s
    ("*/5 * * * *", 600),
    ("86400", 86700),   # one day is the longest interval taken
    ("86400.5", 600),
])
def test_a_modular_input_run_may_take_its_interval_plus_five_minutes(interval, bound):
    assert runner.run_bound({"onepassword://in": {"interval": interval}}) == bound
    assert runner.run_bound({}) == 600


def test_without_a_page_size_a_page_holds_1000_events():
    assert runner.parse_page_size(None) == 1000 and runner.parse_page_size("") == 1000


def test_tls_verification_off_says_why_it_matters(caplog):
    logger = logging.getLogger("test_runner")
    with caplog.at_level(logging.WARNING, logger="test_runner"):
        runner.build_client({"token": make_token(), "verify_tls": "false"}, logger=logger).close()
        runner.build_client({"token": make_token(), "verify_tls": ""}, logger=logger).close()  # on by default
    assert [r.getMessage() for r in caplog.records] == [
        "event=tls_verification_off host=events.1password.com reason=\"the server's certificate is not checked: "
        "anyone on the path can read the token\""]


def test_a_ca_bundle_that_exists_is_taken_and_a_blank_one_is_no_bundle(tmp_path):
    bundle = tmp_path / "corp-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    runner.build_client({"token": make_token(), "ca_bundle": " %s " % bundle}).close()
    runner.build_client({"token": make_token(), "ca_bundle": "   "}).close()


def _introspect_api(rsps, features, token):
    import json

    import responses

    def answer(request):
        if request.headers.get("Authorization") != "Bearer " + token:
            return 401, {}, json.dumps({"Error": {"Message": "Unauthorized"}})
        return 200, {}, json.dumps({"uuid": "TOKENUUID", "issued_at": "2026-01-01T00:00:00Z", "features": features,
                                    "account_uuid": "ACCOUNTUUID"})

    rsps.add_callback(responses.GET, "https://events.1password.eu/api/v2/auth/introspect", callback=answer)


def test_checking_an_account_names_its_host_and_uses_the_token_without_its_spaces():
    import responses

    token = make_token("events.1password.eu")
    with responses.RequestsMock() as rsps:
        _introspect_api(rsps, ["auditevents"], token)
        info = runner.check_account({"token": "  %s\n" % token, "region": "auto"})
    assert info["host"] == "events.1password.eu" and info["features"] == ["auditevents"]
    assert info["account_uuid"] == "ACCOUNTUUID"


def test_checking_an_account_whose_token_grants_no_event_type_says_so():
    import responses

    token = make_token("events.1password.eu")
    with responses.RequestsMock() as rsps:
        _introspect_api(rsps, ["reports"], token)
        with pytest.raises(FeatureNotGrantedError) as refused:
            runner.check_account({"token": token})
    assert str(refused.value) == ("the token is valid but grants none of signinattempts, itemusages, auditevents; "
                                  "issue an Events Reporting token with at least one event type")


def test_a_collector_reads_only_the_event_types_the_token_grants():
    import io

    import responses

    from onepassword_events.checkpoint import MemoryCheckpointStore
    from onepassword_events.sinks import JsonLinesSink
    from helpers.fake_api import FakeEventsApi

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        api = FakeEventsApi(rsps)
        api.token = make_token(features=("auditevents",))
        client = runner.build_client({"token": api.token, "region": "auto"}, sleep=lambda s: None)
        collector, refused = runner.build_collector(client, MemoryCheckpointStore(), JsonLinesSink(io.StringIO()),
                                                    "in", "acme", "signinattempts,auditevents", NOW, 100)
        collector.run()
    assert refused == ["signinattempts"]
    assert {stream for stream, _ in api.requests} == {"auditevents"}


def test_the_settings_refusals_name_the_setting_and_its_limit():
    for call, message in [
        (lambda: runner.parse_page_size("0"), "page size '0' must be a whole number from 1 to 1000"),
        (lambda: runner.parse_start_time("2020-01-01", now=NOW),
         "start time 2020-01-01 is more than 120 days ago; the Events API keeps only 120 days of events"),
        (lambda: runner.parse_start_time("2030-01-01", now=NOW), "start time 2030-01-01 is in the future"),
        (lambda: runner.build_client({}), "the account has no API token"),
    ]:
        with pytest.raises(ConfigurationError) as refused:
            call()
        assert str(refused.value) == message


def test_the_accounts_region_and_custom_url_choose_the_host():
    client = runner.build_client({"token": make_token("events.1password.eu"), "region": "custom",
                                  "custom_url": "https://gw.example:8443"})
    assert client.host == "gw.example:8443"
    client.close()
    with pytest.raises(ConfigurationError, match="this token belongs to events.1password.ca, not events.1password.eu"):
        runner.build_client({"token": make_token("events.1password.ca"), "region": "eu"})


def test_a_missing_ca_bundle_and_a_token_granting_nothing_are_refused_in_full_words(tmp_path):
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(ConfigurationError) as no_bundle:
        runner.build_client({"token": make_token(), "ca_bundle": missing})
    assert str(no_bundle.value) == f"the CA bundle file {missing} does not exist or is not readable"
    with pytest.raises(FeatureNotGrantedError) as nothing_granted:
        runner.choose_streams("", ["reports"])
    assert str(nothing_granted.value) == ("the token grants none of signinattempts, itemusages, auditevents; "
                                          "issue a token with at least one")
