"""Events API hosts, base-URL rules and the claims a token carries."""

import base64
import ipaddress
import json
from urllib.parse import urlsplit

from .errors import ConfigurationError

REGION_HOSTS = {
    "events.1password.com": "1password.com accounts",
    "events.ent.1password.com": "ent.1password.com (Enterprise) accounts",
    "events.1password.ca": "1password.ca accounts",
    "events.1password.eu": "1password.eu accounts",
}
# Short names accepted by the CLI.
REGION_ALIASES = {
    "com": "events.1password.com",
    "us": "events.1password.com",
    "ent": "events.ent.1password.com",
    "ca": "events.1password.ca",
    "eu": "events.1password.eu",
}
AUTO = "auto"
CUSTOM = "custom"


def token_claims(token):
    """Decode a JWT's payload without verifying it (the server verifies).

    Returns {} when the token is not a JWT: the API will then answer 401,
    which is the error the admin should see.
    """
    parts = (token or "").split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def token_host(token):
    """The events host named by the token's `aud` claim, or None."""
    aud = token_claims(token).get("aud")
    if isinstance(aud, str):
        aud = [aud]
    if not isinstance(aud, list):
        return None
    for value in aud:
        if isinstance(value, str) and value and "." in value and "streamingservice" not in value:
            host = urlsplit(value).hostname if "://" in value else value
            return host.strip("/").lower() if host else None
    return None


def is_loopback(host):
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def normalize_base_url(url):
    """Validate a base URL: https anywhere, plain http only on loopback."""
    url = (url or "").strip()
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(f"'{url}' is not a valid Events API URL; expected e.g. https://events.1password.com")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigurationError(
            f"plain http:// is allowed only for loopback addresses; use https://{parts.netloc}"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigurationError(f"'{url}' must be a bare host URL without a path, e.g. https://{parts.netloc}")
    return f"{parts.scheme}://{parts.netloc}"


def resolve_base_url(region=None, custom_url=None, token=None):
    """Pick the API base URL from an account's region setting.

    region: one of REGION_HOSTS, a CLI alias, 'custom' (use custom_url) or
    'auto'/empty (the host named in the token's `aud` claim).
    """
    region = (region or AUTO).strip().lower()
    if region == CUSTOM or (custom_url and region == AUTO):
        if not custom_url:
            raise ConfigurationError("region is 'custom' but no custom URL is set")
        return normalize_base_url(custom_url)
    if region == AUTO:
        host = token_host(token)
        if host is None:
            raise ConfigurationError(
                "cannot tell the region from this token (no events host in its 'aud' claim); choose the region explicitly"
            )
        return normalize_base_url(host)
    host = REGION_ALIASES.get(region, region)
    if host not in REGION_HOSTS:
        raise ConfigurationError(
            f"unknown region '{region}'; use one of {', '.join(REGION_HOSTS)}, 'auto' or 'custom'"
        )
    return "https://" + host


def check_token_region(token, base_url):
    """Refuse a token issued for another 1Password region than base_url's host.

    Only checked against the four documented hosts: a custom URL (a proxy or a
    test server) may legitimately differ from the token's audience.
    """
    host = urlsplit(base_url).hostname
    wanted = token_host(token)
    if wanted and host in REGION_HOSTS and wanted in REGION_HOSTS and wanted != host:
        raise ConfigurationError(
            f"this token belongs to {wanted}, not {host}: choose the region {wanted} for this account"
        )
