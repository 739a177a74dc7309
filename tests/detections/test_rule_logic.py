"""The rules' logic against their scenarios, without Splunk: each attack variant crosses its
rule's thresholds (read from macros.conf) and names the expected entity, each benign twin
stays silent, at every "now" of detections_lib.NOWS. The models (rule_models.py) follow the
searches step by step on events mapped by the add-on's real props, lookups and tags; the
dockerized suite replays the same scenarios into Splunk for the final word."""

import pytest

import detections_lib as lib
import rule_models

MANIFEST = lib.manifest()
VARIANTS = [(rule_id, spec["name"], spec["expect"], spec.get("entity", {}))
            for rule_id, rule in MANIFEST["rules"].items() for spec in rule["variants"]]


def _matches(result, entity):
    for field, value in entity.items():
        got = result.get(field)
        values = got if isinstance(got, (list, set, tuple)) else [got]
        if value not in values:
            return False
    return True


def test_every_rule_has_a_model():
    for rule_id in MANIFEST["rules"]:
        assert rule_models.model(rule_id)


@pytest.mark.parametrize("rule_id,variant,expect,entity", VARIANTS, ids=["%s-%s" % v[:2] for v in VARIANTS])
def test_scenario_fires_or_stays_silent(rule_id, variant, expect, entity):
    for now in lib.NOWS:
        results, ctx = lib.run_model(rule_id, variant, now)
        assert ctx.events, "%s/%s: no event inside the rule's range" % (rule_id, variant)
        if expect == "fire":
            assert any(_matches(r, entity) for r in results), "%s/%s at now=%d should fire for %s, got %s" % (
                rule_id, variant, now, entity, results)
        else:
            assert results == [], "%s/%s at now=%d should stay silent, got %s" % (rule_id, variant, now, results)


@pytest.mark.parametrize("rule_id,macro,scale", [
    ("brute_force_ip", "onepassword_bruteforce_threshold", 2),
    ("password_spray_ip", "onepassword_spray_min_users", 2),
    ("brute_force_user", "onepassword_user_failure_threshold", 2),
    ("success_after_failures", "onepassword_bruteforce_threshold", 2),
    ("impossible_travel", "onepassword_travel_max_kmh", 100),
    ("vault_grant_burst", "onepassword_grant_threshold", 2),
    ("item_access_surge", "onepassword_item_surge_min", 2),
    ("departing_user_surge", "onepassword_departing_item_min", 2),
    ("mfa_failure_burst", "onepassword_mfa_failure_threshold", 2),
    ("firewall_block_burst", "onepassword_firewall_block_threshold", 2),
    ("export_after_account_creation", "onepassword_new_account_days", 0.25),
    ("export_before_departure", "onepassword_export_before_departure_days", 0.25),
    ("collector_api_errors", "onepassword_health_fatal_categories", None),
    ("collector_stream_silent", "onepassword_health_signin_max_silence_s", 2),
])
def test_thresholds_come_from_the_macros(rule_id, macro, scale, monkeypatch):
    """Raising a threshold macro (or emptying a code list) silences the attack: the model,
    like the search, reads the macro rather than a copy of its value."""
    original = lib.macro_table_with

    def patched(overrides):
        table = original(overrides)
        value = table[macro]["definition"]
        table[macro]["definition"] = '"none"' if scale is None else str(float(lib.expand_macros(value, table)) * scale)
        return table

    monkeypatch.setattr(lib, "macro_table_with", patched)
    results, _ = lib.run_model(rule_id, "attack", lib.BASE_NOW)
    assert results == [], "%s still fires with %s changed" % (rule_id, macro)


@pytest.mark.parametrize("rule_id,variant,lookup", [
    ("suspicious_admin_signin", "attack", "onepassword_admin_users"),
    ("privileged_group_add", "attack", "onepassword_privileged_groups"),
    ("departing_user_surge", "attack", "onepassword_departing_users"),
    ("sensitive_item_accessed", "attack", "onepassword_sensitive_items"),
    ("privileged_vault_permission_changed", "attack", "onepassword_privileged_vaults"),
])
def test_watch_list_rules_stay_silent_with_the_shipped_lists(rule_id, variant, lookup, monkeypatch):
    """With only the shipped example rows (no customer data) the watch-list rules cannot fire."""
    original = lib.lookup_rows_with
    monkeypatch.setattr(lib, "lookup_rows_with", lambda fixtures: original({}))
    results, _ = lib.run_model(rule_id, variant, lib.BASE_NOW)
    assert results == []


def test_trusted_network_lookup_matches_cidr():
    results, ctx = lib.run_model("impossible_travel", "benign_trusted_network", lib.BASE_NOW)
    assert ctx.lookup("onepassword_trusted_networks", "cidr", "198.51.100.42")["label"] == "vpn-sydney"
    assert ctx.lookup("onepassword_trusted_networks", "cidr", "198.51.100.43") is None
    assert ctx.lookup("onepassword_trusted_networks", "cidr", "192.0.2.77")["label"] == "example-office"
    assert ctx.lookup("onepassword_trusted_networks", "cidr", "2001:db8::1")["label"] == "example-office-ipv6"
    assert ctx.lookup("onepassword_allowed_client_apps", "app_name", "1password for mac")   # case-insensitive
    assert ctx.lookup("onepassword_provisioning_actors", "actor", "scim@1PasswordServiceAccounts.com")
    assert ctx.lookup("onepassword_provisioning_actors", "actor", "admin@example.com") is None


def test_haversine_matches_known_distances():
    assert abs(rule_models.haversine_km(43.65, -79.38, 40.71, -74.01) - 550) < 10      # Toronto - New York
    assert abs(rule_models.haversine_km(43.65, -79.38, -33.87, 151.21) - 15570) < 50   # Toronto - Sydney
    assert rule_models.haversine_km(10, 10, 10, 10) == 0
