"""Graceful stop: on SIGTERM (splunkd stopping, or a CLI user's kill), or
when the run's wall-clock bound passes.

The collector polls the flag between pages, so the page in flight is written
and its cursor saved before the process exits; retry waits end at once, and
the client's watchdog cuts a request in flight.
"""

import signal
import time

from .errors import StopRequested

SIGTERM_REASON = "asked to stop (SIGTERM); state saved"


class StopFlag:
    """True once a stop is requested or the run's bound (`run_seconds` from
    now; None: no bound) has passed; `reason` says which."""

    def __init__(self, run_seconds=None):
        self.stopping = False
        self.reason = None
        self.run_seconds = run_seconds
        self._run_deadline = None if run_seconds is None else time.monotonic() + run_seconds

    def __call__(self):
        if not self.stopping and self._run_deadline is not None and time.monotonic() >= self._run_deadline:
            self.stopping = True
            self.reason = (f"the run reached its wall-clock bound of {self.run_seconds:g} s; the checkpoint is at the "
                           "last written page and the next run continues from there")
        return self.stopping

    @property
    def bound_reached(self):
        return self.stopping and self.reason is not None and self.reason != SIGTERM_REASON

    def request(self, *_):
        if not self.stopping:
            self.reason = SIGTERM_REASON
        self.stopping = True

    def sleep(self, seconds):
        """A retry wait that ends as soon as a stop is requested."""
        deadline = time.monotonic() + seconds
        while not self():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(remaining, 0.25))
        raise StopRequested("stop requested while waiting to retry")

    def install(self):
        try:
            signal.signal(signal.SIGTERM, self.request)
        except ValueError:  # not the main thread (embedded use): the caller sets the flag
            pass
        return self
