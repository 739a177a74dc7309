"""2. Accounts through the add-on's own REST endpoint, as the Accounts tab posts them: a bad
token is refused with the handler's message, a good one is saved (over TLS with the
simulator's own CA as the account's CA bundle), and the token cannot be read back."""

from simulator import make_token  # tests/ is on sys.path (tests/conftest.py)

from .conftest import ACCOUNT_ENDPOINT, account_form
from .settings import ADDON, SIMULATOR_URL
from .splunk_client import error_text


def _absent(splunk, name):
    return splunk.request("GET", splunk.addon_path(ACCOUNT_ENDPOINT, name), expect=None).status_code == 404


def test_a_token_the_api_does_not_know_is_refused(splunk, names):
    name = names.account + "_bad"
    unknown = make_token("127.0.0.1")          # well-formed, never issued by the simulator: 401
    response = splunk.create_addon_entity(ACCOUNT_ENDPOINT, name, account_form(unknown))
    assert response.status_code >= 400, response.text[:500]
    assert "Account not saved: the token is invalid, expired or revoked" in error_text(response)
    assert _absent(splunk, name)


def test_the_simulator_is_not_trusted_without_its_ca_bundle(splunk, names, sim):
    name = names.account + "_noca"
    response = splunk.create_addon_entity(ACCOUNT_ENDPOINT, name, account_form(sim.token, ca_bundle=""))
    assert response.status_code >= 400, response.text[:500]
    assert "Account not saved: TLS verification of 127.0.0.1:8443 failed" in error_text(response)
    assert _absent(splunk, name)


def test_a_working_token_is_saved(splunk, account, names):
    assert account.status_code in (200, 201), error_text(account)
    saved = splunk.entry(splunk.addon_path(ACCOUNT_ENDPOINT, names.account))["content"]
    assert (saved.get("region"), saved.get("custom_url"), saved.get("ca_bundle")) == (
        "custom", SIMULATOR_URL, "/shared/tls/cert.pem")


def test_the_token_is_not_readable_in_clear_text(splunk, stack, e2e_settings, account, names, sim):
    assert account.status_code in (200, 201), error_text(account)
    through_handler = splunk.request("GET", splunk.addon_path(ACCOUNT_ENDPOINT, names.account))
    assert sim.token not in through_handler.text
    token_field = through_handler.json()["entry"][0]["content"].get("token")
    assert token_field in (None, "", "******", "********"), token_field
    conf = splunk.request("GET", "%s/configs/conf-ta_1password_events_account/%s" % (splunk.ns(), names.account))
    assert sim.token not in conf.text
    on_disk = stack.read_file(e2e_settings.splunk_service,
                              "/opt/splunk/etc/apps/%s/local/ta_1password_events_account.conf" % ADDON, user="splunk")
    assert "[%s]" % names.account in on_disk
    assert sim.token not in on_disk
