"""Graceful stop on SIGTERM (splunkd stopping, or a CLI user's kill).

The collector polls the flag between pages, so the page in flight is written
and its cursor saved before the process exits; retry waits end at once.
"""

import signal
import time

from .errors import StopRequested


class StopFlag:
    def __init__(self):
        self.stopping = False

    def __call__(self):
        return self.stopping

    def request(self, *_):
        self.stopping = True

    def sleep(self, seconds):
        """A retry wait that ends as soon as a stop is requested."""
        deadline = time.monotonic() + seconds
        while not self.stopping:
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
