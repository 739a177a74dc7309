"""The errors of the collector: one base, a category each, a Splunk label per category.

Every error carries a category (used for the monitoring dashboard and the
troubleshooting guide) and a message an admin can act on. The message is our
own text (status codes, the configured host, advice): nothing a server sent.
What the server or the network said goes, sanitized and short, into `detail`,
which the logs and the CLI show and the Accounts page does not (a URL the
caller chose must not turn the search head into a window on other services).

An error is never changed once raised: a retry loop that gives up raises a
new error built with `with_message`.

`StopRequested` is not an error: a stop is what the admin asked for.
"""

# The error label (solnlib's exc_l="...") each category is logged under in
# Splunk: the one table the modular input, the Accounts handler and the README use.
SPLUNK_LABELS = {
    "authentication": "Authentication Error",
    "permission": "Permission Error",
    "configuration": "Configuration Error",
    # no solnlib writer for these two: logged under the category itself, as the README's table says
    "bad_request": "bad_request",
    "connection": "Connection Error",
    "proxy": "Connection Error",
    "tls": "Connection Error",
    "server": "Server Error",
    "rate_limit": "Server Error",
    "malformed_response": "Server Error",
    "api_error": "api_error",
    "checkpoint": "Checkpoint Error",
}


class CollectorError(Exception):
    category = "api_error"
    retryable = False
    # no connection could be made at all (refused, DNS, no route), to the API
    # or to the proxy: every stream of the account would fail the same way
    unreachable = False

    def __init__(self, message, detail=None):
        super().__init__(message)
        self.message = message
        self.detail = detail

    @property
    def label(self):
        return SPLUNK_LABELS[self.category]

    def with_message(self, message):
        """The same error (type, status, detail) under another message."""
        error = self.__class__.__new__(self.__class__)
        error.__dict__.update(self.__dict__)
        error.args = (message,)
        error.message = message
        return error

    def __str__(self):
        """The message plus the sanitized detail: what logs and the CLI show."""
        return f"{self.message} ({self.detail})" if self.detail else self.message


class EventsApiError(CollectorError):
    """The Events API (or the way to it) did not give what was asked."""

    def __init__(self, message, status=None, detail=None):
        super().__init__(message, detail)
        self.status = status


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


class ProxyUnreachableError(ProxyError):
    """No connection to the proxy could be made at all."""

    unreachable = True


class MalformedResponseError(EventsApiError):
    """A 200 whose body is not the documented JSON envelope (truncated, too
    large, nested too deep), or pages that make no progress."""

    category = "malformed_response"
    retryable = True


class ConfigurationError(EventsApiError):
    category = "configuration"


class StopRequested(Exception):
    """splunkd (SIGTERM), the CLI's user or the run's wall-clock bound asked
    the run to stop while a request or a retry wait was under way."""
