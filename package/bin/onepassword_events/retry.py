"""The retries of one request: backoff with full jitter, Retry-After, and one
budget in total time, attempts and waits together, whoever finds an attempt failed."""

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


class Retries:
    """The retry state of one request: every failed attempt, whoever saw it
    fail (the exchange, or the parse of its answer), counts against the one
    budget; `failed` waits before the next attempt or raises."""

    def __init__(self, policy, attempt_seconds, sleep, on_retry=None, clock=time.monotonic):
        self._policy = policy
        self._attempt_seconds = attempt_seconds
        self._sleep = sleep
        self._on_retry = on_retry
        self._clock = clock
        self._started = clock()
        self._attempts = 0
        self._slept = 0.0

    def deadline_for(self):
        """The monotonic deadline of an exchange starting now: its full time
        unless the budget ends sooner."""
        now = self._clock()
        remaining = self._started + self._policy.budget - now
        return now + min(self._attempt_seconds, max(remaining, MIN_ATTEMPT_SECONDS))

    def run(self, attempt):
        """attempt(deadline_for) until it returns, a non-retryable error comes, or the budget ends."""
        while True:
            try:
                return attempt(self.deadline_for)
            except Exception as exc:
                if not getattr(exc, "retryable", False):
                    raise
                self.failed(exc)

    def failed(self, exc):
        """Wait before the next attempt, or raise `exc` (with how long the
        request tried) once the budget or the attempts run out."""
        policy = self._policy
        self._attempts += 1
        attempts = self._attempts
        # elapsed time counts the attempts too; slept covers a sleep
        # function that does not take real time (tests, simulations)
        waited = max(self._clock() - self._started, self._slept)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None and waited + retry_after > policy.budget:
            raise exc.with_message(
                f"{exc.message} (the server asked to wait {retry_after:,.0f} s before retrying, beyond the "
                f"retry budget of {policy.budget:g} s)") from None
        delay = retry_after + random.uniform(0, 0.5) if retry_after is not None else policy.delay(attempts - 1)
        limit = min(policy.max_attempts, UNREACHABLE_ATTEMPTS) if exc.unreachable else policy.max_attempts
        if attempts >= limit or waited + delay > policy.budget:
            raise exc.with_message(f"{exc.message} (gave up after {attempts} attempts in {waited:.0f}s)") from None
        if self._on_retry is not None:
            self._on_retry(exc, attempts, delay)
        self._sleep(delay)
        self._slept += delay
