"""What a server sends back is masked before a log line or the CLI shows it (redaction.py): the
token and the proxy's credentials in every form a server may echo them in, and the error text
itself printable and short. Each echo is built here with the standard library, as a server would
build it, not with the add-on's own list of forms."""

import base64
import json
import re
from urllib.parse import quote

import pytest

from helpers.tokens import make_token
from onepassword_events.redaction import Redactor

TOKEN = make_token()
PROXY_USER = "svc-proxy"
PROXY_PASSWORD = 'pä"ss\\w0rd@corp'  # a quote, a backslash, non-ASCII and an at sign
PROXY = "http://%s:%s@proxy.corp:3128" % (PROXY_USER, quote(PROXY_PASSWORD, safe=""))


def longest_unmasked_run(text):
    return max((len(part) for part in text.split("***")), default=0)


@pytest.mark.parametrize("prefix", [b"", b"{", b'{"', b'{"t', b'{"to'])
@pytest.mark.parametrize("suffix", [b"", b"}", b'"}', b'"}\n'])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_the_token_inside_base64_text_is_masked_at_every_alignment(prefix, suffix, encode):
    echoed = encode(prefix + TOKEN.encode() + suffix).decode()
    masked = Redactor(TOKEN).mask(echoed)
    assert "***" in masked
    # what is left at each end is the server's own bytes and the character or two shared with the token
    # (with its padding), never a piece made of the token's bits alone
    edge = max(len(encode(prefix)), len(encode(suffix))) + 3
    assert longest_unmasked_run(masked) <= edge, masked


@pytest.mark.parametrize("echo", [
    lambda s: s,
    lambda s: json.dumps({"message": "bad token " + s}),
    lambda s: json.dumps({"message": "bad token " + s}, ensure_ascii=False),
    lambda s: "invalid header: Bearer%20" + quote(s, safe=""),
])
def test_the_token_and_the_proxy_password_are_masked_raw_json_escaped_and_percent_encoded(echo):
    redactor = Redactor(TOKEN, PROXY)
    for secret in (TOKEN, PROXY_PASSWORD):
        masked = redactor.mask(echo(secret))
        # the whole secret is gone, not one character of it is left at either end
        assert "***" in masked and masked.replace("***", "") == echo("")


def test_the_proxy_user_and_password_are_masked_together_and_alone():
    redactor = Redactor(TOKEN, PROXY)
    assert redactor.mask("proxy said: %s:%s rejected" % (PROXY_USER, PROXY_PASSWORD)) == "proxy said: *** rejected"
    assert redactor.mask("proxy said: %s:%s rejected" % (PROXY_USER, quote(PROXY_PASSWORD, safe=""))) == \
        "proxy said: *** rejected"
    assert redactor.mask("password %s" % PROXY_PASSWORD) == "password ***"


def test_the_proxy_authorization_header_echoed_back_is_masked_whole():
    basic = base64.b64encode(("%s:%s" % (PROXY_USER, PROXY_PASSWORD)).encode()).decode()
    assert Redactor(TOKEN, PROXY).mask("Proxy-Authorization: Basic " + basic) == "Proxy-Authorization: Basic ***"


def test_a_proxy_password_typed_with_a_raw_at_sign_is_masked_alone():
    # as a user may type it after --proxy: the host is after the last "@"
    redactor = Redactor(TOKEN, "http://svc:p@ss@word@proxy.corp:3128")
    assert redactor.mask("password p@ss@word refused") == "password *** refused"


def test_a_proxy_url_without_a_scheme_has_its_credentials_masked():
    redactor = Redactor(TOKEN, "svc:s3cret-pass@proxy.corp:3128")
    assert redactor.mask("denied svc:s3cret-pass") == "denied ***"


@pytest.mark.parametrize("password, masked_alone", [("x9z", True), ("ab", False)])
def test_a_proxy_password_of_three_characters_or_more_is_masked_alone_shorter_ones_are_ordinary_text(
        password, masked_alone):
    redactor = Redactor(TOKEN, "http://svc:%s@proxy.corp:3128" % password)
    text = "the password %s was refused" % password
    assert (redactor.mask(text) == "the password *** was refused") is masked_alone
    assert redactor.mask("svc:%s" % password) == "***"  # with the user name: always


def test_a_short_proxy_password_is_masked_inside_base64_too():
    redactor = Redactor(TOKEN, "http://svc:hunt3@proxy.corp:3128")
    assert "***" in redactor.mask(base64.b64encode(b"hunt3").decode())


def test_without_a_proxy_nothing_but_the_token_is_masked():
    assert Redactor(TOKEN).mask("user:password@proxy 401") == "user:password@proxy 401"


def test_the_detail_is_one_printable_line_with_secrets_masked():
    redactor = Redactor(TOKEN)
    detail = redactor.detail("bad\x00\x01token\r\n\t" + TOKEN + "\u2028 end ")
    assert detail == "API message: 'bad token *** end'"
    assert redactor.detail(" \x00 \n") is None


def test_a_secret_split_by_line_breaks_is_masked_once_the_line_is_joined():
    # a proxy password with a space, echoed by a server that folded the line there
    redactor = Redactor(TOKEN, "http://svc:%s@proxy.corp:3128" % quote("correct horse", safe=""))
    assert redactor.detail("refused correct\r\n   horse") == "API message: 'refused ***'"


@pytest.mark.parametrize("length", [120, 121])
def test_a_long_message_is_cut_to_120_characters_with_an_ellipsis_and_one_of_120_is_kept_whole(length):
    text = ("0123456789" * 20)[:length]
    detail = Redactor(TOKEN).detail(text)
    shown = re.fullmatch(r"API message: '(.*)'", detail).group(1)
    if length == 120:
        assert shown == text
    else:
        assert shown == text[:119] + "…" and len(shown) == 120


def test_a_secret_whose_base64_ends_in_x_is_masked_to_its_last_character():
    """A password ending in "W" (9 bytes: no padding) encodes to base64 ending in "X"; the echo of
    that encoding alone is masked whole, so no character made of the password's bits is left."""
    password = "corpPassW"
    echoed = base64.b64encode(password.encode()).decode()
    assert echoed.endswith("X") and not echoed.endswith("=")
    proxy = "http://%s:%s@proxy.corp:3128" % (PROXY_USER, password)
    assert Redactor(TOKEN, proxy).mask(echoed) == "***"
