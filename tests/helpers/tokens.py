"""Unsigned test JWTs shaped like 1Password Events Reporting tokens."""

import base64
import json

ALL_FEATURES = ("signinattempts", "itemusages", "auditevents")


def _b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def make_token(host="events.1password.com", features=ALL_FEATURES, extra=None):
    claims = {"aud": [host], "sub": "TESTSUBJECT", "iss": "com.1password.b5", "1password.com/fts": None if features is None else list(features),
              "iat": 1767225600}
    if features is None:
        del claims["1password.com/fts"]
    claims.update(extra or {})
    header = {"alg": "ES256", "kid": "test-key", "typ": "JWT"}
    return f"{_b64(header)}.{_b64(claims)}.c2lnbmF0dXJlLW5vdC1jaGVja2VkLWJ5LXRoZS1jbGllbnQtc2lkZQ"
