import pytest

from onepassword_events import regions
from onepassword_events.errors import ConfigurationError
from helpers.tokens import make_token


@pytest.mark.parametrize("host", list(regions.REGION_HOSTS))
def test_each_region_and_detection_from_the_token(host):
    assert regions.resolve_base_url(host, None, "x") == "https://" + host
    assert regions.resolve_base_url("auto", None, make_token(host)) == "https://" + host


@pytest.mark.parametrize("alias, host", [("com", "events.1password.com"), ("ent", "events.ent.1password.com"),
                                         ("ca", "events.1password.ca"), ("eu", "events.1password.eu")])
def test_cli_aliases(alias, host):
    assert regions.resolve_base_url(alias) == "https://" + host


def test_custom_url_https_anywhere_http_only_on_loopback():
    assert regions.resolve_base_url("custom", "https://gw.example:8443/") == "https://gw.example:8443"
    assert regions.resolve_base_url("custom", "http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert regions.resolve_base_url("custom", "http://[::1]:1") == "http://[::1]:1"
    # a name is not a loopback address: what it resolves to is up to the resolver
    with pytest.raises(ConfigurationError, match="only for a literal loopback address"):
        regions.resolve_base_url("custom", "http://localhost:1")
    with pytest.raises(ConfigurationError, match="only for a literal loopback address"):
        regions.resolve_base_url("custom", "http://events.example.com")
    with pytest.raises(ConfigurationError, match="without a path"):
        regions.resolve_base_url("custom", "https://events.example.com/api/v2")
    with pytest.raises(ConfigurationError, match="no custom URL"):
        regions.resolve_base_url("custom", "")


def test_unknown_region_and_undetectable_token():
    with pytest.raises(ConfigurationError, match="unknown region"):
        regions.resolve_base_url("events.example.com")
    with pytest.raises(ConfigurationError, match="choose the region"):
        regions.resolve_base_url("auto", None, "not-a-jwt")
    old = make_token("com.1password.streamingservice")
    with pytest.raises(ConfigurationError):
        regions.resolve_base_url("auto", None, old)


def test_token_of_another_region_is_refused_with_the_right_region_named():
    token = make_token("events.1password.eu")
    with pytest.raises(ConfigurationError, match="belongs to events.1password.eu"):
        regions.check_token_region(token, "https://events.1password.com")
    regions.check_token_region(token, "https://events.1password.eu")
    regions.check_token_region(token, "http://127.0.0.1:8080")  # custom URLs are not checked


def test_claims_of_a_broken_token_are_empty():
    assert regions.token_claims("a.b.c") == {}
    assert regions.token_claims("") == {}
    assert regions.token_host("a.%%%.c") is None


LOOPBACK_QUESTIONS = ["http://127.0.0.1:1", "http://[::1]:1", "http://[::ffff:127.0.0.1]:1", "http://[::ffff:7f00:1]:1",
                      "http://127.1.2.3:1", "http://[::127.0.0.1]:1", "http://10.0.0.1:1"]
LOOPBACK_PROBE = """
import json, sys
sys.path[:0] = sys.argv[1:3]
from onepassword_events import regions
answers = {}
for url in json.loads(sys.argv[3]):
    try:
        answers[url] = regions.resolve_base_url("custom", url)
    except regions.ConfigurationError:
        answers[url] = None
print(json.dumps(answers))
"""


def test_plain_http_loopback_rules_answer_the_same_on_python_3_9_and_3_13():
    import json
    import os
    import shutil
    import subprocess

    import urllib3

    bin_dir = os.path.dirname(os.path.dirname(regions.__file__))
    libraries = os.path.dirname(os.path.dirname(urllib3.__file__))
    answers = {}
    for version, command in (("3.9.18", "python3.9"), ("3.13.0", "python3.13")):
        python = shutil.which(command)
        if python is None:
            pytest.skip(f"{command} is not installed (pyenv {version})")
        result = subprocess.run([python, "-I", "-S", "-c", LOOPBACK_PROBE, bin_dir, libraries,
                                 json.dumps(LOOPBACK_QUESTIONS)], capture_output=True, text=True, timeout=60,
                                env={"PATH": os.environ["PATH"], "PYENV_VERSION": version})
        assert result.returncode == 0, result.stderr
        answers[version] = json.loads(result.stdout)
    assert answers["3.9.18"] == answers["3.13.0"]
    assert answers["3.13.0"]["http://[::ffff:127.0.0.1]:1"] is None  # refused on both
    assert answers["3.13.0"]["http://127.1.2.3:1"] == "http://127.1.2.3:1"
    assert answers["3.13.0"]["http://10.0.0.1:1"] is None


def test_the_us_alias_is_the_1password_com_region_and_a_region_is_read_whatever_its_case():
    assert regions.resolve_base_url("us") == "https://events.1password.com"
    assert regions.resolve_base_url(" EU ") == "https://events.1password.eu"


def test_no_region_means_auto_and_a_custom_url_under_auto_is_used():
    assert regions.resolve_base_url(None, None, make_token("events.1password.ca")) == "https://events.1password.ca"
    assert regions.resolve_base_url("auto", "https://GW.example:443", make_token()) == "https://gw.example"


def test_the_region_refusals_say_what_to_choose():
    with pytest.raises(ConfigurationError) as unknown:
        regions.resolve_base_url("mars")
    assert str(unknown.value) == ("unknown region 'mars'; use one of events.1password.com, events.ent.1password.com, "
                                  "events.1password.ca, events.1password.eu, 'auto' or 'custom'")
    with pytest.raises(ConfigurationError) as undetectable:
        regions.resolve_base_url("auto", None, "not-a-jwt")
    assert str(undetectable.value) == ("cannot tell the region from this token (no events host in its 'aud' claim); "
                                       "choose the region explicitly")
    with pytest.raises(ConfigurationError) as no_url:
        regions.resolve_base_url("custom", None)
    assert str(no_url.value) == "region is 'custom' but no custom URL is set"
    with pytest.raises(ConfigurationError) as other_region:
        regions.check_token_region(make_token("events.1password.eu"), "https://events.1password.com")
    assert str(other_region.value) == ("this token belongs to events.1password.eu, not events.1password.com: "
                                       "choose the region events.1password.eu for this account")


@pytest.mark.parametrize("aud, host", [
    ("events.1password.eu", "events.1password.eu"),                                   # a string, not a list
    (["com.1password.streamingservice", "events.1password.ca"], "events.1password.ca"),  # the first events host
    (["", "nodot", 7, "https://EVENTS.1password.com/"], "events.1password.com"),     # a URL, in capitals
    (["events.ent.1password.com/"], "events.ent.1password.com"),
    (["EVENTS.EXAMPLE.BOX/"], "events.example.box"),
    (["https://"], None),
    ([], None),
    (7, None),
    (None, None),
])
def test_the_events_host_is_read_from_the_tokens_audience(aud, host):
    assert regions.token_host(make_token(extra={"aud": aud})) == host


def test_a_token_that_is_not_a_three_part_jwt_with_an_object_payload_has_no_claims():
    assert regions.token_claims("a.b") == {}
    assert regions.token_claims(None) == {}
    list_payload = make_token().split(".")
    list_payload[1] = "WzFd"  # base64 of [1]
    assert regions.token_claims(".".join(list_payload)) == {}
    assert regions.token_claims("a.\u00e9.c") == {}  # not ASCII
    # a payload whose base64 needs padding still decodes
    assert regions.token_claims(make_token(extra={"sub": "ab"}))["sub"] == "ab"


@pytest.mark.parametrize("url, canonical", [
    ("events.example.com", "https://events.example.com"),              # no scheme: https
    ("  HTTPS://Events.Example.COM.:443/  ", "https://events.example.com"),  # case, trailing dot, default port
    ("http://127.0.0.1:80", "http://127.0.0.1"),
    ("http://127.0.0.1:8443", "http://127.0.0.1:8443"),
    ("https://[FD00::0001]:8443", "https://[fd00::1]:8443"),
    ("https://10.0.0.7", "https://10.0.0.7"),
    ("https://a-b.example", "https://a-b.example"),
    ("https://" + "a" * 63 + ".example", "https://" + "a" * 63 + ".example"),
    ("https://1password.example", "https://1password.example"),
    ("https://events.1password.com:1", "https://events.1password.com:1"),
    ("https://events.1password.com:65535", "https://events.1password.com:65535"),
])
def test_a_custom_url_is_kept_in_one_canonical_form(url, canonical):
    assert regions.normalize_base_url(url) == canonical


EXAMPLE = "expected e.g. https://events.1password.com"


@pytest.mark.parametrize("url, message", [
    ("", f"the Events API URL is empty; {EXAMPLE}"),
    ("https://events .example.com", "the Events API URL contains a space, a backslash or a character outside "
                                    f"printable ASCII; {EXAMPLE}"),
    ("https://events\\example.com", "the Events API URL contains a space, a backslash or a character outside "
                                    f"printable ASCII; {EXAMPLE}"),
    ("https://ops:secret@events.example.com", "the Events API URL must not contain a user name or password "
                                              "(user:password@); the Events Reporting token is the only credential"),
    ("ftp://events.example.com", f"'ftp://events.example.com' must start with https://; {EXAMPLE}"),
    ("https://events.example.com:99999", f"'https://events.example.com:99999' is not a valid URL; {EXAMPLE}"),
    ("https://events.example.com:0", "'https://events.example.com:0' has an invalid port"),
    ("https://-events.example.com", f"'https://-events.example.com' does not name a valid host (a DNS name or an IP "
                                    f"address); {EXAMPLE}"),
    ("https://[fd00::1", f"'https://[fd00::1' is not a valid URL; {EXAMPLE}"),
    ("https://events.example.com?x=1", "'https://events.example.com?x=1' must be a bare host URL without a path, "
                                       "e.g. https://events.example.com"),
    ("https://events.example.com#top", "'https://events.example.com#top' must be a bare host URL without a path, "
                                       "e.g. https://events.example.com"),
    ("http://events.example.com", "plain http:// is allowed only for a literal loopback address such as "
                                  "http://127.0.0.1:8443 (a test server on this host); use https://events.example.com"),
])
def test_a_bad_custom_url_is_refused_saying_what_is_wrong(url, message):
    with pytest.raises(ConfigurationError) as refused:
        regions.normalize_base_url(url)
    assert str(refused.value) == message


@pytest.mark.parametrize("host", [
    "2130706433", "0x7f000001", "127.1", "0177.0.0.1",      # addresses in disguise
    "a" * 64 + ".example",                                    # a label longer than 63
    ("a" * 62 + ".") * 4 + "example",                         # a name longer than 253
    "events_1.example", "events-.example",
    "[127.0.0.1]",
])
def test_a_host_that_is_not_a_plain_dns_name_or_ip_literal_is_refused(host):
    with pytest.raises(ConfigurationError, match="does not name a valid host|is not a valid URL"):
        regions.normalize_base_url("https://" + host)


@pytest.mark.parametrize("saved, current, same", [
    ("EVENTS.1password.com:443", "events.1password.com", True),
    ("127.0.0.1:80/", "127.0.0.1", True),
    ("events.1password.com", "events.1password.com:443", True),
    ("gw.example:8443", "gw.example", False),
    ("events.1password.com", "events.1password.eu", False),
    ("EVENTS.EXAMPLE.BOX/", "events.example.box", True),
    (None, "", True),
    ("events.1password.com", "events.1password.com", True),
    ("EVENTS.1password.com:443/", "events.1password.com", True),
    (" 127.0.0.1:80 ", "127.0.0.1", True),
    ("events.1password.com:8443", "events.1password.com", False),
    ("events.1password.eu", "events.1password.com", False),
    (None, "events.1password.com", False),
])
def test_a_checkpoints_saved_host_is_matched_whatever_its_spelling(saved, current, same):
    assert regions.same_host(saved, current) is same


def test_a_host_name_of_253_characters_is_taken_and_one_of_254_refused():
    longest = "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 61
    assert regions.normalize_base_url("https://" + longest) == "https://" + longest
    with pytest.raises(ConfigurationError, match="does not name a valid host"):
        regions.normalize_base_url("https://" + longest + "d")


def test_no_url_an_at_sign_in_the_path_and_a_url_without_a_host_get_their_own_refusals():
    with pytest.raises(ConfigurationError, match="the Events API URL is empty"):
        regions.normalize_base_url(None)
    with pytest.raises(ConfigurationError, match="must be a bare host URL without a path"):
        regions.normalize_base_url("https://events.example.com/a@b")
    with pytest.raises(ConfigurationError, match="does not name a valid host"):
        regions.normalize_base_url("https://:8443")


def test_a_tokens_claims_are_read_whatever_the_length_of_its_signature():
    header, payload, _ = make_token("events.1password.ca").split(".")
    for signature in ("c2ln", "c2lnbg", "c2lnbmE", "c2lnbmF0"):
        assert regions.token_host(".".join((header, payload, signature))) == "events.1password.ca"


import base64  # noqa: E402
import json  # noqa: E402


LONGEST_NAME = ".".join(["a" * 63] * 3 + ["a" * 61])  # 253 characters


NOT_A_HOST = "does not name a valid host (a DNS name or an IP address); " + EXAMPLE


@pytest.mark.parametrize("url, canonical", [
    ("https://H.Example.COM.", "https://h.example.com"),
    ("h.example.com:8443", "https://h.example.com:8443"),
    (" https://h.example.com/ ", "https://h.example.com"),
    ("https://h.example.com:443", "https://h.example.com"),
    ("https://h.example.com:80", "https://h.example.com:80"),
    ("https://h.example.com:65535", "https://h.example.com:65535"),
    ("http://127.0.0.1:80", "http://127.0.0.1"),
    ("HTTP://127.0.0.1:8443", "http://127.0.0.1:8443"),
    ("https://[0:0::1]:8443", "https://[::1]:8443"),
    ("https://1.2.3.4", "https://1.2.3.4"),
    ("https://1a.example", "https://1a.example"),
    ("https://%s.com" % ("a" * 63), "https://%s.com" % ("a" * 63)),
    ("https://" + LONGEST_NAME, "https://" + LONGEST_NAME),
])
def test_a_base_url_is_kept_in_one_canonical_form(url, canonical):
    assert regions.normalize_base_url(url) == canonical


@pytest.mark.parametrize("url, message", [
    ("", "the Events API URL is empty; " + EXAMPLE),
    (None, "the Events API URL is empty; " + EXAMPLE),
    ("https://h.example.com/a b", "the Events API URL contains a space, a backslash or a character outside printable "
                                  "ASCII; " + EXAMPLE),
    ("https://h\\x.com", "the Events API URL contains a space, a backslash or a character outside printable ASCII; "
                         + EXAMPLE),
    ("https://hé.com", "the Events API URL contains a space, a backslash or a character outside printable ASCII; "
                       + EXAMPLE),
    ("ops:s3cret@h.example.com", "the Events API URL must not contain a user name or password (user:password@); "
                                 "the Events Reporting token is the only credential"),
    ("https://[::1", "'https://[::1' is not a valid URL; " + EXAMPLE),
    ("ftp://h.example.com", "'ftp://h.example.com' must start with https://; " + EXAMPLE),
    ("https://%s.com" % ("a" * 64), "'https://%s.com' %s" % ("a" * 64, NOT_A_HOST)),
    ("https://" + LONGEST_NAME + "a", "'https://%sa' %s" % (LONGEST_NAME, NOT_A_HOST)),
    ("https://-a.example", "'https://-a.example' " + NOT_A_HOST),
    ("https://a-.example", "'https://a-.example' " + NOT_A_HOST),
    ("https://2130706433", "'https://2130706433' " + NOT_A_HOST),
    ("https://0x7f000001", "'https://0x7f000001' " + NOT_A_HOST),
    ("https://127.1", "'https://127.1' " + NOT_A_HOST),
    ("https://01.2.3.4", "'https://01.2.3.4' " + NOT_A_HOST),
    ("https://:443", "'https://:443' " + NOT_A_HOST),
    ("https://h.example.com:0", "'https://h.example.com:0' has an invalid port"),
    ("https://h.example.com/x", "'https://h.example.com/x' must be a bare host URL without a path, "
                                "e.g. https://h.example.com"),
    ("https://h.example.com?a=1", "'https://h.example.com?a=1' must be a bare host URL without a path, "
                                  "e.g. https://h.example.com"),
    ("https://h.example.com#f", "'https://h.example.com#f' must be a bare host URL without a path, "
                                "e.g. https://h.example.com"),
    ("https://h.example.com/a@b", "'https://h.example.com/a@b' must be a bare host URL without a path, "
                                  "e.g. https://h.example.com"),  # an @ in the path is no user name
    ("http://h.example.com", "plain http:// is allowed only for a literal loopback address such as "
                             "http://127.0.0.1:8443 (a test server on this host); use https://h.example.com"),
])
def test_a_base_url_that_breaks_a_rule_is_refused_saying_which(url, message):
    with pytest.raises(ConfigurationError) as caught:
        regions.normalize_base_url(url)
    assert str(caught.value) == message and caught.value.category == "configuration"


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.255.0.9", True), ("[::1]", True), ("::1", True),
                                            ("::ffff:127.0.0.1", False), ("localhost", False), ("10.0.0.1", False),
                                            (None, False), ("", False)])
def test_only_a_literal_loopback_address_is_loopback(host, loopback):
    assert regions.is_loopback(host) is loopback


def jwt(payload):
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"e30.{body}.sig"


@pytest.mark.parametrize("aud, host", [
    ("events.1password.eu", "events.1password.eu"),
    (["com.1password.streamingservice", "events.ent.1password.com"], "events.ent.1password.com"),
    (["", "nodot", 7, "https://Events.1Password.CA/"], "events.1password.ca"),
    ("EVENTS.EXAMPLE.BOX/", "events.example.box"),
    ("https://", None),
    (["com.1password.streamingservice"], None),
    (42, None),
    (None, None),
])
def test_the_region_is_read_from_the_tokens_audience(aud, host):
    assert regions.token_host(jwt({"aud": aud})) == host


def test_a_token_payload_of_any_length_is_decoded():
    for name in ("a", "ab", "abc", "abcd"):  # every remainder of the base64 length
        assert regions.token_claims(jwt({"n": name})) == {"n": name}
    assert regions.token_claims(jwt(["a", "list"])) == {}
    assert regions.token_claims("e30.\u00e9.sig") == {}
    assert regions.token_claims("a.b") == {} and regions.token_claims("a.b.c.d") == {} and regions.token_claims(None) == {}


@pytest.mark.parametrize("region, host", [("us", "events.1password.com"), (" EU ", "events.1password.eu"),
                                          ("Events.1Password.CA", "events.1password.ca"), ("", "events.1password.eu"),
                                          (None, "events.1password.eu"), ("AUTO", "events.1password.eu")])
def test_the_region_setting_names_the_host(region, host):
    assert regions.resolve_base_url(region, None, make_token("events.1password.eu")) == "https://" + host


def test_a_custom_url_wins_over_auto_and_custom_is_read_in_any_spelling():
    # (the other refusals' texts: test_the_region_refusals_say_what_to_choose)
    assert regions.resolve_base_url(None, "gw.example:8443", make_token()) == "https://gw.example:8443"
    assert regions.resolve_base_url("auto", "https://gw.example", make_token()) == "https://gw.example"
    assert regions.resolve_base_url("eu", "https://gw.example", make_token()) == "https://events.1password.eu"
    with pytest.raises(ConfigurationError) as caught:
        regions.resolve_base_url(" Custom ", None)
    assert str(caught.value) == "region is 'custom' but no custom URL is set"


def test_a_token_is_checked_against_the_four_documented_hosts_only():
    eu = make_token("events.1password.eu")
    with pytest.raises(ConfigurationError) as caught:
        regions.check_token_region(eu, "https://events.ent.1password.com")
    assert str(caught.value) == ("this token belongs to events.1password.eu, not events.ent.1password.com: "
                                 "choose the region events.1password.eu for this account")
    regions.check_token_region(jwt({"aud": "events.example.com"}), "https://events.1password.com")
    regions.check_token_region(eu, "https://gw.example")
    regions.check_token_region("not-a-jwt", "https://events.1password.com")
