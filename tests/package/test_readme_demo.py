"""The README's "Try it without 1Password" block, run as written after the build,
by a python3 that has no packages at all (-I -S): the simulator needs only the
standard library, and the CLI only the built package's own lib/."""

import os
import re
import socket
import stat
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _demo_block():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    section = readme.split("## Try it without 1Password", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```\n(.*?)```", section, re.S).group(1)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bare_clone(built_addon, tmp_path):
    """A directory laid out as a clone after the build, and an environment whose
    python3 has no packages at all."""
    work = tmp_path / "clone"
    work.mkdir()
    os.symlink(os.path.join(ROOT, "tests"), work / "tests")
    os.makedirs(work / "output")
    os.symlink(built_addon, work / "output" / "TA-1password-events")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "python3"
    wrapper.write_text('#!/bin/sh\nexec "%s" -I -S "$@"\n' % sys.executable)
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    env = {"PATH": "%s:%s" % (bin_dir, os.environ["PATH"]), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    return work, env


def _wait_until_port_is_free(port, timeout=10):
    """The first run's `kill %1` is asynchronous: the second run needs the port back."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.1)
    raise AssertionError("the first run's simulator still listens on port %d" % port)


@pytest.mark.package
def test_the_try_it_block_works_twice_with_a_python_that_has_no_packages(built_addon, tmp_path):
    block = _demo_block()
    port = _free_port()
    # the block's fixed port and /tmp paths, moved out of the way of anything else on this host
    block = block.replace("8443", str(port)).replace("/tmp/op-demo-", str(tmp_path / "op-demo-"))
    work, env = _bare_clone(built_addon, tmp_path)
    script = "set -e\n" + block
    backlogs = []
    for attempt in ("first", "second"):
        # a second try, as a reader repeats it: the previous token file and state are still there
        result = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, timeout=300)
        err = result.stderr.decode()
        assert result.returncode == 0, (attempt, err[-3000:])
        first = (work / "events.jsonl").read_text().splitlines()
        second = (work / "new-events.jsonl").read_text().splitlines()
        summaries = [line for line in err.splitlines() if line.startswith("wrote ")]
        assert len(summaries) == 2 and summaries[0].startswith("wrote %s events" % format(len(first), ",")), attempt
        # the second fetch wrote only what arrived meanwhile: a few seconds at 20 per second, none seen before
        assert 20 <= len(second) <= 1000 and not set(second) & set(first), attempt
        assert "Traceback" not in err and "error:" not in err, attempt
        backlogs.append(len(first))
        _wait_until_port_is_free(port)
    # each try starts from the simulator's whole backlog (3,000 events), not from the last try's checkpoint
    assert backlogs[0] >= 3000 and backlogs[1] >= 3000


@pytest.mark.package
def test_the_simulator_readme_tls_example_checks_the_token_with_the_printed_ca_bundle(built_addon, tmp_path):
    with open(os.path.join(ROOT, "tests", "simulator", "README.md"), encoding="utf-8") as handle:
        section = handle.read().split("### With TLS", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    port = _free_port()
    block = block.replace("8443", str(port)).replace("/tmp/op-sim-tls", str(tmp_path / "tls"))
    server_line, check_command = block.split("\n", 1)
    work, env = _bare_clone(built_addon, tmp_path)
    token_file = tmp_path / "token"
    server = subprocess.Popen(server_line.split() + ["--token-file", str(token_file)], cwd=work, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not token_file.exists():
            assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()
            time.sleep(0.1)
        env["OP_EVENTS_TOKEN"] = token_file.read_text().strip()
        result = subprocess.run(["bash", "-c", "set -e\n" + check_command], cwd=work, env=env,
                                capture_output=True, timeout=120)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert '"features": ["signinattempts", "itemusages", "auditevents"]' in result.stdout.decode()
