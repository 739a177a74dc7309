"""Secrets out of what a server sends back: the token and the proxy's
credentials are masked, in every form they may travel in, before an API
error message reaches a log line or the CLI."""

import base64
import json
import re
from urllib.parse import quote, unquote

MAX_DETAIL = 120  # characters of an API error message kept in `detail`
_PRINTABLE = re.compile(r"[^ -~]+")
_SPACES = re.compile(r"\s+")


def _base64_cores(raw):
    """The parts of base64(prefix + raw + suffix) that depend on `raw` alone,
    for each alignment: a secret echoed inside base64 text contains one."""
    cores = set()
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * shift + raw).decode("ascii").rstrip("=")
            first = -(-shift * 8 // 6)  # first character made of secret bits only
            last = (8 * (shift + len(raw))) // 6  # characters fully inside the secret
            core = text[first:last]
            if len(core) >= 6:
                cores.add(core)
    return cores


def secret_forms(secret):
    """Every form in which a secret may come back: as is, JSON-escaped,
    percent-encoded, base64 at any alignment."""
    if not secret:
        return set()
    forms = {secret, quote(secret, safe=""), unquote(secret), json.dumps(secret)[1:-1],
             json.dumps(secret, ensure_ascii=False)[1:-1]}
    forms |= _base64_cores(secret.encode("utf-8"))
    return {form for form in forms if form}


def proxy_secrets(proxy_url):
    """The credentials of a proxy URL, in the forms they travel in."""
    if not proxy_url or "@" not in proxy_url:
        return set()
    userinfo = proxy_url.split("://", 1)[-1].rsplit("@", 1)[0]
    user, _, password = unquote(userinfo).partition(":")
    secrets = secret_forms(userinfo) | secret_forms(unquote(userinfo))
    if len(password) >= 3:  # shorter ones would mask ordinary words; they are not secrets anyway
        secrets |= secret_forms(password)
    # Proxy-Authorization: Basic base64(user:password)
    secrets.add(base64.b64encode(f"{user}:{password}".encode("utf-8")).decode("ascii"))
    return secrets


class Redactor:
    """Masks a fixed set of secrets (longest first, so no part of one survives)."""

    def __init__(self, token, proxy_url=None):
        self._secrets = sorted(secret_forms(token) | proxy_secrets(proxy_url), key=len, reverse=True)

    def mask(self, text):
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def detail(self, text):
        """An API error message fit for a log line: secrets masked (before
        anything can cut one), printable ASCII only, short; None when empty."""
        text = self.mask(text)
        text = _SPACES.sub(" ", _PRINTABLE.sub(" ", text)).strip()
        text = self.mask(text)
        if len(text) > MAX_DETAIL:
            text = text[: MAX_DETAIL - 1] + "…"
        return f"API message: {text!r}" if text else None
