"""The stop flag: what ends a run (SIGTERM, the run's wall-clock bound), what the
log then says, and how a retry wait behaves around it."""

import threading
import time

import pytest

from onepassword_events.errors import StopRequested
from onepassword_events.stopping import StopFlag


def test_a_fresh_flag_lets_the_run_go_on():
    stop = StopFlag()
    assert not stop()
    assert not stop.bound_reached


def test_a_bound_not_yet_reached_lets_the_run_go_on():
    stop = StopFlag(run_seconds=60)
    assert not stop()
    assert not stop.bound_reached


def test_a_passed_bound_stops_the_run_and_says_so_as_a_bound():
    stop = StopFlag(run_seconds=0.05)
    time.sleep(0.1)
    assert stop()
    assert stop.bound_reached  # the collector logs this stop as a warning
    assert stop.reason == ("the run reached its wall-clock bound of 0.05 s; the checkpoint is at the last "
                           "written page and the next run continues from there")


def test_sigterm_stops_the_run_and_is_not_a_bound():
    stop = StopFlag(run_seconds=60)
    stop.request()
    assert stop()
    assert not stop.bound_reached  # an asked-for stop is logged as info, not a warning
    assert stop.reason == "asked to stop (SIGTERM); state saved"


def test_sigterm_after_the_bound_keeps_the_bound_as_the_reason():
    stop = StopFlag(run_seconds=0.01)
    time.sleep(0.05)
    assert stop()
    stop.request()
    assert stop.bound_reached
    assert "wall-clock bound of 0.01 s" in stop.reason


def test_a_retry_wait_without_a_stop_waits_its_time_and_returns():
    stop = StopFlag()
    started = time.monotonic()
    stop.sleep(0.3)
    assert time.monotonic() - started >= 0.3
    assert not stop()


def test_sigterm_during_a_long_retry_wait_ends_it_within_a_fraction_of_a_second():
    stop = StopFlag()
    threading.Timer(0.05, stop.request).start()
    started = time.monotonic()
    with pytest.raises(StopRequested):
        stop.sleep(30)
    # splunkd waits a few seconds after SIGTERM before it kills the input
    assert time.monotonic() - started < 1.0


def test_a_retry_wait_longer_than_the_run_bound_ends_at_the_bound():
    stop = StopFlag(run_seconds=0.1)
    started = time.monotonic()
    with pytest.raises(StopRequested):
        stop.sleep(30)
    assert time.monotonic() - started < 1.0
    assert stop.bound_reached
