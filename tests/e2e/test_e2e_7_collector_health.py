"""7. The Collector Health dashboard shows the input's runs (its own searches, over the
input's real log in _internal)."""

import pytest

from . import dashboard_runner

STREAMS = {"Sign-in attempts", "Item usages", "Audit events"}


def _search(splunk, ds_id):
    entry = next(e for e in dashboard_runner.queries()
                 if e["dashboard"] == "onepassword_collector_health" and e["id"] == ds_id)
    result = splunk.search(entry["spl"], earliest=entry["earliest"], latest=entry["latest"])
    assert result.errors == [], result.errors
    return result.rows


def _number(value):
    return float(value[0] if isinstance(value, list) else value)


@pytest.fixture(scope="module")
def health(ingested):
    return ingested


def test_runs_per_account_show_the_input(splunk, health, names):
    rows = [r for r in _search(splunk, "ds_per_account") if r.get("input") == names.input]
    assert len(rows) == 1, rows
    row = rows[0]
    assert row.get("account") == names.account
    assert row.get("api_host") == "127.0.0.1:8443"
    assert _number(row["runs"]) >= 2            # the run after the restart, and an idle one
    assert _number(row["ok"]) >= 1
    assert _number(row["401"]) == 0


def test_each_stream_shows_its_last_run(splunk, health, names):
    rows = [r for r in _search(splunk, "ds_streams") if r.get("input") == names.input]
    assert {r.get("stream") for r in rows} == STREAMS, rows
    for row in rows:
        assert row.get("last_status") == "caught_up", row
        assert _number(row["runs"]) >= 1, row
        assert row.get("newest_event"), row
        assert _number(row["events_in_range"]) > 0, row
