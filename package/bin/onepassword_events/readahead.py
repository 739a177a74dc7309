"""How the pager gets the pages of one stream: now, or read ahead.

Both fetchers take the body of the stream's next request with `request()`
and hand its page over with `page()`, raising the client's errors there.

`ReadAhead` sends the request at once from a worker thread of the stream's
own, with a client (and so an HTTP session and connection) of the stream's
own: the API's answer time hides behind the pager's writing of the previous
page, and the client is never used by two threads at once. The worker only
waits for the answer (the socket read releases the GIL); the page is parsed
in the pager's thread, so on one core the two threads never compete for the
interpreter. `page()` waits without a timeout of its own: the client bounds
every request (deadline, retry budget) and cuts it within a fraction of a
second of a stop request.
"""

import threading

CLOSE_GRACE = 1.0  # seconds a closing fetcher waits for its worker after cutting its request


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
        self._body = None
        self._sent = None  # the body of the request in flight or answered
        self._answer = None  # (text, error) of the last request
        self._closed = False
        self._worker = threading.Thread(target=self._serve, name="read-ahead " + path, daemon=True)
        self._worker.start()

    def request(self, body):
        with self._state:
            self._body = body
            self._answer = None
            self._state.notify_all()

    def page(self):
        with self._state:
            while self._answer is None:
                if not self._worker.is_alive():  # cannot happen short of a bug; never wait on a dead thread
                    raise RuntimeError("the read-ahead worker of %s ended" % self._path)
                self._state.wait(1.0)
            (text, error), self._answer = self._answer, None
        if error is not None:
            raise error
        return self._client.fetch_page(self._path, self._sent, received=text)

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
                while self._body is None and not self._closed:
                    self._state.wait()
                if self._closed:
                    return
                body, self._body = self._body, None
                self._sent = body
            try:
                answer = (self._client.fetch_text(self._path, body), None)
            except BaseException as exc:  # raised again in the pager's thread
                answer = (None, exc)
            with self._state:
                self._answer = answer
                self._state.notify_all()
