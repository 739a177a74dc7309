"""1. The package installs; the configuration and inputs pages' REST endpoints answer."""

import json
import os

import pytest

from .settings import ADDON, ROOT


def test_the_package_is_installed_at_its_version(splunk):
    app = splunk.entry("/services/apps/local/%s" % ADDON)["content"]
    with open(os.path.join(ROOT, "globalConfig.json"), encoding="utf-8") as handle:
        version = json.load(handle)["meta"]["version"]
    assert app.get("version") == version
    assert app.get("disabled") in (False, "0", 0)


@pytest.mark.parametrize("endpoint", [
    "ta_1password_events_account",          # Configuration > Accounts
    "ta_1password_events_review",           # Configuration > Access reviews
    "ta_1password_events_settings/proxy",   # Configuration > Proxy
    "ta_1password_events_settings/logging",  # Configuration > Logging
    "ta_1password_events_onepassword",      # Inputs
])
def test_the_ui_rest_endpoints_answer(splunk, endpoint):
    response = splunk.request("GET", "%s/%s" % (splunk.ns(), endpoint), expect=None)
    assert response.status_code == 200, response.text[:500]
    assert "entry" in response.json()


@pytest.mark.parametrize("view", ["configuration", "inputs"])
def test_the_ucc_pages_exist(splunk, view):
    assert splunk.exists("%s/data/ui/views/%s" % (splunk.ns(), view))


def test_the_modular_input_scheme_is_registered(splunk):
    entry = splunk.entry("/services/data/modular-inputs/onepassword")
    assert entry["name"] == "onepassword"
