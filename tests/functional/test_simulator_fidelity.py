"""The simulator behaves as the Events API reference says (events-api.md
sections 3-10): the functional suites prove only as much as it is faithful."""

import json
import os
import re
import subprocess
import sys
import time

import requests

from functional_helpers import ROOT, rfc3339, run_cli
from simulator import DOCUMENTED_RATE_LIMITS, ENUMS, STREAMS, EventsApiSimulator, RateLimiter, parse_rfc3339

SERVER = os.path.join(ROOT, "tests", "simulator", "server.py")


def _session(token):
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = "Bearer " + token
    return session


def test_reset_cursor_limits_and_request_shapes(make_sim):
    sim = make_sim(seed=41, signinattempts=150, span_seconds=3600)
    api = _session(sim.token)
    url = sim.url + "/api/v2/signinattempts"
    start = rfc3339(sim.anchor - 7200)
    for bad in ({"limit": 0}, {"limit": 1001}, {"limit": "10"}, {"limit": 10, "start_time": "yesterday"},
                {"cursor": "not-a-cursor"}, {"cursor": 12}):
        answer = api.post(url, json=bad)
        assert answer.status_code == 400 and answer.json() == {"Error": {"Message": "Bad Request"}}, bad
    assert api.post(url, data="not json", headers={"Content-Type": "application/json"}).status_code == 400
    assert len(api.post(url, json={"limit": 1000, "start_time": start}).json()["items"]) == 150
    assert len(api.post(url, json={"limit": 1, "start_time": start}).json()["items"]) == 1
    assert len(api.post(url, json={"start_time": start}).json()["items"]) == 100  # default limit
    # start_time defaults to one hour before now (or before end_time): "now" is the server's whole second,
    # somewhere between the moments before and after the request
    before = int(time.time())
    served = [json.dumps(i, separators=(",", ":"), ensure_ascii=False)
              for i in api.post(url, json={"limit": 1000}).json()["items"]]
    after = int(time.time())
    assert any(served == sim.expected("signinattempts", now - 3600) for now in range(before, after + 1))
    assert 0 < len(served) < 150
    end = sim.anchor - 1800
    windowed = api.post(url, json={"limit": 1000, "start_time": start, "end_time": rfc3339(end)}).json()["items"]
    assert 0 < len(windowed) < 150 and all(parse_rfc3339(i["timestamp"]) < end for i in windowed)
    assert api.get(url).status_code == 405
    assert api.post(sim.url + "/api/v2/nosuchstream", json={}).status_code == 404


def test_cursors_are_opaque_continue_in_order_and_repeat_when_nothing_is_new(make_sim):
    sim = make_sim(seed=42, itemusages=250, late_fraction=0.05, span_seconds=3600)
    api = _session(sim.token)
    url = sim.url + "/api/v2/itemusages"
    page = api.post(url, json={"limit": 100, "start_time": rfc3339(sim.anchor - 7200)}).json()
    items = page["items"]
    while page["has_more"]:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", page["cursor"])
        page = api.post(url, json={"cursor": page["cursor"]}).json()
        items += page["items"]
    assert [json.dumps(i, separators=(",", ":"), ensure_ascii=False) for i in items] == sim.items("itemusages")
    # late arrivals: the log has events older than one served before them
    stamps = [i["timestamp"] for i in items]
    assert any(stamps[n] < max(stamps[:n]) for n in range(1, len(stamps)))
    # caught up: has_more false and the same cursor, again and again
    for _ in range(3):
        again = api.post(url, json={"cursor": page["cursor"]}).json()
        assert again == {"cursor": page["cursor"], "has_more": False, "items": []}
    # a new event, even one older than everything served, comes after that cursor
    late = sim.append("itemusages", 1, late_by=5000)
    newer = api.post(url, json={"cursor": page["cursor"]}).json()
    assert [json.dumps(i, separators=(",", ":"), ensure_ascii=False) for i in newer["items"]] == late
    assert newer["cursor"] != page["cursor"]
    # a cursor of another stream, or an expired one, is refused
    assert api.post(sim.url + "/api/v2/auditevents", json={"cursor": page["cursor"]}).status_code == 400
    sim.expire_cursors()
    assert api.post(url, json={"cursor": newer["cursor"]}).status_code == 400


def test_retention_is_120_days(make_sim):
    sim = make_sim(seed=43)
    now = int(time.time())
    sim.append_raw("auditevents", {"uuid": "OLD", "timestamp": rfc3339(now - 121 * 86400)})
    sim.append_raw("auditevents", {"uuid": "KEPT", "timestamp": rfc3339(now - 119 * 86400)})
    answer = _session(sim.token).post(sim.url + "/api/v2/auditevents",
                                      json={"limit": 10, "start_time": "2020-01-01T00:00:00Z"})
    assert answer.status_code == 200
    assert [i["uuid"] for i in answer.json()["items"]] == ["KEPT"]


def test_tokens_features_and_introspect(make_sim):
    sim = make_sim(seed=44, signinattempts=5, auditevents=5, span_seconds=3600)
    url = sim.url + "/api/v2/"
    body = {"limit": 10, "start_time": rfc3339(sim.anchor - 7200)}
    assert requests.post(url + "signinattempts", json=body).status_code == 401
    assert _session("x.y.z").post(url + "signinattempts", json=body).json() == {"Error": {"Message": "Unauthorized"}}
    audit_only = sim.add_token(["auditevents"])
    limited = _session(audit_only)
    assert limited.post(url + "auditevents", json=body).status_code == 200
    assert limited.post(url + "signinattempts", json=body).status_code == 401
    v2 = limited.get(sim.url + "/api/v2/auth/introspect").json()
    assert set(v2) == {"uuid", "issued_at", "features", "account_uuid"} and v2["features"] == ["auditevents"]
    assert v2["account_uuid"] == sim.account_uuid
    v1 = limited.get(sim.url + "/api/auth/introspect").json()
    assert set(v1) == {"UUID", "IssuedAt", "Features"} and v1["UUID"] == v2["uuid"]
    sim.revoke(audit_only)
    assert limited.get(sim.url + "/api/v2/auth/introspect").status_code == 401
    assert _session(sim.token).post(url + "auditevents", json=body).status_code == 200


def test_cli_check_falls_back_to_the_v1_introspect(tmp_path, scanner, make_sim):
    sim = make_sim(seed=45, introspect_v2=False)
    assert _session(sim.token).get(sim.url + "/api/v2/auth/introspect").text == "404 page not found\n"
    run = run_cli(sim, scanner, None, command="check", verbose=False)
    assert run.exit_code == 0, run.log
    info = json.loads(run.raw_output)
    assert info["features"] == list(STREAMS) and info["host"] == sim.url.split("://")[1]


def test_v1_items_lack_the_msp_fields_of_v2(make_sim):
    sim = make_sim(seed=46, signinattempts=20, itemusages=20, auditevents=20, span_seconds=3600)
    api = _session(sim.token)
    body = {"limit": 100, "start_time": rfc3339(sim.anchor - 7200)}
    for stream, user_key in (("signinattempts", "target_user"), ("itemusages", "user"), ("auditevents", None)):
        v2 = api.post(sim.url + "/api/v2/" + stream, json=body).json()["items"]
        v1 = api.post(sim.url + "/api/v1/" + stream, json=body).json()["items"]
        assert [i["uuid"] for i in v1] == [i["uuid"] for i in v2]
        assert all(i["account_uuid"] == sim.account_uuid for i in v2)
        assert not any("account_uuid" in i for i in v1)
        if user_key:
            assert all("user_type" in i[user_key] for i in v2) and not any("user_type" in i[user_key] for i in v1)
        else:
            assert all("actor_type" in i for i in v2) and not any("actor_type" in i for i in v1)


def test_every_documented_enum_value_is_generated_with_realistic_fields(make_sim):
    sim = make_sim(seed=47, signinattempts=300, itemusages=300, auditevents=300)
    for stream, enums in ENUMS.items():
        items = [json.loads(t) for t in sim.items(stream)]
        for field, values in enums.items():
            assert set(values) <= {i.get(field) for i in items}, (stream, field)
        assert len({i["uuid"] for i in items}) == len(items)
    signins = [json.loads(t) for t in sim.items("signinattempts")]
    assert {"u2f_timeout", "u2f_timout"} <= {i["type"] for i in signins}
    assert any("location" not in i for i in signins) and any(i["details"] is None for i in signins)
    assert any(i["details"] and i["details"].get("value") for i in signins if i["category"] == "firewall_failed")
    assert len({i["client"]["ip_address"] for i in signins}) > 20
    assert len({i["target_user"]["email"] for i in signins}) > 20
    assert len({i["location"]["city"] for i in signins if "location" in i}) > 10
    audits = [json.loads(t) for t in sim.items("auditevents")]
    assert any(len(i["timestamp"]) > 28 for i in audits)  # nanoseconds
    assert any("actor_uuid" not in i for i in audits)


def test_same_seed_same_events_other_seed_other_events():
    one = EventsApiSimulator(seed=48, signinattempts=50, anchor=1780000000)
    two = EventsApiSimulator(seed=48, signinattempts=50, anchor=1780000000)
    three = EventsApiSimulator(seed=49, signinattempts=50, anchor=1780000000)
    assert one.items("signinattempts") == two.items("signinattempts")
    assert one.items("signinattempts") != three.items("signinattempts")


def test_documented_rate_limits_answer_429_with_retry_after(make_sim):
    sim = make_sim(seed=50, signinattempts=1, rate_limits=True)
    assert [(c, int(s)) for c, s in sim.rate_limiter.limits] == [(600, 60), (30000, 3600)]
    assert DOCUMENTED_RATE_LIMITS == ((600, 60.0), (30000, 3600.0))
    api = _session(sim.token)
    url = sim.url + "/api/v2/signinattempts"
    statuses = [api.post(url, json={"limit": 1}).status_code for _ in range(601)]
    assert statuses[:600] == [200] * 600
    refused = api.post(url, json={"limit": 1})
    assert statuses[600] == 429 and refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # the hour window, on a clock that moves faster than ours
    clock = [0.0]
    limiter = RateLimiter(DOCUMENTED_RATE_LIMITS, clock=lambda: clock[0])
    sent = 0
    while limiter.check() is None:
        sent += 1
        if sent % 600 == 0:
            clock[0] += 60
    assert sent == 30000
    wait = limiter.check()
    assert 0 < wait <= 3600 - 60 * 49
    clock[0] += wait
    assert limiter.check() is None


def test_simulator_serves_a_large_backlog_quickly(make_sim):
    """Fast enough never to be the bottleneck of the collector or the benchmark."""
    sim = make_sim(seed=51, signinattempts=100000)
    api = _session(sim.token)
    url = sim.url + "/api/v2/signinattempts"
    body = {"limit": 1000, "start_time": rfc3339(sim.anchor - 8 * 86400)}
    started = time.perf_counter()
    while True:
        answer = api.post(url, json=body)
        cursor, has_more = re.search(rb'"cursor":"([^"]+)","has_more":(true|false)', answer.content[:300]).groups()
        if has_more == b"false":
            break
        body = {"cursor": cursor.decode()}
    elapsed = time.perf_counter() - started
    served = sum(r.items for r in sim.requests)
    assert served == 100000
    print("simulator served %d events in %.2fs: %.0f events/s" % (served, elapsed, served / elapsed))
    assert served / elapsed > 30000


def test_command_line_simulator_with_tls_and_a_fault(tmp_path, scanner):
    token_file = tmp_path / "token"
    proc = subprocess.Popen(
        [sys.executable, SERVER, "--port", "0", "--seed", "3", "--signinattempts", "300", "--itemusages", "0",
         "--auditevents", "0", "--tls", "--cert-dir", str(tmp_path / "tls"), "--token-file", str(token_file),
         "--fault", "http_error:stream=signinattempts,after=1,status=503,shape=html"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        banner = [proc.stdout.readline() for _ in range(4)]
        url = re.search(r"listening on (https://127\.0\.0\.1:\d+)", banner[0]).group(1)
        cert = re.search(r"--ca-bundle\): (\S+)", banner[1]).group(1)
        token = banner[3].strip()
        scanner.add_token(token)
        scanner.excluded.add(str(token_file))
        assert token_file.read_text().strip() == token and oct(token_file.stat().st_mode)[-3:] == "600"

        class Remote:  # what run_cli needs of a simulator
            pass

        remote = Remote()
        remote.url, remote.token = url, token
        check = run_cli(remote, scanner, None, command="check", extra=["--ca-bundle", cert])
        assert check.exit_code == 0, check.log
        fetch = run_cli(remote, scanner, tmp_path / "state", start=rfc3339(time.time() - 8 * 86400),
                        event_types="signinattempts", extra=["--ca-bundle", cert])
        assert fetch.exit_code == 0, fetch.log
        assert len(fetch.events) == len(set(fetch.events)) == 300
        assert "event=retry category=server" in fetch.log and "HTTP 503" in fetch.log
    finally:
        proc.terminate()
        proc.wait(10)
        scanner.add("simulator stderr", proc.stderr.read())
