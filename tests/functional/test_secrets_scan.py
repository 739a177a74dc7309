"""The token never shows up in a log line, an error, a checkpoint or an event.

Every functional test already scans all its outputs (conftest.py: the autouse
`scanner`); the tests here make the API itself try to leak it: error bodies
and HTML pages that quote the token back, verbose logging, the token on
stdin, a token that is not a JWT.
"""

import subprocess
import sys

import pytest

from functional_helpers import CLI, SecretScanner, check_delivery, cli_env, rfc3339, run_cli, run_input

FAST_RETRY = {"retry": {"budget": 30.0, "base_delay": 0.05, "max_delay": 0.5}}


def test_the_scan_finds_any_part_of_a_token():
    """A control: the scan used by every functional test does catch leaks."""
    from simulator import make_token

    token = make_token("127.0.0.1", secret="control")
    assert token.split(".")[1].startswith("eyJqdGkiOi")
    header, claims, signature = token.split(".")
    for leaked in (token, "Bearer " + token, "sig=" + signature, claims, token[:len(header) + 30],
                   signature[-32:]):
        scan = SecretScanner()
        scan.add_token(token)
        scan.add("log", "2026-01-01 level=ERROR message=%r" % leaked)
        assert scan.hits(record=False), leaked
    scan = SecretScanner()
    scan.add_token(token)
    scan.add("log", "Authorization: Bearer *** " + header + "." + claims[:12] + " " + signature[:15])
    assert scan.hits(record=False) == []


def _run(path, sim, scanner, monkeypatch, tmp_path, start):
    if path == "cli":
        run = run_cli(sim, scanner, tmp_path / "state", limit=100, start=start)
        assert run.exit_code == 1
    else:
        run = run_input(sim, scanner, monkeypatch, tmp_path / "state", page_size=100, start=start,
                        client_settings=FAST_RETRY)
        assert run.failed
    return run


@pytest.mark.parametrize("path", ["cli", "input"])
def test_json_error_bodies_that_quote_the_token_are_masked(tmp_path, scanner, monkeypatch, make_sim, path):
    sim = make_sim(seed=31, signinattempts=150, itemusages=150, auditevents=150, span_seconds=86400)
    start = rfc3339(sim.anchor - 2 * 86400)
    # a 500 {"status","message"} quoting the token (retried: it lands in the retry warning) ...
    sim.inject("http_error", stream="signinattempts", after=1, status=500, shape="status",
               message="bad request from", echo_token=True)
    # ... and a final 401 {"Error":{"Message"}} quoting it
    sim.inject("http_error", stream="auditevents", after=1, status=401, shape="error",
               message="invalid token", echo_token=True)
    run = _run(path, sim, scanner, monkeypatch, tmp_path, start)
    # the API's messages are still shown, with the token masked
    assert "API message: 'bad request from (token ***)'" in run.log
    assert "(HTTP 401)" in run.log and "API message: 'invalid token (token ***)'" in run.log
    assert all(sim.token not in event for event in run.events)


@pytest.mark.parametrize("path", ["cli", "input"])
def test_html_error_pages_that_quote_the_token_are_masked(tmp_path, scanner, monkeypatch, make_sim, path):
    sim = make_sim(seed=31, signinattempts=150, itemusages=150, auditevents=150, span_seconds=86400)
    start = rfc3339(sim.anchor - 2 * 86400)
    sim.inject("http_error", stream="itemusages", after=1, status=502, shape="html", message="Bad Gateway",
               echo_token=True)
    sim.inject("http_error", stream="auditevents", after=1, status=401, shape="text", message="no such token",
               echo_token=True)
    run = _run(path, sim, scanner, monkeypatch, tmp_path, start)
    scanner.add_token(sim.token)
    hits = scanner.hits(record=False)
    scanner.outputs, scanner.directories = [], []  # judged here, not again at teardown
    assert not hits, hits
    # an HTML or plain-text body is not an Events API answer: none of it is shown, only the status
    assert "(HTTP 502)" in run.log and "(HTTP 401)" in run.log
    assert "Bad Gateway" not in run.log and "no such token" not in run.log


def test_verbose_cli_with_the_token_on_stdin_leaks_nothing(tmp_path, scanner, make_sim):
    sim = make_sim(seed=32, signinattempts=300, itemusages=10, auditevents=10, span_seconds=86400)
    start = rfc3339(sim.anchor - 2 * 86400)
    sim.inject("rate_limit", stream="signinattempts", after=1, retry_after=1)
    run = run_cli(sim, scanner, tmp_path / "state", fmt="splunk-xml", limit=100, start=start, stdin_token=True)
    assert run.exit_code == 0, run.log
    assert '"event":"stream_summary"' in run.log and "event=retry" in run.log  # verbose logs were written
    check_delivery(sim, run.events, start, 0)
    assert sim.token not in run.log and sim.token.encode() not in run.raw_output


def test_check_command_leaks_nothing(tmp_path, scanner, make_sim):
    sim = make_sim(seed=33)
    ok = run_cli(sim, scanner, None, command="check")
    assert ok.exit_code == 0 and b'"features"' in ok.raw_output
    sim.inject("http_error", stream="introspect", status=401, message="token", echo_token=True)
    refused = run_cli(sim, scanner, None, command="check")
    assert refused.exit_code == 1 and "[authentication]" in refused.log and "***" in refused.log


def test_token_that_is_not_a_jwt_is_never_echoed(tmp_path, scanner, make_sim):
    sim = make_sim(seed=34, signinattempts=5)
    secret = "opaque-Secret-Value-0123456789abcdef"
    scanner.add_token(secret)
    sim.inject("http_error", status=401, message="unknown token", echo_token=True)
    run = run_cli(sim, scanner, tmp_path / "state", start=rfc3339(sim.anchor - 86400), token=secret,
                  event_types="signinattempts")
    assert run.exit_code == 1 and "[authentication]" in run.log
    assert "unknown token (token ***)" in run.log
    assert secret not in run.log


def test_unreachable_api_error_names_the_host_not_the_token(tmp_path, scanner, make_sim):
    sim = make_sim(seed=35)
    url = sim.url
    sim.stop()  # nothing listens there any more
    result = subprocess.run(
        [sys.executable, CLI, "fetch", "--base-url", url, "--state-dir", str(tmp_path / "state"),
         "--retry-budget", "1", "--event-types", "signinattempts", "-v"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(sim.token), timeout=60)
    stderr = result.stderr.decode()
    scanner.add("stderr", stderr)
    scanner.add("stdout", result.stdout)
    assert result.returncode == 1
    assert "[connection]" in stderr and url.split("://")[1] in stderr
    assert sim.token not in stderr
