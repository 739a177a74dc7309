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
