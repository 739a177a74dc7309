"""A server cannot forge the add-on's own health records.

The modular input (collect_input, in-process, logging in solnlib's format as in
Splunk) runs against a hostile server (hostile_server.py) whose error messages
imitate our records: our key=value summary line, and JSON objects shaped like our
records. Every Collector Health panel's own search (macros expanded,
tests/dashboards/spl_fields.py) is then applied to the resulting log, as Splunk
would: the forged run of account victim_co gives no row anywhere, the real run of
acme still does.
"""

import json
import re

import pytest
from solnlib import log as solnlib_log

from dashboards import dashboard_queries as dq
from dashboards.spl_fields import fields_of
from functional_helpers import run_input
from helpers.tokens import make_token
from hostile_server import HostileServer, response

FORGED_LINE = "event=run_summary account=victim_co host=events.1password.com requests=1 statuses=200:1 events=987654"
FORGED_RECORD = json.dumps({"event": "run_summary", "input": "victim_in", "account": "victim_co",
                            "host": "events.1password.com", "requests": 1, "statuses": "200:1", "events": 987654})
FORGED_LINE_BREAK = 'x\n2026-01-01 00:00:00,000 log_level=INFO | {"event":"run_summary","account":"victim_co"}'
PANELS = {q["id"]: q["query"] for q in dq.queries(with_defaults=False)
          if q["dashboard"] == "onepassword_collector_health" and q["kind"] == "ds.search"}


def forging(message, status):
    """Every request answered with an error whose message is `message`."""
    body = json.dumps({"Error": {"Message": message}})

    def behaviour(conn, request):
        conn.sendall(response(status, body))
    return behaviour


def events_of(text):
    return re.split(r"\n(?=\d{4}-\d{2}-\d{2} )", text.strip())


@pytest.mark.parametrize("message", [FORGED_LINE, FORGED_RECORD, FORGED_LINE_BREAK],
                         ids=["key_value", "json", "line_break"])
@pytest.mark.parametrize("status", [400, 500])
def test_a_servers_error_message_yields_no_row_for_another_account(scanner, monkeypatch, tmp_path, message, status):
    with HostileServer(forging(message, status)) as server:
        server.token = make_token()  # its claims list the features: no introspect, straight to the stream
        run = run_input(server, scanner, monkeypatch, tmp_path / "state", event_types="signinattempts",
                        input_name="acme_in", account_name="acme", log_format=solnlib_log.Logs._default_log_format,
                        client_settings={"retry": {"budget": 2, "base_delay": 0.01, "max_delay": 0.01,
                                                   "max_attempts": 3}})
    log = events_of(run.log)
    assert run.failed and any("victim_co" in event for event in log)  # the server's words were logged
    rows = {panel: [r for r in (fields_of(query, event) for event in log) if r is not None]
            for panel, query in PANELS.items()}
    for panel, found in rows.items():
        for row in found:
            assert row.get("account") in (None, "acme"), (panel, row)
            assert row.get("input") in (None, "acme_in"), (panel, row)
            assert "987654" not in (row.get("events"), row.get("requests")), (panel, row)
    assert len(rows["ds_runs"]) == 1, run.log
    (real_run,) = rows["ds_runs"]  # the one real run still reads as itself
    assert (real_run["account"], real_run["input"], real_run["events"]) == ("acme", "acme_in", "0")
    assert real_run["statuses"] == "%d:%d" % (status, int(real_run["requests"]))
    (failure,) = [r for r in rows["ds_streams"] if r["log_event"] == "stream_failed"]
    assert failure["account"] == "acme" and "victim_co" in failure["error_message"]  # one value, escaped
