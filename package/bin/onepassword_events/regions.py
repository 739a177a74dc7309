"""Events API hosts, base-URL rules and the claims a token carries."""

import base64
import ipaddress
import json
import re
from urllib.parse import urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

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
    """A literal loopback address (127.0.0.0/8, ::1). Names such as localhost do
    not count: what they resolve to is up to the host's resolver."""
    try:
        address = ipaddress.ip_address((host or "").strip("[]"))
    except ValueError:
        return False
    # An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is loopback to Python 3.13
    # and not to 3.9: refused on both, as an unusual spelling no test server needs.
    if getattr(address, "ipv4_mapped", None) is not None:
        return False
    return address.is_loopback


_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
# What inet_aton (and so the resolver) reads as an IPv4 address: 2130706433,
# 0x7f000001, 127.1, 0177.0.0.1. Such a "name" is an address in disguise.
_INET_ATON_PART = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)\Z")
_URL_CHARS = re.compile(r"[!-~]+\Z")  # printable ASCII, no space
_DEFAULT_PORTS = {"https": 443, "http": 80}


def _host_of(host):
    """The host part of a URL in canonical form, or None if it is not a plain
    DNS name or IP literal."""
    host = host.lower()
    if host.startswith("["):
        try:
            return "[%s]" % ipaddress.IPv6Address(host[1:-1]).compressed if host.endswith("]") else None
        except ValueError:
            return None
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if len(host) > 253 or not all(_DNS_LABEL.match(label) for label in labels):
        return None
    if all(_INET_ATON_PART.match(label) for label in labels):
        return None
    return host.rstrip(".")


def normalize_base_url(url):
    """Validate an Events API base URL and return it in canonical form.

    Parsed with urllib3's parser, the one requests connects with, then rebuilt
    from checked parts: https, or plain http to a literal loopback address; no
    user:password@, no path, query or fragment; a DNS name or an IP literal as
    host; the host lower-cased and the default port dropped, so cosmetic edits
    of the URL keep the checkpoints.
    """
    url = (url or "").strip()
    example = "expected e.g. https://events.1password.com"
    if not url:
        raise ConfigurationError(f"the Events API URL is empty; {example}")
    if not _URL_CHARS.match(url) or "\\" in url:
        raise ConfigurationError(
            f"the Events API URL contains a space, a backslash or a character outside printable ASCII; {example}"
        )
    if "://" not in url:
        url = "https://" + url
    if "@" in url.split("://", 1)[1].split("/", 1)[0]:
        # checked first: the URL (and a password in it) is not echoed in any message
        raise ConfigurationError(
            "the Events API URL must not contain a user name or password (user:password@); "
            "the Events Reporting token is the only credential"
        )
    try:
        parts = parse_url(url)
    except LocationParseError:
        raise ConfigurationError(f"'{url}' is not a valid URL; {example}") from None
    scheme = (parts.scheme or "").lower()
    if scheme not in _DEFAULT_PORTS:
        raise ConfigurationError(f"'{url}' must start with https://; {example}")
    if parts.auth is not None:
        raise ConfigurationError("the Events API URL must not contain a user name or password (user:password@)")
    host = _host_of(parts.host or "")
    if host is None:
        raise ConfigurationError(f"'{url}' does not name a valid host (a DNS name or an IP address); {example}")
    port = parts.port
    if port is not None and not 0 < port < 65536:
        raise ConfigurationError(f"'{url}' has an invalid port")
    if (parts.path or "/") != "/" or parts.query is not None or parts.fragment is not None:
        raise ConfigurationError(f"'{url}' must be a bare host URL without a path, e.g. https://{host}")
    if scheme == "http" and not is_loopback(host):
        raise ConfigurationError(
            "plain http:// is allowed only for a literal loopback address such as http://127.0.0.1:8443 "
            f"(a test server on this host); use https://{host}"
        )
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return f"{scheme}://{netloc}"


def same_host(saved, current):
    """Whether a host saved in a checkpoint (possibly by an older version, in
    another case or with the default port) is the host the client talks to."""

    def canonical(value):
        value = (value or "").strip().rstrip("/").lower()
        for port in (":443", ":80"):
            if value.endswith(port):
                value = value[: -len(port)]
        return value

    return canonical(saved) == canonical(current)


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
