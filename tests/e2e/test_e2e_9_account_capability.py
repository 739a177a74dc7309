"""9. Who may make the search head connect somewhere, on a real splunkd.

Saving an account makes Splunk connect to the URL it names, so the Accounts endpoint needs
admin_all_objects: a power user (who may do much, but not that) is refused and nothing is
saved; the add-on's own admin account (conftest) was saved through the same endpoint."""

from .conftest import ACCOUNT_ENDPOINT, account_form
from .splunk_client import error_text


def test_a_user_without_admin_all_objects_cannot_save_an_account(splunk, users, sim, names):
    power = users("power", "power")
    name = "e2e_%s_by_power" % names.run
    response = power.create_addon_entity(ACCOUNT_ENDPOINT, name, account_form(sim.token))
    text = error_text(response)
    assert response.status_code >= 400, text
    assert "admin_all_objects" in text or "permission" in text.lower(), text
    missing = splunk.request("GET", splunk.addon_path(ACCOUNT_ENDPOINT, name), expect=None)
    assert missing.status_code == 404, error_text(missing)


def test_the_admin_saved_the_suites_account_through_the_same_endpoint(account):
    assert account.status_code in (200, 201), error_text(account)
