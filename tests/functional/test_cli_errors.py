"""What the troubleshooting CLI says when something is wrong: one line, the right
category, advice that matches the real cause, the README's exit codes (1 for the
API or a run, 2 for usage or configuration), and no hanging.

Each test provokes one real cause on this machine (a port nobody listens on, a
name that cannot resolve, a plain-http server behind https://, a refused SOCKS
proxy, a closed stdout, ...) and runs the CLI as a subprocess, bounded in time.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from functional_helpers import CLI, ROOT, rfc3339, run_cli
from helpers.tokens import make_token


def free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(args, token=None, timeout=60, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE):
    env = {k: v for k, v in os.environ.items() if k != "OP_EVENTS_TOKEN"}
    env.update(OP_EVENTS_TOKEN=token or make_token(), PYTHONDONTWRITEBYTECODE="1")
    started = time.monotonic()
    result = subprocess.run([sys.executable, CLI] + args, env=env, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                            timeout=timeout, cwd=ROOT)
    result.seconds = time.monotonic() - started
    result.err = result.stderr.decode()
    result.lines = result.err.strip().splitlines()
    return result


def error_lines(result):
    return [line for line in result.lines if line.startswith("error:")]


def test_an_api_host_nobody_listens_on_ends_the_whole_run_after_a_short_stated_retry():
    result = cli(["fetch", "--base-url", "http://127.0.0.1:%d" % free_port()])
    assert result.returncode == 1 and result.seconds < 15, result.seconds
    (line,) = error_lines(result)  # one line for the three streams, not one retry loop each
    assert "[connection]" in line and "signinattempts, itemusages, auditevents" in line
    assert "connection refused" in line and "gave up after 3 attempts" in line


def test_a_name_that_does_not_resolve_says_dns():
    result = cli(["check", "--base-url", "https://events.no-such-host.invalid"])
    assert result.returncode == 1 and result.seconds < 30
    (line,) = error_lines(result)
    assert "[connection]" in line and "DNS lookup failed" in line


def test_https_to_a_plain_http_server_says_so_not_check_the_ca_bundle(make_sim):
    sim = make_sim(seed=3, signinattempts=5)
    result = cli(["check", "--base-url", sim.url.replace("http://", "https://")])
    (line,) = error_lines(result)
    assert result.returncode == 1 and "[tls]" in line and "did not answer in TLS" in line
    assert "CA bundle" not in line


def test_a_refused_socks_proxy_is_a_proxy_error():
    port = free_port()
    result = cli(["check", "--region", "com", "--proxy", "socks5h://127.0.0.1:%d" % port])
    assert result.returncode == 1 and result.seconds < 15
    (line,) = error_lines(result)
    assert "[proxy]" in line and "through the proxy 127.0.0.1:%d" % port in line and "connection refused" in line


@pytest.mark.parametrize("args, words", [
    (["fetch", "--region", "com", "--proxy", "ftp://proxy.example.com:21"], "the proxy URL must start with one of"),
    (["fetch", "--region", "com", "--start-time", "2026-02-30T00:00:00Z"], "is not a real date"),
    (["fetch", "--region", "com", "--start-time", "2026-02-28T10:00:00+0100"], "use RFC 3339"),
    (["fetch", "--region", "com", "--state-dir", "/proc/nope/state"], "the state directory /proc/nope/state cannot be "
                                                                      "used"),
    (["fetch", "--region", "com", "--limit", "5000"], "from 1 to 1000"),
])
def test_configuration_mistakes_exit_2_with_one_line_naming_the_setting(args, words):
    result = cli(args)
    assert result.returncode == 2 and result.stdout == b""
    assert len(result.lines) == 1 and result.lines[0].startswith("error: [configuration]") and words in result.lines[0]


def test_an_event_type_the_token_does_not_grant_is_a_permission_error_with_advice(make_sim, scanner, tmp_path):
    sim = make_sim(seed=5, signinattempts=20, itemusages=20)
    token = sim.add_token(["signinattempts"])
    start = rfc3339(sim.anchor - 7 * 86400)
    run = run_cli(sim, scanner, tmp_path / "state", token=token, event_types="signinattempts,itemusages",
                  start=start, verbose=False)
    # the granted stream is fetched whole; only the other one fails
    assert run.exit_code == 1 and sorted(run.events) == sorted(sim.expected("signinattempts", start))
    (line,) = [line for line in run.log.splitlines() if line.startswith("error:")]
    assert line.startswith("error: [permission] itemusages:") and "issue an Events Reporting token" in line


def test_a_closed_stdout_ends_the_run_quietly_with_the_checkpoint_behind_what_was_written(make_sim, tmp_path):
    sim = make_sim(seed=7, signinattempts=5000)
    env = {k: v for k, v in os.environ.items() if k != "OP_EVENTS_TOKEN"}
    env.update(OP_EVENTS_TOKEN=sim.token)
    command = [sys.executable, CLI, "fetch", "--base-url", sim.url, "--state-dir", str(tmp_path),
               "--start-time", rfc3339(sim.anchor - 2 * 86400), "--limit", "100"]
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=ROOT)
    first = process.stdout.readline()  # `| head -1`
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0 and first
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err
    rerun = cli(["fetch", "--base-url", sim.url, "--state-dir", str(tmp_path), "--limit", "100"], token=sim.token)
    assert rerun.returncode == 0 and len(rerun.stdout.splitlines()) > 0  # the rest follows in the next run


def test_tls_verification_off_warns_once_in_our_words_not_urllib3s(make_sim, tmp_path):
    sim = make_sim(seed=9, signinattempts=30, tls=True, cert_dir=str(tmp_path / "certs"))
    start = rfc3339(sim.anchor - 7 * 86400)
    result = cli(["fetch", "--base-url", sim.url, "--no-verify-tls", "--start-time", start,
                  "--event-types", "signinattempts"], token=sim.token)
    expected = sim.expected("signinattempts", start)
    assert result.returncode == 0 and expected and len(result.stdout.splitlines()) == len(expected)
    assert "InsecureRequestWarning" not in result.err and "urllib3" not in result.err
    assert sum("tls_verification_off" in line for line in result.lines) == 1


@pytest.mark.parametrize("region", ["foo", "us", "auto", "custom"])
def test_a_region_that_is_not_one_of_the_four_is_refused_naming_only_the_real_choices(region):
    result = cli(["check", "--region", region])
    assert result.returncode == 2 and result.stdout == b""
    (line,) = [line for line in result.lines if "--region" in line and "error" in line]
    choices = line.split("is not a region", 1)[1]
    assert "choose com, ent, ca or eu" in choices and "auto" not in choices and "custom" not in choices


def test_a_region_by_short_name_or_by_host_reaches_that_host():
    # no network here: the DNS or connection failure names the host the CLI chose
    for region, host in (("EU", "events.1password.eu"), ("events.ent.1password.com", "events.ent.1password.com")):
        result = cli(["check", "--region", region, "--proxy", "socks5h://127.0.0.1:%d" % free_port(),
                      "--retry-budget", "1"], token=make_token(host))
        assert result.returncode == 1 and host in result.err


def test_a_base_url_without_scheme_is_a_usage_error_not_a_tls_error(make_sim):
    sim = make_sim(seed=11, signinattempts=5)
    bare = sim.url.replace("http://", "")
    result = cli(["check", "--base-url", bare], token=sim.token)
    assert result.returncode == 2 and result.stdout == b""
    assert "has no scheme" in result.err and "http://" + bare in result.err and "[tls]" not in result.err


def test_advice_names_the_cli_options_not_the_splunk_pages(make_sim):
    sim = make_sim(seed=13, signinattempts=5)
    messages = [
        cli(["check", "--base-url", sim.url], token=make_token()).err,  # 401
        cli(["check", "--region", "com", "--proxy", "socks5h://127.0.0.1:%d" % free_port()]).err,
        cli(["fetch", "--base-url", "http://127.0.0.1:%d" % free_port()]).err,
    ]
    assert "OP_EVENTS_TOKEN" in messages[0] and "--proxy" in messages[1] and "--proxy" in messages[2]
    for text in messages:
        assert "Proxy tab" not in text and "update the account" not in text and "custom URL" not in text


def test_check_without_tls_verification_warns_once_as_fetch_does(make_sim, tmp_path):
    sim = make_sim(seed=15, signinattempts=5, tls=True, cert_dir=str(tmp_path / "certs"))
    result = cli(["check", "--base-url", sim.url, "--no-verify-tls"], token=sim.token)
    assert result.returncode == 0 and json.loads(result.stdout)["features"]
    assert sum("tls_verification_off" in line for line in result.lines) == 1 and len(result.lines) == 1
    assert "InsecureRequestWarning" not in result.err
    verified = cli(["check", "--base-url", sim.url, "--ca-bundle", sim.cert_file], token=sim.token)
    assert verified.returncode == 0 and verified.err == ""


def test_ctrl_c_during_a_fetch_ends_with_one_line_exit_130_and_the_checkpoint_behind_what_was_written(
        make_sim, tmp_path):
    sim = make_sim(seed=17, signinattempts=5000)
    start = rfc3339(sim.anchor - 2 * 86400)
    env = {k: v for k, v in os.environ.items() if k != "OP_EVENTS_TOKEN"}
    env.update(OP_EVENTS_TOKEN=sim.token)
    command = [sys.executable, CLI, "fetch", "--base-url", sim.url, "--state-dir", str(tmp_path),
               "--start-time", start, "--limit", "100", "--event-types", "signinattempts"]
    # unbuffered: communicate() reads the pipe itself and would miss what a buffered readline kept
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=ROOT, bufsize=0)
    first = process.stdout.readline()  # the run is under way (and stdout full: it waits for a reader)
    process.send_signal(signal.SIGINT)
    rest, err = process.communicate(timeout=60)
    err = err.decode()
    written = (first + rest).decode().splitlines()
    assert process.returncode == 130 and "Traceback" not in err and "KeyboardInterrupt" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith("interrupted: wrote %s events" % format(len(written), ","))
    expected = sim.expected("signinattempts", start)
    assert 0 < len(written) < len(expected)
    rerun = cli(["fetch", "--base-url", sim.url, "--state-dir", str(tmp_path), "--limit", "100",
                 "--event-types", "signinattempts"], token=sim.token)
    assert rerun.returncode == 0
    # nothing lost, nothing twice: the checkpoint was saved for exactly the pages written
    assert written + rerun.stdout.decode().splitlines() == expected


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_an_unexpected_error_is_one_line_and_with_v_also_its_traceback(make_sim, tmp_path, verbose):
    # a full disk under stdout (/dev/full): an OSError no category covers
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    sim = make_sim(seed=21, signinattempts=5)
    with open("/dev/full", "wb") as full:
        result = cli(["fetch", "--base-url", sim.url, "--event-types", "signinattempts",
                      "--start-time", rfc3339(sim.anchor - 86400)] + (["-v"] if verbose else []),
                     token=sim.token, stdout=full)
    assert result.returncode == 1
    (line,) = error_lines(result)
    assert line.startswith("error: [internal] OSError: please report this with the command you ran")
    if verbose:
        assert "Traceback (most recent call last):" in result.err
        assert "OSError: [Errno 28] No space left on device" in result.err
        assert result.err.index("Traceback") < result.err.index(line)
    else:
        assert "Traceback" not in result.err and result.lines == [line]
        assert line.endswith("(and -v, which adds the traceback)")
