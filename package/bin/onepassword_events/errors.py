"""Typed errors of the Events API client.

Every error carries a category (used for the monitoring dashboard and the
troubleshooting guide) and a message an admin can act on. The message is our
own text (status codes, the configured host, advice): nothing a server sent.
What the server or the network said goes, sanitized and short, into `detail`,
which the logs and the CLI show and the Accounts page does not (a URL the
caller chose must not turn the search head into a window on other services).
"""


class EventsApiError(Exception):
    category = "api_error"
    retryable = False
    # no connection could be made at all (refused, DNS, no route), to the API
    # or to the proxy: every stream of the account would fail the same way
    unreachable = False

    def __init__(self, message, status=None, detail=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.detail = detail

    def __str__(self):
        """The message plus the sanitized detail: what logs and the CLI show."""
        return f"{self.message} ({self.detail})" if self.detail else self.message


class AuthError(EventsApiError):
    """401: the token is invalid, revoked or expired."""

    category = "authentication"


class FeatureNotGrantedError(EventsApiError):
    """The token does not grant the requested event type."""

    category = "permission"


class BadRequestError(EventsApiError):
    """400: malformed request, or an expired/invalid cursor."""

    category = "bad_request"


class RateLimitError(EventsApiError):
    category = "rate_limit"
    retryable = True

    def __init__(self, message, status=429, retry_after=None, detail=None):
        super().__init__(message, status, detail)
        self.retry_after = retry_after


class ServerError(EventsApiError):
    category = "server"
    retryable = True


class TransportError(EventsApiError):
    """Connection refused/reset, DNS, timeout: the host could not be reached."""

    category = "connection"
    retryable = True


class HostUnreachableError(TransportError):
    """No connection to the API host could be made at all (refused, DNS, no route)."""

    unreachable = True


class TlsError(EventsApiError):
    category = "tls"


class ProxyError(EventsApiError):
    category = "proxy"
    retryable = True


class MalformedResponseError(EventsApiError):
    """A 200 whose body is not the documented JSON envelope (truncated, too
    large, nested too deep), or pages that make no progress."""

    category = "malformed_response"
    retryable = True


class ConfigurationError(EventsApiError):
    category = "configuration"


class StopRequested(EventsApiError):
    """splunkd asked the input to stop while a request or a retry wait was under way."""

    category = "interrupted"
