"""Every value the API reference lists (events-api.md section 7, copied in api_enums.json)
has its own row in its mapping table, with valid CIM values and a description a person can
read; values newer than the add-on still map to valid CIM values."""

import json
import os

import pytest

from cim_mapping import Lookup, ROOT
from api_enums import parse_events_api_md

HERE = os.path.dirname(os.path.abspath(__file__))
ENUMS = json.load(open(os.path.join(HERE, "api_enums.json"), encoding="utf-8"))

AUTH_ACTIONS = {"success", "failure", "pending", "error"}
CHANGE_ACTIONS = {"acl_modified", "cleared", "created", "deleted", "modified", "read", "stopped", "updated"}
# CIM Data Access prescribed action values (CIM 6.x manual, Data Access; "exported" and
# "unknown" are not among them).
DATA_ACCESS_ACTIONS = {"commented", "copied", "created", "deleted", "disabled", "downloaded", "enabled", "granted",
                       "forwarded", "modified", "read", "revoked", "shared", "stopped", "uncommented", "unlocked",
                       "unshared", "updated", "uploaded"}
AUTH_METHODS = {"password", "mfa", "mfa:totp", "mfa:security_key", "mfa:duo", "verification_code", "sso",
                "platform_secret", "unknown", ""}
DATASETS = {"account", "change"}
# All_Changes excludes these object categories (its search constraint)
EXCLUDED_CATEGORIES = {"file", "directory", "registry"}
FUTURE = "zz_value_newer_than_the_addon"


# the project's API reference, copied into the repository (its provenance: reference/README.md)
REFERENCE = os.path.join(HERE, "reference", "events-api.md")


def test_enum_copy_matches_the_api_reference():
    reference = parse_events_api_md(open(REFERENCE, encoding="utf-8").read())
    assert set(reference) == {"signin_category", "signin_type", "item_action", "audit_action", "audit_object_type"}
    for key, values in reference.items():
        extra = ENUMS["extra_spellings"].get(key, [])
        assert ENUMS[key] == values + extra, "api_enums.json %s differs from %s" % (key, REFERENCE)


def _exact(lookup, column, value):
    return next((row for row in lookup.rows if row[column] == value), None)


def _readable(description, code):
    return description and description.strip() and description.strip().lower() != code.lower()


@pytest.mark.parametrize("category", ENUMS["signin_category"])
def test_signin_category_row(category):
    row = _exact(Lookup("onepassword_signin_categories"), "category", category)
    assert row, "%s has no row in onepassword_signin_categories.csv" % category
    assert row["action"] in AUTH_ACTIONS
    assert _readable(row["signature"], category)


def test_signin_outcomes_an_analyst_relies_on():
    lookup = Lookup("onepassword_signin_categories")
    action = {c: lookup.match("category", c)["action"] for c in ENUMS["signin_category"]}
    assert action["success"] == "success"
    assert action["firewall_reported_success"] == "success", "report-only firewall: the sign-in went through"
    assert {c for c, a in action.items() if a == "failure"} == {c for c in action if c.endswith("_failed")}


@pytest.mark.parametrize("type_", ENUMS["signin_type"])
def test_signin_type_row(type_):
    row = _exact(Lookup("onepassword_signin_types"), "type", type_)
    assert row, "%s has no row in onepassword_signin_types.csv" % type_
    assert _readable(row["reason"], type_)
    assert row["authentication_method"] in AUTH_METHODS


@pytest.mark.parametrize("action", ENUMS["item_action"])
def test_item_action_row(action):
    row = _exact(Lookup("onepassword_item_actions"), "vendor_action", action)
    assert row, "%s has no row in onepassword_item_actions.csv" % action
    assert row["action"] in DATA_ACCESS_ACTIONS
    assert _readable(row["signature"], action)


@pytest.mark.parametrize("action", ENUMS["audit_action"])
def test_audit_action_row(action):
    lookup = Lookup("onepassword_audit_actions")
    row = _exact(lookup, "signature_id", action + ":*")
    assert row, "%s has no '%s:*' row in onepassword_audit_actions.csv" % (action, action)
    assert row["action"] in CHANGE_ACTIONS
    assert row["result"] in ("", "lockout")
    assert _readable(row["signature"], action)
    # with any object type, the event finds a row for its own action (not the catch-all)
    assert lookup.match("signature_id", action + ":" + FUTURE)["signature_id"] == action + ":*"


def test_audit_specific_rows_name_known_codes_and_come_first():
    lookup = Lookup("onepassword_audit_actions")
    seen_generic = False
    for row in lookup.rows:
        action, _, object_type = row["signature_id"].partition(":")
        if row["signature_id"] == "*":
            continue
        assert action in ENUMS["audit_action"], row
        if object_type == "*":
            seen_generic = True
        else:
            assert not seen_generic, "specific row %s after a generic one never matches" % row["signature_id"]
            assert object_type in ENUMS["audit_object_type"], row
        assert row["action"] in CHANGE_ACTIONS, row
    assert lookup.rows[-1]["signature_id"] == "*"


@pytest.mark.parametrize("object_type", ENUMS["audit_object_type"])
def test_audit_object_row(object_type):
    row = _exact(Lookup("onepassword_audit_objects"), "object_type", object_type)
    assert row, "%s has no row in onepassword_audit_objects.csv" % object_type
    assert row["change_dataset"] in DATASETS
    # Account_Management needs object_category=user, and only there
    assert (row["object_category"] == "user") == (row["change_dataset"] == "account"), row
    assert row["object_category"] not in EXCLUDED_CATEGORIES, "All_Changes would drop %s" % object_type
    assert _readable(row["object_type_description"], object_type)


def test_vault_grants_and_policy_changes_map_as_analysts_expect():
    actions = Lookup("onepassword_audit_actions")
    objects = Lookup("onepassword_audit_objects")
    for code in ("grant:uva", "revoke:uva", "grant:gva", "revoke:gva", "update:uva"):
        assert actions.match("signature_id", code)["action"] == "acl_modified", code
    # an administrator's suspension is no lockout (Account_Lockouts is for failed sign-ins)
    assert actions.match("signature_id", "suspend:user")["result"] == ""
    # one account counts once as created: its later activation modifies it
    assert actions.match("signature_id", "create:user")["action"] == "created"
    assert actions.match("signature_id", "activate:user")["action"] == "modified"
    assert actions.match("signature_id", "delete:user")["action"] == "deleted"
    dataset = {t: objects.match("object_type", t)["change_dataset"] for t in ENUMS["audit_object_type"]}
    # Account_Management holds user objects only (CIM: object_category=user); a group
    # membership and a credential are changes of their own kind; an invitation is no account.
    assert {t for t, d in dataset.items() if d == "account"} == {"user", "miguser"}
    assert objects.match("object_type", "gm")["object_category"] == "group_membership"
    assert objects.match("object_type", "cred")["object_category"] == "credential"
    # A passkey added or removed never reads as an account created or deleted (ES and ESCU
    # account-lifecycle content reads Account_Management's created/deleted).
    # Nor does a group membership: both modify the user's account.
    for code in [a + ":" + t for a in ("create", "delete", "activate", "purge") for t in ("cred", "gm")]:
        assert actions.match("signature_id", code)["action"] == "modified", code


@pytest.mark.parametrize("stanza, column, valid_field, valid", [
    ("onepassword_signin_categories", "category", "action", AUTH_ACTIONS),
    ("onepassword_signin_types", "type", "authentication_method", AUTH_METHODS),
    ("onepassword_item_actions", "vendor_action", "action", DATA_ACCESS_ACTIONS),
    ("onepassword_audit_actions", "signature_id", "action", CHANGE_ACTIONS),
    ("onepassword_audit_objects", "object_type", "change_dataset", DATASETS),
])
def test_values_newer_than_the_addon_still_map(stanza, column, valid_field, valid):
    row = Lookup(stanza).match(column, FUTURE)
    assert row is not None, "%s has no catch-all row" % stanza
    assert row[valid_field] in valid


def test_newer_values_take_the_nearest_wildcard_row():
    categories = Lookup("onepassword_signin_categories")
    assert categories.match("category", "passkey_failed")["action"] == "failure"
    assert categories.match("category", "approval_reported_success")["action"] == "success"
    assert categories.match("category", FUTURE)["action"] == "failure", "unknown outcome is never a success"
    types = Lookup("onepassword_signin_types")
    assert types.match("type", "totp_locked")["authentication_method"] == "mfa:totp"
    assert types.match("type", "region_blocked")["authentication_method"] == ""
    assert Lookup("onepassword_audit_objects").match("object_type", FUTURE)["object_category"] == "other"
