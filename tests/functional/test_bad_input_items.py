"""Odd but legal items come out verbatim, byte for byte, with the right event
time; a page that is not valid JSON is retried and never half-written."""

import json
import time
from decimal import Decimal

import pytest

from functional_helpers import (
    check_checkpoints,
    check_delivery,
    expected_splunk_time,
    rfc3339,
    run_cli,
    run_input,
    stream_of,
)

FAST_RETRY = {"retry": {"budget": 30.0, "base_delay": 0.05, "max_delay": 0.5}}


def _ts(epoch, fraction="", zone="Z", sep="T"):
    """An RFC 3339 text for `epoch` written in the zone `zone` ('Z', 'z' or '+05:30')."""
    offset = 0
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        offset = sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    local = time.strftime("%Y-%m-%d" + sep + "%H:%M:%S", time.gmtime(epoch + offset))
    return local + (("." + fraction) if fraction else "") + zone


def odd_items(base):
    """(stream, exact item text) in the order the API serves them."""
    huge = ("Ünïcödé <&> " * 8 + "\\n" + "x" * 900) * 1400  # ~1.5 MB of aux_info
    return [
        # no location, details null, the name needs XML escaping, escaped quotes
        ("signinattempts",
         '{"uuid":"ODDSIGNIN00000000000000001","session_uuid":"ODDSESSION0000000000000001","timestamp":"%s",'
         '"category":"success","type":"credentials_ok","country":"CA","details":null,'
         '"target_user":{"uuid":"ODDUSER0000000000000000001","name":"Ada <Lovelace> & \\"co\\" ]]>",'
         '"email":"ada+<x>@example.com"},"client":{"app_name":"1Password for Mac","app_version":"81080001",'
         '"platform_name":"Mac","platform_version":"14","os_name":"MacOSX","os_version":"14.3",'
         '"ip_address":"198.51.100.7"}}' % _ts(base, "418")),
        # unicode of every kind, JSON escapes kept as escapes, Go's HTML escaping, U+2028
        ("signinattempts",
         '{"uuid":"ODDSIGNIN00000000000000002","session_uuid":"ODDSESSION0000000000000002","timestamp":"%s",'
         '"category":"firewall_failed","type":"country_blocked","country":"JP","details":{"value":"JP"},'
         '"target_user":{"uuid":"ODDUSER0000000000000000002","name":"山田 太郎 🦄 Zoë محمد e\u0301",'
         '"email":"\\u00e9l\\u00e8ve@example.com","note":"\\u003cscript\\u003e \\u0026 \u2028 \\ud83d\\ude00"},'
         '"client":{"app_name":"1Password Browser Extension","ip_address":"2001:db8::7"},'
         '"location":{"country":"JP","region":"東京都","city":"Tōkyō","latitude":35.6762,"longitude":139.6503}}'
         % _ts(base + 1, "123456789")),
        # unknown enum values, unknown fields, numbers Python would re-encode differently
        ("signinattempts",
         '{"uuid":"ODDSIGNIN00000000000000003","session_uuid":"ODDSESSION0000000000000003","timestamp":"%s",'
         '"category":"passkey_failed","type":"passkey_bad","country":"FR","details":{"value":null,"extra":[]},'
         '"risk":{"score":1e3,"weights":[-0.0,1.50,12345678901234567890123],"flags":[true,false,null]},'
         '"location":{"country":"FR","region":"Île-de-France","city":"Paris","latitude":48.856600000000001,'
         '"longitude":2.3522}}' % _ts(base + 2, "5", "+05:30")),
        # whitespace inside the item, lowercase t and z
        ("signinattempts",
         '{ "uuid" : "ODDSIGNIN00000000000000004",\t"timestamp" : "%s" , "category" : "mfa_failed" ,'
         ' "type" : "u2f_timout" }' % _ts(base + 3, "", "z", "t")),
        # an item usage without location, with an unknown action and a negative offset
        ("itemusages",
         '{"uuid":"ODDUSAGE000000000000000001","timestamp":"%s","used_version":0,"vault_uuid":"v",'
         '"item_uuid":"i","action":"teleport","user":{"uuid":"U","name":"Łukasz <Ł> & Co","email":"l@example.com"},'
         '"client":{}}' % _ts(base + 4, "", "-03:00")),
        ("itemusages",
         '{"uuid":"ODDUSAGE000000000000000002","timestamp":"%s","action":"fill","location":null,'
         '"vault_uuid":"v","item_uuid":"i2"}' % _ts(base + 5, "1234567", "+00:00")),
        # a huge aux_info, an unknown action and object type, no actor at all
        ("auditevents",
         '{"uuid":"ODDAUDIT000000000000000001","timestamp":"%s","action":"rewind","object_type":"hologram",'
         '"object_uuid":"O","aux_info":"%s","actor_type":"robot"}' % (_ts(base + 6, "000000001"), huge)),
        ("auditevents",
         '{"uuid":"ODDAUDIT000000000000000002","timestamp":"%s","actor_uuid":"A","action":"join","object_type":"gm",'
         '"aux_details":{"uuid":"X","name":"</data></event><event>","email":"x@example.com"},"aux_info":"R"}'
         % _ts(base + 7, "999999999", "+14:00")),
    ]


@pytest.fixture
def odd_sim(make_sim):
    sim = make_sim(seed=11, span_seconds=86400)
    base = sim.anchor - 3600
    items = odd_items(base)
    for stream, text in items:
        json.loads(text)  # legal JSON, every one
        sim.append_raw(stream, text)
    sim.odd = items
    sim.start_time = rfc3339(sim.anchor - 2 * 86400)
    return sim


def _by_stream(sim, texts):
    grouped = {}
    for text in texts:
        grouped.setdefault(stream_of(sim, text), []).append(text)
    return grouped


def _expected_by_stream(sim):
    grouped = {}
    for stream, text in sim.odd:
        grouped.setdefault(stream, []).append(text)
    return grouped


def check_xml_events(sim, run, source, stanza):
    assert _by_stream(sim, run.events) == _expected_by_stream(sim)
    for event in run.xml_events:
        item = json.loads(event["data"])
        assert event["time"] is not None, event["data"][:200]
        assert Decimal(event["time"]) == expected_splunk_time(item["timestamp"]), (event["time"], item["timestamp"])
        assert {"signinattempts": "1password:insights:signin_attempts",
                "itemusages": "1password:insights:item_usages",
                "auditevents": "1password:insights:audit_events"}[stream_of(sim, event["data"])] == event["sourcetype"]
        assert event["source"] == source and event["stanza"] == stanza


@pytest.mark.parametrize("envelope", ["compact", "spaced", "items_first"])
def test_odd_items_come_out_of_the_cli_byte_for_byte(tmp_path, scanner, make_sim, envelope):
    sim = make_sim(seed=11, span_seconds=86400, envelope=envelope)
    base = sim.anchor - 3600
    items = odd_items(base)
    for stream, text in items:
        sim.append_raw(stream, text)
    run = run_cli(sim, scanner, tmp_path / "state", fmt="jsonl", limit=3, start=rfc3339(sim.anchor - 2 * 86400))
    assert run.exit_code == 0, run.log[-2000:]
    lines = run.raw_output.split(b"\n")
    assert lines.pop() == b""
    for stream in ("signinattempts", "itemusages", "auditevents"):
        want = [text.encode("utf-8") for s, text in items if s == stream]
        got = [line for line in lines if line in want]
        assert got == want
    assert len(lines) == len(items)


def test_odd_items_get_their_exact_event_time_in_the_cli_splunk_stream(tmp_path, scanner, odd_sim):
    run = run_cli(odd_sim, scanner, tmp_path / "state", fmt="splunk-xml", limit=2, start=odd_sim.start_time,
                  extra=["--account-name", "acme", "--input-name", "odd"])
    assert run.exit_code == 0, run.log[-2000:]
    check_xml_events(odd_sim, run, "1password:acme", "onepassword://odd")
    # a name that looks like markup cannot break out of its event
    assert run.raw_output.count(b"<event ") == len(odd_sim.odd)
    assert b"&lt;/data&gt;&lt;/event&gt;&lt;event&gt;" in run.raw_output


def test_odd_items_reach_splunk_verbatim_through_the_input(tmp_path, scanner, monkeypatch, odd_sim):
    run = run_input(odd_sim, scanner, monkeypatch, tmp_path / "state", page_size=2, start=odd_sim.start_time,
                    client_settings=FAST_RETRY, input_name="odd")
    assert not run.failed, run.log[-2000:]
    check_xml_events(odd_sim, run, "1password:acme", "onepassword://odd")
    # the next run finds nothing new and writes nothing
    again = run_input(odd_sim, scanner, monkeypatch, tmp_path / "state", page_size=2, start=odd_sim.start_time,
                      client_settings=FAST_RETRY, input_name="odd")
    assert again.events == [] and not again.failed


NOT_JSON = [
    pytest.param({"kind": "invalid_json", "mode": "cut", "fraction": 0.6}, id="cut-inside-an-item"),
    pytest.param({"kind": "invalid_json", "mode": "broken_item"}, id="item-without-closing-brace"),
    pytest.param({"kind": "invalid_json", "mode": "garbage"}, id="trailing-garbage"),
    pytest.param({"kind": "invalid_json", "mode": "html"}, id="html-instead-of-json"),
    pytest.param({"kind": "truncated", "fraction": 0.7}, id="connection-closed-mid-body"),
]


@pytest.mark.parametrize("path", ["cli", "input"])
@pytest.mark.parametrize("fault", NOT_JSON)
def test_page_that_is_not_valid_json_is_retried_never_half_written(tmp_path, scanner, monkeypatch, make_sim, path,
                                                                   fault):
    sim = make_sim(seed=5, signinattempts=120, itemusages=60, auditevents=60, span_seconds=86400)
    start = rfc3339(sim.anchor - 2 * 86400)
    injected = sim.inject(stream="signinattempts", after=1, times=2, **fault)
    state = tmp_path / "state"
    if path == "cli":
        run = run_cli(sim, scanner, state, fmt="jsonl", limit=50, start=start)
        assert run.exit_code == 0, run.log[-2000:]
    else:
        run = run_input(sim, scanner, monkeypatch, state, page_size=50, start=start, client_settings=FAST_RETRY)
        assert not run.failed, run.log[-2000:]
    assert injected.fired == 2
    assert run.log.count("event=retry category=malformed_response") == 2
    # the broken page was asked for again with the same cursor, and written once, whole, in order
    requests = sim.stream_requests("signinattempts")
    assert [r.body for r in requests[1:4]] == [requests[1].body] * 3
    assert _by_stream(sim, run.events)["signinattempts"] == sim.expected("signinattempts", start)
    check_delivery(sim, run.events, start, max_duplicates=0)
    check_checkpoints(sim, str(state), "cli" if path == "cli" else "fn_input")
