"""Settings -> client + collector: the assembly shared by the input and the CLI."""

import time

from . import regions, timeparse
from .client import EventsApiClient
from .collector import RETENTION_SECONDS, Collector
from .errors import ConfigurationError, FeatureNotGrantedError
from .proxy import is_true
from .streams import STREAM_NAMES, STREAMS, parse_stream_names

DEFAULT_START_DAYS = 30
DEFAULT_PAGE_SIZE = 1000
# A modular input run may take its interval plus this long before it stops
# (checkpoint at the last written page): a server that always has more, each
# page trickled just under the deadline, cannot hold an input for days.
RUN_MARGIN_SECONDS = 300
DEFAULT_INTERVAL_SECONDS = 300


def run_bound(inputs):
    """Seconds a modular input run may take: the longest interval of its
    stanzas (a cron schedule counts as the default) plus a margin."""
    intervals = []
    for item in inputs.values():
        try:
            interval = float(str(item.get("interval", "")).strip())
        except ValueError:
            interval = DEFAULT_INTERVAL_SECONDS
        intervals.append(interval if 0 <= interval <= 86400 else DEFAULT_INTERVAL_SECONDS)
    return max(intervals or [DEFAULT_INTERVAL_SECONDS]) + RUN_MARGIN_SECONDS


def parse_page_size(value):
    if value in (None, ""):
        return DEFAULT_PAGE_SIZE
    try:
        size = int(str(value).strip())
    except ValueError:
        size = 0
    if not 1 <= size <= 1000:
        raise ConfigurationError(f"page size '{value}' must be a whole number from 1 to 1000")
    return size


def parse_start_time(value, now=None, strict=True):
    """Epoch seconds of the first run's start; default 30 days back.

    strict: refuse a start beyond the 120-day retention or in the future (when
    the admin saves the input). At run time the same setting is only a
    fallback for streams without a checkpoint and must keep working as it
    ages: the collector then clamps it into the retention window.
    """
    now = int(now if now is not None else time.time())
    if value in (None, ""):
        return now - DEFAULT_START_DAYS * 86400
    try:
        start = timeparse.parse_user_time(value)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    if not strict:
        return start
    if start < now - RETENTION_SECONDS:
        raise ConfigurationError(
            f"start time {value} is more than 120 days ago; the Events API keeps only 120 days of events"
        )
    if start > now + 300:
        raise ConfigurationError(f"start time {value} is in the future")
    return start


def build_client(account, proxy_url=None, logger=None, **kwargs):
    """An EventsApiClient for an account settings mapping.

    account keys: token, region (auto | host | custom), custom_url,
    verify_tls (default true), ca_bundle.
    """
    token = (account.get("token") or "").strip()
    if not token:
        raise ConfigurationError("the account has no API token")
    base_url = regions.resolve_base_url(account.get("region"), account.get("custom_url"), token)
    regions.check_token_region(token, base_url)
    verify = account.get("verify_tls")
    verify = True if verify in (None, "") else is_true(verify)
    ca_bundle = (account.get("ca_bundle") or "").strip() or None
    if ca_bundle and verify:
        import os

        if not os.path.isfile(ca_bundle):
            raise ConfigurationError(f"the CA bundle file {ca_bundle} does not exist or is not readable")
    client = EventsApiClient(
        base_url, token, verify_tls=verify, ca_bundle=ca_bundle, proxy_url=proxy_url, logger=logger, **kwargs
    )
    if not verify and logger is not None:
        logger.warning("event=tls_verification_off host=%s reason=%r", client.host,
                       "the server's certificate is not checked: anyone on the path can read the token")
    return client


def choose_streams(requested, features):
    """(streams to read, names refused because the token lacks them).

    requested: the input's event types (empty = every type the token grants).
    features: the token's features, or None when unknown (then trust the request).
    """
    try:
        names = parse_stream_names(requested)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    if features is None:
        return [STREAMS[n] for n in (names or STREAM_NAMES)], []
    granted = [n for n in STREAM_NAMES if n in features]
    if not names:
        if not granted:
            raise FeatureNotGrantedError(
                "the token grants none of signinattempts, itemusages, auditevents; issue a token with at least one"
            )
        return [STREAMS[n] for n in granted], []
    return [STREAMS[n] for n in names if n in granted], [n for n in names if n not in granted]


def build_collector(client, store, sink, input_name, account_name, event_types, start_time, page_size, logger=None,
                    stop_requested=lambda: False, features=None):
    """Assemble a Collector; returns (collector, refused stream names)."""
    if features is None:
        features = client.granted_features()
    streams, refused = choose_streams(event_types, features)
    collector = Collector(
        client, store, sink, input_name, account_name, streams, start_time,
        limit=page_size, logger=logger, stop_requested=stop_requested,
    )
    return collector, refused


def check_account(account, proxy_url=None, **client_kwargs):
    """Verify an account's settings against the API (introspect).

    Returns the introspect result plus 'host'. Raises an EventsApiError whose
    message tells the admin what to fix.
    """
    client = build_client(account, proxy_url=proxy_url, **client_kwargs)
    with client:
        info = client.introspect()
    if not any(f in STREAMS for f in info["features"]):
        raise FeatureNotGrantedError(
            "the token is valid but grants none of signinattempts, itemusages, auditevents; "
            "issue an Events Reporting token with at least one event type"
        )
    info["host"] = client.host
    return info
