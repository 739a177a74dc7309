"""The stop flag: SIGTERM and the run's wall-clock bound stop a run, each saying why, and a
retry wait ends as soon as a stop is asked for."""

import os
import signal
import threading
import time

import pytest

from onepassword_events.errors import StopRequested
from onepassword_events.stopping import StopFlag

SIGTERM_REASON = "asked to stop (SIGTERM); state saved"


def test_without_a_bound_a_run_goes_on_until_asked_to_stop():
    flag = StopFlag()
    assert flag() is False and flag.reason is None and flag.bound_reached is False
    flag.request(signal.SIGTERM, None)
    assert flag() is True and flag.reason == SIGTERM_REASON and flag.bound_reached is False


def test_a_run_past_its_bound_stops_and_says_the_checkpoint_is_safe():
    flag = StopFlag(run_seconds=0.05)
    assert flag() is False and flag.reason is None and flag.bound_reached is False
    time.sleep(0.06)
    assert flag() is True and flag.bound_reached is True
    assert flag.reason == ("the run reached its wall-clock bound of 0.05 s; the checkpoint is at the last written "
                           "page and the next run continues from there")


def test_the_first_reason_to_stop_is_the_one_reported():
    bound_first = StopFlag(run_seconds=0)
    assert bound_first()
    bound_first.request(signal.SIGTERM, None)
    assert bound_first.bound_reached and bound_first.reason.startswith("the run reached its wall-clock bound of 0 s")

    sigterm_first = StopFlag(run_seconds=0)
    sigterm_first.request(signal.SIGTERM, None)
    assert sigterm_first() and sigterm_first.reason == SIGTERM_REASON and sigterm_first.bound_reached is False


def test_a_retry_wait_runs_its_length_when_nothing_stops_it():
    started = time.monotonic()
    StopFlag().sleep(0.3)
    assert 0.3 <= time.monotonic() - started < 0.6
    started = time.monotonic()
    StopFlag().sleep(0)
    assert time.monotonic() - started < 0.05


def test_a_retry_wait_ends_soon_after_a_stop_is_asked_for():
    flag = StopFlag()
    threading.Timer(0.1, flag.request).start()
    started = time.monotonic()
    with pytest.raises(StopRequested, match="^stop requested while waiting to retry$"):
        flag.sleep(30)
    assert time.monotonic() - started < 0.45  # looked at every 0.25 s at most


def test_a_retry_wait_ends_at_the_runs_bound():
    started = time.monotonic()
    with pytest.raises(StopRequested):
        StopFlag(run_seconds=0.1).sleep(30)
    assert time.monotonic() - started < 0.45


def test_sigterm_sets_the_flag_once_installed():
    previous = signal.getsignal(signal.SIGTERM)
    try:
        flag = StopFlag().install()
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 2
        while not flag() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert flag.reason == SIGTERM_REASON
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_installing_outside_the_main_thread_leaves_the_flag_to_the_caller():
    previous = signal.getsignal(signal.SIGTERM)
    installed = []
    thread = threading.Thread(target=lambda: installed.append(StopFlag().install()))
    thread.start()
    thread.join()
    assert isinstance(installed[0], StopFlag) and signal.getsignal(signal.SIGTERM) is previous
