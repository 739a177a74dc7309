"""The setup pages explain themselves (issue 13, item 4): globalConfig.json is valid
for the pinned UCC, every field says what it is for, the proxy fields are required
only while the proxy is on, and the tables show words instead of raw values.

UCC's own schema and validator judge the file; the pages read the configuration as
ucc-gen hands it to them (the proxy and logging tabs expanded into their fields)."""

import itertools
import json
import os
import re

import jsonschema
import pytest
import splunk_add_on_ucc_framework
from splunk_add_on_ucc_framework import global_config as ucc_global_config
from splunk_add_on_ucc_framework.global_config_validator import GlobalConfigValidator

from onepassword_events.errors import ConfigurationError
from onepassword_events.proxy import proxy_url
from onepassword_events.regions import AUTO, CUSTOM, REGION_HOSTS
from setup_pages_helpers import GLOBAL_CONFIG, ROOT, entity, load_config

UCC_DIR = os.path.dirname(splunk_add_on_ucc_framework.__file__)
# The names the 1Password pages use for the three event types (events-api.md section 7).
READABLE_TYPES = {"signinattempts": "Sign-in attempts", "itemusages": "Item usages", "auditevents": "Audit events"}


def _tabs(config):
    return {tab.get("name", tab.get("type")): tab for tab in config["pages"]["configuration"]["tabs"]}


def _help_text(field):
    value = field.get("help")
    return value.get("text", "") if isinstance(value, dict) else (value or "")


def test_global_config_is_valid_for_the_pinned_ucc():
    with open(os.path.join(UCC_DIR, "schema", "schema.json"), encoding="utf-8") as handle:
        schema = json.load(handle)
    validator_class = jsonschema.validators.validator_for(schema)
    errors = [(list(e.absolute_path), e.message[:200]) for e in validator_class(schema).iter_errors(load_config())]
    assert errors == []
    GlobalConfigValidator(UCC_DIR, ucc_global_config.GlobalConfig.from_file(GLOBAL_CONFIG),
                          os.path.join(ROOT, "package")).validate()


def test_every_field_of_every_tab_and_of_the_input_form_has_help(built_ui_config):
    tabs = _tabs(built_ui_config)
    assert {"account", "review", "proxy", "logging"} <= set(tabs)
    forms = {"Configuration > %s" % tab["title"]: tab["entity"] for tab in tabs.values()}
    for service in built_ui_config["pages"]["inputs"]["services"]:
        forms["Inputs > %s" % service["title"]] = service["entity"]
    missing = [(form, field["field"]) for form, fields in forms.items() for field in fields
               if len(_help_text(field).strip()) < 20]
    assert missing == []
    assert {f["field"] for f in tabs["proxy"]["entity"]} == {"proxy_enabled", "proxy_type", "proxy_url", "proxy_port",
                                                              "proxy_username", "proxy_password", "proxy_rdns"}


def test_help_links_are_complete_and_the_token_help_links_to_creating_one(built_ui_config):
    def fields():
        for tab in built_ui_config["pages"]["configuration"]["tabs"]:
            yield from tab["entity"]
        for service in built_ui_config["pages"]["inputs"]["services"]:
            yield from service["entity"]

    for field in fields():
        help_value = field.get("help")
        if not isinstance(help_value, dict):
            continue
        links = {link["slug"]: link for link in help_value.get("links", [])}
        # a [[slug]] without its link is shown to the user as literal brackets
        assert set(re.findall(r"\[\[(\w+)\]\]", help_value["text"])) == set(links), field["field"]
        assert all(link["link"].startswith("https://") for link in links.values())
    token_help = entity(_tabs(built_ui_config)["account"]["entity"], "token")["help"]
    assert isinstance(token_help, dict)
    assert "Integrations › Events Reporting" in token_help["text"]
    assert [link["link"] for link in token_help["links"]] == ["https://support.1password.com/events-reporting/"]


def test_proxy_host_and_port_are_required_only_while_the_proxy_is_on(built_ui_config, generated_handlers):
    proxy_fields = {f["field"]: f for f in _tabs(built_ui_config)["proxy"]["entity"]}
    assert not proxy_fields["proxy_url"].get("required") and not proxy_fields["proxy_port"].get("required")
    modifications = {str(m["fieldValue"]): {f["fieldId"]: f["required"] for f in m["fieldsToModify"]}
                     for m in proxy_fields["proxy_enabled"]["modifyFieldsOnValue"]}
    # the configuration page keeps checkboxes as 1 and 0; every other value (0, never saved) frees them
    assert modifications["1"]["proxy_url"] is True and modifications["1"]["proxy_port"] is True
    assert modifications["[[any_other_value]]"]["proxy_url"] is False
    assert modifications["[[any_other_value]]"]["proxy_port"] is False
    for changes in modifications.values():
        assert set(changes) <= set(proxy_fields), "a modification names a field the tab does not have"
    # splunkd (the generated handler) saves the tab with the proxy off and no host or port...
    settings = generated_handlers["settings"].endpoint
    settings.validate("proxy", {"proxy_enabled": "0", "proxy_type": "http"})
    settings.validate("proxy", {"proxy_enabled": "1", "proxy_url": "proxy.example.com", "proxy_port": "3128"})
    for bad in ({"proxy_enabled": "1", "proxy_url": "proxy.example.com", "proxy_port": "0"},
                {"proxy_enabled": "1", "proxy_url": "http://proxy.example.com", "proxy_port": "3128"}):
        with pytest.raises(Exception) as refused:
            settings.validate("proxy", bad)
        assert getattr(refused.value, "status", None) == 400
    # ...and the add-on refuses to run with the proxy on and no host
    assert proxy_url({"proxy_enabled": "0"}) is None
    with pytest.raises(ConfigurationError, match="no host"):
        proxy_url({"proxy_enabled": "1", "proxy_port": "3128"})


def test_custom_url_is_required_only_for_the_custom_region():
    region = entity(_tabs(load_config())["account"]["entity"], "region")
    modifications = {m["fieldValue"]: {f["fieldId"]: f["required"] for f in m["fieldsToModify"]}
                     for m in region["modifyFieldsOnValue"]}
    assert modifications == {CUSTOM: {"custom_url": True}, "[[any_other_value]]": {"custom_url": False}}


def test_the_accounts_table_names_every_region_in_words():
    account = _tabs(load_config())["account"]
    column = entity(account["table"]["header"], "region")
    understood = set(REGION_HOSTS) | {AUTO, CUSTOM}  # what the add-on accepts as a region
    assert set(column["mapping"]) == understood
    assert column["mapping"][AUTO] == "Detect from token" and column["mapping"][CUSTOM] == "Custom URL"
    form = {o["value"]: o["label"] for o in entity(account["entity"], "region")["options"]["autoCompleteFields"]}
    assert column["mapping"] == form, "the table and the form name the regions alike"


def _check_event_types_column(column, empty_label):
    mapping = column["mapping"]
    assert mapping["signinattempts,itemusages,auditevents"] == "Sign-in attempts, Item usages, Audit events"
    assert mapping["auditevents,signinattempts"] == "Sign-in attempts, Audit events"
    assert mapping["itemusages"] == "Item usages"
    for size in (1, 2, 3):
        for names in itertools.permutations(READABLE_TYPES, size):
            shown = mapping[",".join(names)].split(", ")
            assert sorted(shown) == sorted(READABLE_TYPES[n] for n in names), names
    assert mapping["[[default]]"] == empty_label


def test_the_accounts_table_shows_the_event_types_each_token_grants(generated_handlers, built_addon):
    account = _tabs(load_config())["account"]
    _check_event_types_column(entity(account["table"]["header"], "granted_event_types"),
                              "Not recorded yet (recorded when the token is checked on save)")
    granted = entity(account["entity"], "granted_event_types")
    assert granted["options"]["display"] is False, "recorded by the add-on, not typed by the admin"
    # declared, so splunkd stores it with the account (conf spec and generated handler)
    with open(os.path.join(built_addon, "README", "ta_1password_events_account.conf.spec"), encoding="utf-8") as spec:
        assert re.search(r"(?m)^granted_event_types = *$", spec.read())
    endpoint = generated_handlers["account"].endpoint
    model_fields = {f.name: f for f in endpoint.model("acme").fields}
    assert not model_fields["granted_event_types"].required
    account_data = {"region": "auto", "token": "x.y.z"}
    endpoint.validate("acme", dict(account_data))
    endpoint.validate("acme", dict(account_data, granted_event_types="signinattempts,itemusages,auditevents"))
    endpoint.validate("acme", dict(account_data, granted_event_types="auditevents"))
    for bad in ("<b>all</b>", "signinattempts;itemusages", ",auditevents", "x" * 201):
        with pytest.raises(Exception) as refused:
            endpoint.validate("acme", dict(account_data, granted_event_types=bad))
        assert getattr(refused.value, "status", None) == 400, bad


def test_the_inputs_table_shows_event_types_in_words():
    table = load_config()["pages"]["inputs"]["table"]
    for part in ("header", "moreInfo"):
        _check_event_types_column(entity(table[part], "event_types"), "Every type the token grants")


def test_the_input_form_says_what_a_run_does():
    services = load_config()["pages"]["inputs"]["services"]
    interval = entity(services[0]["entity"], "interval")["help"]
    assert "polled only while" not in interval
    assert "everything new" in interval and "then exits" in interval


def test_start_time_and_custom_url_validators_run_in_splunkd_too(generated_handlers):
    """The same patterns guard the REST endpoints (a save through the REST API, not the page)."""
    account = generated_handlers["account"].endpoint
    account.validate("acme", {"region": "custom", "token": "x.y.z", "custom_url": "http://127.0.0.1:8443"})
    with pytest.raises(Exception) as refused:
        account.validate("acme", {"region": "custom", "token": "x.y.z", "custom_url": "http://localhost:8443"})
    assert getattr(refused.value, "status", None) == 400
    inputs = generated_handlers["onepassword"].endpoint
    base = {"account": "acme", "index": "main", "interval": "60"}
    inputs.validate("in1", dict(base, start_time="2026-01-31T09:00:00+01:00"))
    with pytest.raises(Exception) as refused:
        inputs.validate("in1", dict(base, start_time="2026-01-31T09:00:00+0100"))
    assert getattr(refused.value, "status", None) == 400
