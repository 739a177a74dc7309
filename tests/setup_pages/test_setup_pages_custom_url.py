"""One rule for a custom URL, the same on the Accounts page and in the add-on
(issue 13, item 4): https://host[:port], no path, query, fragment or user:password@;
plain http:// only to a literal loopback address (127.x.x.x or [::1]), never localhost.

The examples come from that rule. The add-on's own check
(regions.normalize_base_url, what runs when an account is saved and used) is the
authority the page must agree with."""

import itertools

import pytest

from onepassword_events.errors import ConfigurationError
from onepassword_events.regions import normalize_base_url
from setup_pages_helpers import account_entity, first_refusal, node_verdicts, regex_validators, ui_accepts

ACCEPTED = [
    "https://events.example.com",
    "https://events.example.com/",
    "https://events.example.com:8443",
    "https://events.example.com:8443/",
    "https://events.1password.eu",
    "HTTPS://Events.Example.COM",  # scheme and host are case-insensitive
    "https://events.example.com.",  # a fully qualified name
    "https://xn--bcher-kva.example",  # an IDN in its ASCII form
    "https://gw-1.events.example.com:65535",
    "https://events.example.com:1",
    "https://events.example.com:08443",  # a zero-padded port is still port 8443
    "https://10.1.2.3:8443",
    "https://0.0.0.0",
    "https://127.0.0.1",  # https to anything, loopback included
    "https://localhost:8443",  # a name is fine over https
    "https://[2001:db8::10]:8443",
    "https://[::1]",
    "https://[1:2:3:4:5:6:7:8]",
    "https://[fe80::]",
    "http://127.0.0.1:8443",
    "http://127.0.0.1/",
    "http://127.45.6.7",
    "http://127.255.255.255:1",
    "http://[::1]:8443",
    "http://[::1]",
    "HTTP://127.0.0.1:8443",
]

REFUSED = {  # value: words of the message the page shows (the reason)
    "http://localhost:8443": "loopback",  # a name, resolved by whoever answers
    "http://LOCALHOST": "loopback",
    "http://events.example.com": "loopback",
    "http://10.0.0.1:8443": "loopback",
    "http://192.168.1.10": "loopback",
    "http://[::2]": "loopback",
    "http://[::ffff:127.0.0.1]": "valid host",  # IPv4-mapped: the page takes no dotted IPv6 tail
    "http://127.0.0.1.example.com": "loopback",
    "http://128.0.0.1": "loopback",
    "https://events.example.com/api/v2": "no path",
    "https://events.example.com/?": "no path",
    "https://events.example.com?region=eu": "no path",
    "https://events.example.com#top": "no path",
    "https://events.example.com/#": "no path",
    "http://127.0.0.1:8443/path": "no path",
    "https://user:secret@events.example.com": "user:password@",
    "https://token@events.example.com": "user:password@",
    "http://user:pw@127.0.0.1": "user:password@",
    "ftp://events.example.com": "Start with https://",
    "//events.example.com": "Start with https://",
    "javascript:alert(1)": "Start with https://",
    "https://": "valid host",
    "https://events.example.com:0": "port",
    "https://events.example.com:65536": "port",
    "https://events.example.com:99999": "port",
    "https://events.example.com:https": "port",
    "https://exa mple.com": "valid host",
    "https://exämple.com": "valid host",
    "https://under_score.example.com": "valid host",
    "https://-edge.example.com": "valid host",
    "https://edge-.example.com": "valid host",
    "https://a..b.example.com": "valid host",
    "https://" + "a" * 64 + ".example.com": "valid host",  # a label is at most 63 characters
    "https://" + ".".join(["a" * 63] * 4) + ".x": "valid host",  # a name is at most 253
    "https://1.2.3": "valid host",  # numbers that a resolver reads as an address
    "https://2130706433": "valid host",
    "https://0x7f000001": "valid host",
    "https://0x7f.1": "valid host",
    "https://1.2.3.256": "valid host",
    "https://1.2.3.04": "valid host",
    "https://2001:db8::1": "valid host",  # IPv6 without brackets
    "https://[2001:db8::1": "valid host",
    "https://[::1::2]": "valid host",
    "https://[1:2:3:4:5:6:7:8:9]": "valid host",
    "https://[12345::1]": "valid host",
    "https://[events.example.com]": "valid host",
}

# Spellings the add-on tolerates but the page asks to write the documented way. The
# page may be stricter than the add-on, never looser.
UI_STRICTER = [
    "events.example.com",  # the add-on assumes https://
    "events.example.com:443",
    " https://events.example.com ",  # the add-on trims
    "https://events.example.com:",  # an empty port
    "https://events.example.com..",
    "http://[0:0:0:0:0:0:0:1]",  # ::1 written out
    "https://[::ffff:1.2.3.4]",  # IPv6 with a dotted IPv4 tail
    "https://[fe80::1%25eth0]",  # an IPv6 zone
]


def server_accepts(value):
    try:
        normalize_base_url(value)
        return True
    except ConfigurationError:
        return False


@pytest.fixture(scope="module")
def custom_url():
    return account_entity("custom_url")


@pytest.mark.parametrize("value", ACCEPTED)
def test_the_page_and_the_add_on_both_accept(custom_url, value):
    assert ui_accepts(custom_url, value), first_refusal(custom_url, value)
    assert server_accepts(value)


@pytest.mark.parametrize("value, reason", sorted(REFUSED.items()))
def test_the_page_and_the_add_on_both_refuse_and_the_page_says_why(custom_url, value, reason):
    message = first_refusal(custom_url, value)
    assert message is not None, "the page accepts %r" % value
    assert reason in message, (value, message)
    assert not server_accepts(value)


@pytest.mark.parametrize("value", UI_STRICTER)
def test_the_page_is_only_ever_stricter_than_the_add_on(custom_url, value):
    assert not ui_accepts(custom_url, value)
    assert server_accepts(value), "the add-on refuses it too: move it to REFUSED"


def test_the_page_agrees_with_the_add_on_on_every_combination(custom_url):
    """Scheme x user info x host x port x suffix: the page's verdict is the add-on's,
    except for the tolerated spellings above (no scheme, an empty port, a trailing space)."""
    schemes = ["https://", "http://", "HTTPS://", "ftp://", ""]
    userinfo = ["", "u:p@", "u@"]
    hosts = ["events.example.com", "events.example.com.", "localhost", "127.0.0.1", "127.9.8.7", "10.0.0.1",
             "0.0.0.0", "[::1]", "[::2]", "[2001:db8::1]", "[::]", "1.2.3", "256.1.1.1", "under_score.example",
             "xn--80ak6aa92e.com", "a" * 63 + ".com", "0x10.example", "3com.example", "[::1", "::1"]
    ports = ["", ":1", ":443", ":8443", ":65535", ":65536", ":0", ":", ":08443", ":x"]
    suffixes = ["", "/", "/x", "?q=1", "#f", "/?", " "]
    disagreements = []
    for scheme, user, host, port, suffix in itertools.product(schemes, userinfo, hosts, ports, suffixes):
        value = scheme + user + host + port + suffix
        page, add_on = ui_accepts(custom_url, value), server_accepts(value)
        if page and not add_on:
            disagreements.append(("the page accepts what the add-on refuses", value))
        elif add_on and not page and not (scheme == "" or port == ":" or suffix == " "):
            disagreements.append(("the page refuses what the add-on accepts", value))
    assert not disagreements, disagreements[:20]


def test_the_browser_judges_every_example_as_splunkd_does(custom_url):
    """The same patterns run as JavaScript in the page and as Python in splunkd's
    generated handler: both engines give the same verdict on every example."""
    values = ACCEPTED + sorted(REFUSED) + UI_STRICTER
    patterns = [v["pattern"] for v in regex_validators(custom_url)]
    assert node_verdicts(patterns, values) == [ui_accepts(custom_url, v) for v in values]


def test_the_help_states_the_rule_and_nothing_else(custom_url):
    help_text = custom_url["help"]
    for words in ("https://host", "https://host:port", "path", "query", "fragment", "user:password@",
                  "127.x.x.x", "[::1]", "localhost"):
        assert words in help_text, words
    assert "Must be https" not in help_text
