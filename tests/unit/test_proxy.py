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


@pytest.mark.parametrize("enabled", ["0", "false", "no", "off", "", "enabled", None, 0, False])
def test_anything_else_leaves_the_proxy_off(enabled):
    assert proxy_url(settings(proxy_enabled=enabled)) is None


# an https proxy type is spoken to in http: requests reaches an HTTPS API through it with CONNECT
@pytest.mark.parametrize("kind, scheme", [("https", "http"), (" HTTP ", "http"), (None, "http"), ("", "http"),
                                          ("SOCKS5", "socks5"), (" SOCKS5 ", "socks5"), ("socks4", "socks4")])
def test_the_proxy_type_names_the_scheme_requests_uses(kind, scheme):
    assert proxy_url(settings(proxy_type=kind)) == f"{scheme}://proxy.corp.example:3128"


# not a port: outside 1-65535, or digits other than ASCII ones (superscript, fullwidth, Arabic-Indic)
@pytest.mark.parametrize("port, ok", [("0", False), ("1", True), (" 8080 ", True), ("65535", True), ("65536", False),
                                      ("\u0663\u0661\u0662\u0668", False), ("\u00b3", False),
                                      ("\uff13\uff11\uff12\uff18", False), ("-1", False), ("", False), (None, False),
                                      (3128, True)])
def test_the_port_must_be_a_tcp_port(port, ok):
    if ok:
        assert proxy_url(settings(proxy_port=port)) == f"http://proxy.corp.example:{str(port).strip()}"
    else:
        with pytest.raises(ConfigurationError) as caught:
            proxy_url(settings(proxy_port=port))
        shown = str(port or "").strip()
        assert str(caught.value) == f"the proxy port '{shown}' is not a number between 1 and 65535"


@pytest.mark.parametrize("kind", ["FTP", " FTP "])
def test_the_refusals_say_what_to_set(kind):
    with pytest.raises(ConfigurationError) as caught:
        proxy_url(settings(proxy_url="  "))
    assert str(caught.value) == "the proxy is enabled but has no host; set it on the Proxy tab"
    with pytest.raises(ConfigurationError) as caught:
        proxy_url(settings(proxy_type=kind))
    assert str(caught.value) == "unsupported proxy type 'ftp'; use http, socks4 or socks5"
    assert caught.value.category == "configuration"


def test_a_bracketed_ipv6_host_is_kept_and_a_password_without_a_user_is_not_sent():
    assert proxy_url(settings(proxy_url=" [fd00::1] ", proxy_password="secret")) == "http://[fd00::1]:3128"


def test_remote_dns_changes_only_socks_and_a_bracketed_ipv6_host_is_kept():
    assert proxy_url(settings(proxy_rdns="1")) == "http://proxy.corp.example:3128"
    assert proxy_url(settings(proxy_type="socks4", proxy_rdns="0")) == "socks4://proxy.corp.example:3128"
    assert proxy_url(settings(proxy_type="socks4")) == "socks4://proxy.corp.example:3128"
    assert proxy_url(settings(proxy_url=" [fd00::1] ")) == "http://[fd00::1]:3128"


def test_a_password_without_a_user_is_not_sent():
    assert proxy_url(settings(proxy_password="secret")) == "http://proxy.corp.example:3128"
