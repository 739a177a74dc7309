"""Typed errors of the Events API client.

Every error carries a category (used for the monitoring dashboard and the
troubleshooting guide) and a message an admin can act on. Messages never
contain the token: they are built from status codes, hosts and API error text.
"""


class EventsApiError(Exception):
    category = "api_error"
    retryable = False

    def __init__(self, message, status=None):
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self):
        return self.message


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

    def __init__(self, message, status=429, retry_after=None):
        super().__init__(message, status)
        self.retry_after = retry_after


class ServerError(EventsApiError):
    category = "server"
    retryable = True


class TransportError(EventsApiError):
    """Connection refused/reset, DNS, timeout: the host could not be reached."""

    category = "connection"
    retryable = True


class TlsError(EventsApiError):
    category = "tls"


class ProxyError(EventsApiError):
    category = "proxy"
    retryable = True


class MalformedResponseError(EventsApiError):
    """A 200 whose body is not the documented JSON envelope (e.g. truncated)."""

    category = "malformed_response"
    retryable = True


class ConfigurationError(EventsApiError):
    category = "configuration"


class StopRequested(EventsApiError):
    """splunkd asked the input to stop while it was waiting to retry."""

    category = "interrupted"
