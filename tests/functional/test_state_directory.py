"""The CLI's state directory is ours alone: whoever can write there could plant the
lock, a checkpoint or a temporary file, so the CLI creates it private whatever the
umask, refuses one that another user owns or may write to, follows no symlink planted
in it, and does not trust (or log) what a planted checkpoint says.

Each test runs the real CLI as a subprocess against the Events API simulator.
"""

import json
import os
import pwd
import stat
import subprocess

import pytest

from functional_helpers import cli_command, cli_env, rfc3339, run_cli

pytestmark = pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX modes and owners")


def error_lines(run):
    return [line for line in run.log.splitlines() if line.startswith("error:")]


def test_under_umask_000_the_directory_and_its_files_are_private(make_sim, scanner, tmp_path):
    sim = make_sim(seed=11, signinattempts=30)
    state = tmp_path / "new" / "state"
    command = cli_command(sim, state, event_types="signinattempts", start=rfc3339(sim.anchor - 86400))
    scanner.add_token(sim.token)
    result = subprocess.run(command, env=cli_env(sim.token), capture_output=True, timeout=180,
                            preexec_fn=lambda: os.umask(0))
    assert result.returncode == 0, result.stderr.decode()
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700
    files = os.listdir(state)
    assert ".lock" in files and any(name.endswith(".json") for name in files)
    for name in files:
        assert stat.S_IMODE(os.lstat(state / name).st_mode) & 0o077 == 0, name


def test_a_lock_planted_as_a_symlink_is_not_followed(make_sim, scanner, tmp_path):
    sim = make_sim(seed=12, signinattempts=5)
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    target = tmp_path / "victim_file"
    os.symlink(target, state / ".lock")
    run = run_cli(sim, scanner, state, event_types="signinattempts", verbose=False)
    assert run.exit_code == 2 and run.events == []
    (line,) = error_lines(run)
    assert line.startswith("error: [configuration]") and "symbolic link" in line
    assert not target.exists()  # the symlink's target was not created


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_a_directory_of_another_user_is_refused_in_one_line(make_sim, scanner, tmp_path):
    sim = make_sim(seed=13, signinattempts=5)
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    nobody = pwd.getpwnam("nobody").pw_uid
    os.chown(state, nobody, -1)
    run = run_cli(sim, scanner, state, event_types="signinattempts", verbose=False)
    assert run.exit_code == 2 and run.events == []
    assert run.log.strip().splitlines() == [line for line in error_lines(run)]
    (line,) = error_lines(run)
    assert "belongs to another user (uid %d)" % nobody in line
    assert os.listdir(state) == []  # not even the lock was created


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o777, 0o1777])
def test_a_directory_others_may_write_to_is_refused_in_one_line(make_sim, scanner, tmp_path, mode):
    sim = make_sim(seed=14, signinattempts=5)
    state = tmp_path / "state"
    state.mkdir()
    os.chmod(state, mode)
    run = run_cli(sim, scanner, state, event_types="signinattempts", verbose=False)
    assert run.exit_code == 2 and run.events == []
    (line,) = error_lines(run)
    assert "is writable by other users" in line and "chmod 700" in line
    assert os.listdir(state) == []


def test_a_private_directory_that_exists_is_used(make_sim, scanner, tmp_path):
    """The other side of the rule: 0700 and 0755 (readable, not writable, by others) are fine."""
    sim = make_sim(seed=15, signinattempts=5)
    for mode in (0o700, 0o755):
        state = tmp_path / ("state%o" % mode)
        state.mkdir()
        os.chmod(state, mode)
        start = rfc3339(sim.anchor - 7 * 86400)
        run = run_cli(sim, scanner, state, event_types="signinattempts", verbose=False, start=start)
        assert run.exit_code == 0 and sorted(run.events) == sorted(sim.expected("signinattempts", start)), run.log


def test_a_planted_checkpoint_is_neither_trusted_nor_logged(make_sim, scanner, tmp_path):
    sim = make_sim(seed=16, signinattempts=8)
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    forged_account = 'cli\nevent=run_summary account=victim_co events=987654 ' + "A" * 5000
    (state / "cli.signinattempts.json").write_text(json.dumps({
        "account": forged_account, "host": "127.0.0.1", "cursor": "forged-cursor", "newest_second": 1,
        "recent": []}))
    start = rfc3339(sim.anchor - 7 * 86400)
    run = run_cli(sim, scanner, state, event_types="signinattempts", start=start)
    # started from the start time, not from the planted cursor
    assert run.exit_code == 0 and sorted(run.events) == sorted(sim.expected("signinattempts", start))
    assert run.events
    assert "victim_co" not in run.log and "AAAAAAAAAA" not in run.log
    assert "event=checkpoint_ignored" in run.log
    saved = json.loads((state / "cli.signinattempts.json").read_text())
    assert saved["account"] == "cli" and saved["cursor"] != "forged-cursor"


def test_a_checkpoint_planted_as_a_symlink_is_not_read(make_sim, scanner, tmp_path):
    sim = make_sim(seed=17, signinattempts=5)
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    secret = tmp_path / "not_a_checkpoint"
    secret.write_text('{"account": "cli", "cursor": "secret"}')
    os.symlink(secret, state / "cli.signinattempts.json")
    run = run_cli(sim, scanner, state, event_types="signinattempts", verbose=False)
    assert run.exit_code == 1 and run.events == []
    (line,) = error_lines(run)
    assert line.startswith("error: [checkpoint]") and "cannot be read" in line and "secret" not in line
