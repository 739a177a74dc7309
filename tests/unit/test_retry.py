"""The retries of one request (retry.py): how long each wait is, how many attempts a sick API gets,
and how much of the budget an attempt may use, as a user of the input or the CLI sees them
(the waits between requests, the "gave up after N attempts" error, a request that does not end)."""

import random

import pytest

from onepassword_events.errors import HostUnreachableError, RateLimitError, ServerError
from onepassword_events.retry import Retries, RetryPolicy


class Clock:
    """Monotonic time that moves only when the test (or a wait) moves it."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def retries(policy=None, attempt_seconds=60.0, on_retry=None):
    clock = Clock()
    return Retries(policy or RetryPolicy(), attempt_seconds, clock.sleep, on_retry=on_retry, clock=clock), clock


def failing_forever(error):
    attempts = []

    def attempt(deadline_for):
        attempts.append(deadline_for())
        raise error

    return attempt, attempts


def test_by_default_a_failing_server_gets_ten_attempts_then_one_error_saying_so():
    retry, clock = retries()
    attempt, attempts = failing_forever(ServerError("the server answered HTTP 503", status=503))
    with pytest.raises(ServerError) as caught:
        retry.run(attempt)
    assert len(attempts) == 10
    # what the log line and the CLI's error say: the server's answer, then how long it was tried
    assert str(caught.value) == "the server answered HTTP 503 (gave up after 10 attempts in %.0fs)" % (clock.now - 1000.0)


def test_an_error_that_is_not_a_retryable_api_error_ends_the_request_at_once_as_itself():
    retry, clock = retries()
    attempt, attempts = failing_forever(KeyError("cursor"))
    with pytest.raises(KeyError, match="cursor"):
        retry.run(attempt)
    assert len(attempts) == 1 and clock.now == 1000.0


def test_an_unreachable_host_gets_three_attempts_whatever_the_policy_allows():
    retry, _ = retries(RetryPolicy(max_attempts=10))
    attempt, attempts = failing_forever(HostUnreachableError("cannot reach host: connection refused"))
    with pytest.raises(HostUnreachableError, match="gave up after 3 attempts"):
        retry.run(attempt)
    assert len(attempts) == 3


def test_the_first_wait_is_half_to_one_second_and_no_wait_exceeds_a_minute():
    random.seed(20)
    policy = RetryPolicy()
    first = [policy.delay(0) for _ in range(500)]
    assert 0.5 <= min(first) and max(first) <= 1.0
    late = [policy.delay(12) for _ in range(500)]  # 2**12 s would be over an hour: capped
    assert 30.0 <= min(late) and max(late) <= 60.0


def test_every_retry_is_reported_with_its_attempt_and_wait_before_it_happens():
    seen = []
    retry, clock = retries(RetryPolicy(max_attempts=3), on_retry=lambda exc, n, delay: seen.append((n, delay, clock())))
    attempt, _ = failing_forever(ServerError("the server answered HTTP 502", status=502))
    with pytest.raises(ServerError):
        retry.run(attempt)
    assert [n for n, _, _ in seen] == [1, 2]
    # reported before the wait: the clock has not moved by that wait yet
    assert seen[0][2] == 1000.0 and seen[1][2] == 1000.0 + seen[0][1]


# the wait is Retry-After plus up to 0.5 s of jitter: 299.5 s still fits in 300, 300.5 s does not
@pytest.mark.parametrize("retry_after, honoured", [(299.5, True), (300.5, False)])
def test_a_retry_after_is_honoured_up_to_the_default_five_minute_budget(retry_after, honoured):
    retry, clock = retries()
    error = RateLimitError("rate limited (HTTP 429)", retry_after=retry_after)
    if honoured:
        retry.failed(error)
        assert retry_after <= clock.now - 1000.0 <= retry_after + 0.5
    else:
        with pytest.raises(RateLimitError, match="beyond the retry budget of 300 s"):
            retry.failed(error)
        assert clock.now == 1000.0


def test_at_the_first_failure_the_whole_budget_is_left_for_a_retry_after():
    retry, clock = retries(RetryPolicy(budget=2.0))
    retry.failed(RateLimitError("rate limited (HTTP 429)", retry_after=1.5))  # 1.5 s + jitter <= 2 s
    assert 1001.5 <= clock.now <= 1002.0


def test_an_attempt_gets_its_full_time_then_what_is_left_of_the_budget_and_never_less_than_a_second():
    retry, clock = retries(RetryPolicy(budget=300.0), attempt_seconds=60.0)
    assert retry.deadline_for() == 1060.0  # fresh: the full attempt time
    clock.now += 295.0
    assert retry.deadline_for() == clock.now + 5.0  # 5 s of budget left
    clock.now += 4.8
    assert retry.deadline_for() == pytest.approx(clock.now + 1.0)  # the last attempt still gets a second
