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
