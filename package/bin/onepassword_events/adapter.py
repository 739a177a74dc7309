"""requests' transport adapter, for the requests that go through it: through a
proxy (HTTP CONNECT, SOCKS4/5, which urllib3's proxy managers speak), and when
something replaced `HTTPAdapter.send` (the `responses` library of the unit
tests, an instrumentation).

Imported only then: requests costs a process about 40 ms of CPU to import
(its cookie jar's regular expressions, idna, charset_normalizer, certifi),
which an input run without a proxy would pay for nothing.
"""

import sys

from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest, Response

from .transport import read_body, verifying_context


def adapter_replaced():
    """Whether `HTTPAdapter.send` is no longer requests' own; never imports requests
    (nothing can have replaced it in a process that did not import it)."""
    adapters = sys.modules.get("requests.adapters")
    return adapters is not None and getattr(adapters.HTTPAdapter.send, "__module__", None) != adapters.__name__


class TrackedAdapter(HTTPAdapter):
    """requests' adapter whose pools (urllib3's) report every socket they open to `pools`."""

    def __init__(self, pools):
        self._pools = pools
        super().__init__(pool_connections=1, pool_maxsize=1)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self._pools.watch(self.poolmanager)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        self._pools.watch(manager)
        return manager

    def cert_verify(self, conn, url, verify, cert):
        super().cert_verify(conn, url, verify, cert)
        if conn.cert_reqs == "CERT_REQUIRED" and (conn.ca_certs or conn.ca_cert_dir):
            # urllib3 would load the CA bundle into a new context on every new
            # connection (tens of ms of CPU for certifi's); one loaded context
            # per bundle serves every connection of the process
            conn.conn_kw["ssl_context"] = verifying_context(conn.ca_certs, conn.ca_cert_dir)
            conn.ca_certs = conn.ca_cert_dir = None

    def build_response(self, req, resp):
        # requests' own copies the headers into another case-insensitive
        # dictionary (urllib3's already is one), guesses a text encoding and
        # runs the cookie jar over every answer: none of it is used here
        response = Response()
        response.status_code = resp.status
        response.headers = resp.headers
        response.raw = resp
        response.reason = resp.reason
        response.url = req.url
        response.request = req
        response.connection = self
        return response

    def exchange(self, method, url, payload, headers, timeout, verify, proxies, max_body_bytes, answered):
        """(status, headers, body) of one request; answered() is called once the status line arrived."""
        request = PreparedRequest()
        request.method = method
        request.url = url
        request.headers = headers
        request.body = payload
        request.hooks = {"response": []}
        response = self.send(request, stream=True, timeout=timeout, verify=verify, proxies=proxies)
        answered()
        try:
            raw = response.raw
            body = read_body(lambda size: raw.read(size, decode_content=False), response.headers, max_body_bytes)
        finally:
            response.close()
        return response.status_code, response.headers, body
