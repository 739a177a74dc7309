"""The README's "Try it without 1Password" block, run as written after the build,
by a python3 that has no packages at all (-I -S): the simulator needs only the
standard library, and the CLI only the built package's own lib/."""

import os
import re
import socket
import stat
import subprocess
import sys

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


@pytest.mark.package
def test_the_try_it_block_works_with_a_python_that_has_no_packages(built_addon, tmp_path):
    block = _demo_block()
    # the block's fixed port and /tmp paths, moved out of the way of anything else on this host
    block = block.replace("8443", str(_free_port())).replace("/tmp/op-demo-", str(tmp_path / "op-demo-"))
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
    script = "set -e\n" + block
    result = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, timeout=300)
    err = result.stderr.decode()
    assert result.returncode == 0, err[-3000:]
    first = (work / "events.jsonl").read_text().splitlines()
    second = (work / "new-events.jsonl").read_text().splitlines()
    summaries = [line for line in err.splitlines() if line.startswith("wrote ")]
    assert len(summaries) == 2 and summaries[0].startswith("wrote %s events" % format(len(first), ","))
    # the second run wrote only what arrived meanwhile: a few seconds at 20 per second, none seen before
    assert 20 <= len(second) <= 1000 and not set(second) & set(first)
    assert "Traceback" not in err
