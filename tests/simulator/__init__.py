"""The 1Password Events API simulator (see README.md in this folder)."""

from .server import (  # noqa: F401
    ALL_FEATURES,
    DOCUMENTED_RATE_LIMITS,
    STREAMS,
    EventsApiSimulator,
    Fault,
    RateLimiter,
    make_token,
    parse_rfc3339,
)
from .data import ENUMS  # noqa: F401
