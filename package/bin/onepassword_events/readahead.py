"""How the pager gets the pages of one stream: now, or read ahead.

Both fetchers take the body of the stream's next request with `request()`
and hand its page over with `page()`, raising the client's errors there.

`ReadAhead` sends the request at once from a worker thread of the stream's
own, with a client (and so an HTTP connection) of the stream's own: the API's
answer time hides behind the pager's writing of the previous page, and the
client is never used by two threads at once. The worker only waits for the
answer's text (the socket read releases the GIL) and holds no parsed page:
`page()` parses it in the pager's thread, so on one core the two threads
never compete for the interpreter and one parsed page at a time is in
memory. A text that is no page is sent again by the worker, under the same
retry budget (client.PageRequest). `page()` waits without a timeout of its
own (the client bounds every request: deadline, retry budget) but looks at
the stop flag while it waits.
"""

import threading

from .errors import StopRequested

CLOSE_GRACE = 1.0  # seconds a closing fetcher waits for its worker after cutting its request
STOP_TICK = 0.2  # seconds between looks at the stop flag while waiting for a page


class FetchNow:
    """Sends each request when its page is asked for, in the caller's thread."""

    def __init__(self, client, path):
        self._client = client
        self._path = path
        self._body = None

    def request(self, body):
        self._body = body

    def page(self):
        body, self._body = self._body, None
        return self._client.fetch_page(self._path, body)

    def close(self):
        pass


class ReadAhead:
    """Sends each request as soon as it is known, from a worker thread."""

    def __init__(self, client, path):
        self._client = client
        self._path = path
        self._state = threading.Condition()
        self._request = None  # the client.PageRequest to send
        self._answer = None  # (request, text, error) of the last one sent
        self._closed = False
        self._worker = threading.Thread(target=self._serve, name="read-ahead " + path, daemon=True)
        self._worker.start()

    def request(self, body):
        with self._state:
            self._request = self._client.page_request(self._path, body)
            self._answer = None
            self._state.notify_all()

    def page(self):
        while True:
            with self._state:
                while self._answer is None:
                    if self._client.stop_requested():
                        self._client.abort()
                        raise StopRequested("stop requested while a request was under way; it is sent again next run")
                    if not self._worker.is_alive():  # cannot happen short of a bug; never wait on a dead thread
                        raise RuntimeError("the read-ahead worker of %s ended" % self._path)
                    self._state.wait(STOP_TICK)
                (request, text, error), self._answer = self._answer, None
            if error is not None:
                raise error
            page = request.page(text)
            if page is not None:
                return page
            with self._state:  # no page: the same request again, under its budget
                self._request = request
                self._state.notify_all()

    def close(self):
        """Stop the worker; a request still in flight (the run ended early) is cut."""
        with self._state:
            self._closed = True
            self._state.notify_all()
        self._client.abort()  # nothing to cut when no request is in flight
        self._worker.join(CLOSE_GRACE)
        self._client.close()

    def _serve(self):
        while True:
            with self._state:
                while self._request is None and not self._closed:
                    self._state.wait()
                if self._closed:
                    return
                request, self._request = self._request, None
            try:
                answer = (request, request.text(), None)
            except BaseException as exc:  # raised again in the pager's thread
                answer = (request, None, exc)
            with self._state:
                self._answer = answer
                self._state.notify_all()
