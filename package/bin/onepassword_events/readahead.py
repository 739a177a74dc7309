"""How the pager gets the pages of one stream: now, or read ahead.

Both fetchers take the body of the stream's next request with `request()`
and hand its page over with `page()`, raising the client's errors there.

`ReadAhead` sends the request at once from a worker thread of the stream's
own, with a client (and so an HTTP connection) of the stream's own: the API's
answer time hides behind the pager's writing of the previous page, and the
client is never used by two threads at once. The worker only waits for the
answer's bytes (the socket read releases the GIL) and holds no text and no
parsed page: `page()` decodes and parses it in the pager's thread, so on one
core the two threads never compete for the interpreter, one parsed page at a
time is in memory, and the next page is held once, as bytes. An answer that
is no page is sent again by the worker, under the same retry budget
(client.PageRequest). `page()` waits without a timeout of its
own (the client bounds every request: deadline, retry budget) but looks at
the stop flag while it waits.
"""

import queue
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
    """Sends each request as soon as it is known, from a worker thread.

    Requests and answers cross between the threads through two SimpleQueues
    (C-level, no Python lock juggling per page): the hand-over of a page costs
    the two thread switches and little more."""

    def __init__(self, client, path):
        self._client = client
        self._path = path
        self._requests = queue.SimpleQueue()  # client.PageRequest to send; None ends the worker
        self._answers = queue.SimpleQueue()  # (request, error) of each one sent, its answer kept in the request
        self._closed = False
        self._worker = threading.Thread(target=self._serve, name="read-ahead " + path, daemon=True)
        self._worker.start()

    def request(self, body):
        self._requests.put(self._client.page_request(self._path, body))

    def page(self):
        while True:
            request, error = self._answer()
            if error is not None:
                raise error
            page = request.page()
            if page is not None:
                return page
            self._requests.put(request)  # no page: the same request again, under its budget

    def _answer(self):
        answers = self._answers
        while True:
            try:
                return answers.get(block=False)
            except queue.Empty:
                pass
            if self._client.stop_requested():
                self._client.abort()
                raise StopRequested("stop requested while a request was under way; it is sent again next run")
            if not self._worker.is_alive():  # cannot happen short of a bug; never wait on a dead thread
                raise RuntimeError("the read-ahead worker of %s ended" % self._path)
            try:
                return answers.get(timeout=STOP_TICK)
            except queue.Empty:
                pass

    def close(self):
        """Stop the worker; a request still in flight (the run ended early) is cut,
        one not yet sent is not sent."""
        self._closed = True
        self._requests.put(None)
        self._client.abort()  # nothing to cut when no request is in flight
        self._worker.join(CLOSE_GRACE)
        self._client.close()

    def _serve(self):
        while True:
            request = self._requests.get()
            if request is None or self._closed:
                return
            try:
                request.receive()
                answer = (request, None)
            except BaseException as exc:  # raised again in the pager's thread
                answer = (request, exc)
            self._answers.put(answer)
