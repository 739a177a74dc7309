"""The retry loop of one request: backoff with full jitter, Retry-After, and
one budget in total time, attempts and waits together, whatever the attempts do."""

import random
import time

# A host that refuses connections or does not resolve is retried briefly (a
# restart, a DNS blip), not for the whole retry budget once per stream.
UNREACHABLE_ATTEMPTS = 3
MIN_ATTEMPT_SECONDS = 1.0


class RetryPolicy:
    """Exponential backoff with full jitter, bounded in total time per request.

    `budget` bounds the whole retry loop of one request (attempts and waits),
    so a run never hangs on a sick API; `max_delay` caps one backoff wait. A
    server's Retry-After is honoured when it is a sane value that fits in the
    budget.
    """

    def __init__(self, budget=300.0, base_delay=1.0, max_delay=60.0, max_attempts=10):
        self.budget = budget
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts

    def delay(self, attempt):
        ceiling = min(self.max_delay, self.base_delay * (2 ** attempt))
        return random.uniform(ceiling / 2, ceiling)


def with_retries(attempt, policy, attempt_seconds, sleep, on_retry=None, clock=time.monotonic):
    """attempt(deadline_for) until it returns, under one budget.

    deadline_for() gives the monotonic deadline of an exchange starting now:
    its full `attempt_seconds` unless the budget ends sooner. An attempt may
    make more than one exchange (a fallback path), all under the same budget.
    Raises the last error, with how long the loop tried, once a
    non-retryable error comes, or the budget or the attempts run out.
    """
    started = clock()
    budget_end = started + policy.budget

    def deadline_for():
        now = clock()
        return now + min(attempt_seconds, max(budget_end - now, MIN_ATTEMPT_SECONDS))

    attempts = 0
    slept = 0.0
    while True:
        try:
            return attempt(deadline_for)
        except Exception as exc:
            if not getattr(exc, "retryable", False):
                raise
            attempts += 1
            # elapsed time counts the attempts too; slept covers a sleep
            # function that does not take real time (tests, simulations)
            waited = max(clock() - started, slept)
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None and waited + retry_after > policy.budget:
                raise exc.with_message(
                    f"{exc.message} (the server asked to wait {retry_after:,.0f} s before retrying, beyond the "
                    f"retry budget of {policy.budget:g} s)") from None
            delay = retry_after + random.uniform(0, 0.5) if retry_after is not None else policy.delay(attempts - 1)
            limit = min(policy.max_attempts, UNREACHABLE_ATTEMPTS) if exc.unreachable else policy.max_attempts
            if attempts >= limit or waited + delay > policy.budget:
                raise exc.with_message(f"{exc.message} (gave up after {attempts} attempts in {waited:.0f}s)") from None
            if on_retry is not None:
                on_retry(exc, attempts, delay)
            sleep(delay)
            slept += delay
