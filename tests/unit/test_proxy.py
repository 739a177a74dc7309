import pytest

from onepassword_events.errors import ConfigurationError
from onepassword_events.proxy import proxy_url


def settings(**overrides):
    base = {"proxy_enabled": "1", "proxy_type": "http", "proxy_url": "proxy.corp.example", "proxy_port": "3128"}
    base.update(overrides)
    return base


def test_disabled_or_missing_proxy_means_direct():
    assert proxy_url(None) is None
    assert proxy_url({}) is None
    assert proxy_url(settings(proxy_enabled="0")) is None


def test_http_proxy():
    assert proxy_url(settings()) == "http://proxy.corp.example:3128"


def test_socks5_with_remote_dns_is_socks5h_and_stays_socks():
    assert proxy_url(settings(proxy_type="socks5", proxy_rdns="1")) == "socks5h://proxy.corp.example:3128"
    assert proxy_url(settings(proxy_type="socks5", proxy_rdns="0")) == "socks5://proxy.corp.example:3128"
    assert proxy_url(settings(proxy_type="socks4", proxy_rdns="true")) == "socks4a://proxy.corp.example:3128"


def test_credentials_are_percent_encoded():
    url = proxy_url(settings(proxy_username="corp\\ops@x", proxy_password="p@ss:w/rd#1%"))
    assert url == "http://corp%5Cops%40x:p%40ss%3Aw%2Frd%231%25@proxy.corp.example:3128"


def test_username_without_password():
    assert proxy_url(settings(proxy_username="ops")) == "http://ops@proxy.corp.example:3128"


def test_ipv6_host_is_bracketed():
    assert proxy_url(settings(proxy_url="fd00::1")) == "http://[fd00::1]:3128"


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"proxy_url": ""}, "no host"),
        ({"proxy_port": "abc"}, "port"),
        ({"proxy_port": "70000"}, "port"),
        ({"proxy_type": "ftp"}, "unsupported proxy type"),
    ],
)
def test_bad_settings_are_explained(overrides, words):
    with pytest.raises(ConfigurationError, match=words):
        proxy_url(settings(**overrides))


@pytest.mark.parametrize("enabled", ["1", "true", "yes", "t", "y", "on", " TRUE ", "On", 1, True])
def test_every_way_the_proxy_tab_says_enabled_turns_the_proxy_on(enabled):
    assert proxy_url(settings(proxy_enabled=enabled)) == "http://proxy.corp.example:3128"


@pytest.mark.parametrize("enabled", ["0", "false", "no", "off", "", None, 0, False])
def test_every_way_the_proxy_tab_says_disabled_means_direct(enabled):
    assert proxy_url(settings(proxy_enabled=enabled)) is None


def test_an_https_proxy_type_is_spoken_to_in_http():
    """requests reaches an HTTPS API through the proxy with CONNECT over plain HTTP."""
    assert proxy_url(settings(proxy_type="https")) == "http://proxy.corp.example:3128"


def test_a_proxy_without_a_type_is_http_and_a_type_in_capitals_is_understood():
    assert proxy_url(settings(proxy_type=None)) == "http://proxy.corp.example:3128"
    assert proxy_url(settings(proxy_type=" SOCKS5 ")) == "socks5://proxy.corp.example:3128"


def test_remote_dns_does_not_change_an_http_proxy():
    assert proxy_url(settings(proxy_rdns="1")) == "http://proxy.corp.example:3128"


@pytest.mark.parametrize("port", ["1", "65535", " 8080 ", 3128])
def test_a_port_from_1_to_65535_is_taken(port):
    assert proxy_url(settings(proxy_port=port)) == "http://proxy.corp.example:%s" % str(port).strip()


@pytest.mark.parametrize("port", ["0", "65536", "", "-1", "\u00b3", "\uff13\uff11\uff12\uff18"])
def test_a_port_outside_1_to_65535_or_not_in_ascii_digits_is_refused_naming_it(port):
    with pytest.raises(ConfigurationError) as refused:
        proxy_url(settings(proxy_port=port))
    assert str(refused.value) == "the proxy port '%s' is not a number between 1 and 65535" % port.strip()


def test_the_refusals_say_what_to_fix_on_the_proxy_tab():
    with pytest.raises(ConfigurationError) as no_host:
        proxy_url(settings(proxy_url="  "))
    assert str(no_host.value) == "the proxy is enabled but has no host; set it on the Proxy tab"
    with pytest.raises(ConfigurationError) as bad_type:
        proxy_url(settings(proxy_type="FTP"))
    assert str(bad_type.value) == "unsupported proxy type 'ftp'; use http, socks4 or socks5"


def test_a_bracketed_ipv6_host_is_kept_and_a_password_without_a_user_is_not_sent():
    assert proxy_url(settings(proxy_url=" [fd00::1] ", proxy_password="secret")) == "http://[fd00::1]:3128"
