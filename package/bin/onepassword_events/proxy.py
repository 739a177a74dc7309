"""Build a requests proxy URL from the add-on's Proxy tab settings.

splunktaucclib's get_proxy_uri() turns socks5 + remote DNS into socks5h and
then back into http, and does not quote credentials; this does both right.
"""

from urllib.parse import quote

from .errors import ConfigurationError

_TRUE = {"1", "true", "yes", "t", "y", "on"}
SCHEMES = {"http": "http", "https": "http", "socks5": "socks5", "socks4": "socks4"}


def is_true(value):
    return str(value).strip().lower() in _TRUE


def proxy_url(settings):
    """The proxy URL for `settings` (the proxy stanza), or None when disabled."""
    if not settings or not is_true(settings.get("proxy_enabled")):
        return None
    host = (settings.get("proxy_url") or "").strip()
    port = str(settings.get("proxy_port") or "").strip()
    if not host:
        raise ConfigurationError("the proxy is enabled but has no host; set it on the Proxy tab")
    if not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise ConfigurationError(f"the proxy port '{port}' is not a number between 1 and 65535")
    kind = (settings.get("proxy_type") or "http").strip().lower()
    if kind not in SCHEMES:
        raise ConfigurationError(f"unsupported proxy type '{kind}'; use http, socks4 or socks5")
    scheme = SCHEMES[kind]
    if scheme.startswith("socks") and is_true(settings.get("proxy_rdns")):
        # the proxy resolves the API host: needed where only the proxy has DNS
        scheme += "a" if scheme == "socks4" else "h"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # IPv6 literal
    user = settings.get("proxy_username") or ""
    password = settings.get("proxy_password") or ""
    auth = ""
    if user:
        auth = quote(user, safe="")
        if password:
            auth += ":" + quote(password, safe="")
        auth += "@"
    return f"{scheme}://{auth}{host}:{port}"
