"""A socket or TLS failure as it reaches the client through requests and urllib3."""

import urllib3

URL = "https://events.1password.com/api/v2/signinattempts"


def wrapped(outer, cause, url=URL):
    """`cause` wrapped as urllib3 and requests wrap it on the way up: MaxRetryError with
    the cause as its `reason` (raised from it), then the requests exception around that
    (whose own text says nothing)."""
    try:
        try:
            raise cause
        except BaseException as inner:
            raise urllib3.exceptions.MaxRetryError(None, url, reason=inner) from inner
    except urllib3.exceptions.MaxRetryError as retry_error:
        return outer(retry_error)
