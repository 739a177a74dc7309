"""Fake of splunkd's own `splunk` package, as its scripts and in-process tests see it (see splunkd_fake_runtime)."""

from splunkd_fake_runtime import (  # noqa: F401
    AuthenticationFailed,
    AuthorizationFailed,
    InternalServerError,
    LicenseRestriction,
    RESTException,
    ResourceNotFound,
    SplunkdConnectionException,
    SplunkdException,
    getLocalServerInfo,
    getSessionKey,
)
