"""What an analyst gets for real and synthetic events: the package's props.conf, lookups,
eventtypes and tags applied outside Splunk (cim_mapping.py, spl_eval.py). The XML samples
hold the same results and a real Splunk checks them in the dockerized run."""

import json
import os

import pytest

from cim_mapping import AUDIT, ITEM, SIGNIN, Mapping, ROOT

PEER = os.path.join(ROOT, "samples", "peer")
MAPPING = Mapping()


def peer(name, index=0):
    return json.load(open(os.path.join(PEER, name), encoding="utf-8"))[index]


def test_signin_success_and_failure_from_real_samples():
    ok = MAPPING.fields(SIGNIN, peer("elastic_signinattempts.json", 0), source="1password:acme")
    bad = MAPPING.fields(SIGNIN, peer("elastic_signinattempts.json", 1), source="1password:acme")
    assert ok["action"] == "success" and bad["action"] == "failure"
    assert ok["user"] == "email@1password.com" and ok["user_id"] == "OJQGU46KAPROEJLCK674RHSAY5"
    assert ok["src"] == ok["src_ip"] == "89.160.20.156"
    assert ok["dest"] == "acme" and ok["app"] == "1password"
    assert bad["reason_id"] == "password_secret_bad" and bad["reason"] == "Wrong password or Secret Key"
    assert ok["authentication_method"] == "password"
    assert ok["authentication_service"] == "1Password Browser Extension"
    assert ok["session_id"] == "UED4KFZ5BH37IQWTJ7LG4VPWK7"
    assert ok["user_agent"] == "1Password Browser Extension/1109 (Chrome 93.0.4577.62; Android 10)"


def test_firewall_report_only_is_a_success_that_stays_visible():
    event = dict(peer("elastic_signinattempts.json", 0), category="firewall_reported_success", type="country_blocked")
    fields = MAPPING.fields(SIGNIN, event)
    assert fields["action"] == "success"
    assert fields["signature_id"] == "firewall_reported_success"
    assert "report-only firewall" in fields["signature"]


def test_firewall_block_and_client_ip_spelling_of_the_sumo_sample():
    fields = MAPPING.fields(SIGNIN, peer("sumologic_signinattempts.json"))
    assert fields["action"] == "failure" and fields["reason_id"] == "continent_blocked"
    assert fields["src"] == "13.227.95.22", "client.ip is accepted where client.ip_address is missing"
    assert "authentication_method" not in fields, "a firewall block happens before any authentication"
    assert fields["src_country"] == "France"


def test_api_geolocation_becomes_src_geo_fields():
    fields = MAPPING.fields(SIGNIN, peer("panther_signinattempts.json", 2))
    assert (fields["src_city"], fields["src_country"], fields["src_lat"], fields["src_long"]) == (
        "Moscow", "RU", "55.752", "37.615")


def test_admin_signins_are_privileged_case_insensitively():
    event = dict(peer("elastic_signinattempts.json", 0), target_user={"uuid": "X", "email": "ADMIN@Example.com"})
    fields = MAPPING.fields(SIGNIN, event)
    assert fields["user_role"] == "Owner"
    assert MAPPING.model(SIGNIN, fields) == "Authentication:Privileged_Authentication"
    assert MAPPING.model(SIGNIN, MAPPING.fields(SIGNIN, peer("elastic_signinattempts.json", 0))) == "Authentication"


def test_item_usage_maps_to_data_access():
    fields = MAPPING.fields(ITEM, peer("elastic_itemusages.json", 0))
    assert fields["action"] == "read" and fields["signature_id"] == "reveal"
    assert fields["object_id"] == "bvwmmwxisuca7wbehrbyqhag54" and fields["object_category"] == "item"
    assert fields["object_path"] == "jaqxqf5qylslqiitnduawrndc5"
    assert fields["user"] == "email@1password.com" and fields["user_name"] == "Name"
    assert MAPPING.model(ITEM, fields) == "Data_Access"
    copy = MAPPING.fields(ITEM, peer("sumologic_itemusages.json"))
    assert copy["action"] == "copied" and copy["src"] == "13.227.95.22"


def test_item_usage_without_action_still_maps():
    fields = MAPPING.fields(ITEM, peer("elastic_itemusages.json", 1))
    assert fields["signature_id"] == "other" and fields["action"] == "read", "a use of the item, kind not recorded"


def test_audit_user_is_the_target_and_src_user_the_actor():
    # Sumo Logic sample: Jeff adds Wendy to a group as manager (aux_info "A")
    fields = MAPPING.fields(AUDIT, peer("sumologic_auditevents.json"))
    assert fields["src_user"] == "jeff_shiner@agilebits.com"
    assert fields["user"] == "wendy_appleseed@agilebits.com"
    assert fields["command"] == "join" and fields["signature_id"] == "join:gm"
    assert fields["object_category"] == "group_membership" and fields["object_attrs"] == "A"
    assert MAPPING.model(AUDIT, fields) == "Change"
    # Elastic sample: a user suspended, named only by object_uuid (before user details)
    suspended = MAPPING.fields(AUDIT, peer("elastic_auditevents.json"))
    assert suspended["src_user"] == "test.actor@domain.com"
    assert suspended["user"] == suspended["user_id"] == "ZRQCUD6A65AKHFETOUFO7NL4OM"
    assert not suspended.get("result"), "an administrator's suspension is no lockout"


def test_audit_actor_is_the_user_when_no_other_user_is_named():
    fields = MAPPING.fields(AUDIT, peer("cortexxsiam_auditevents.json", 3))  # create group
    assert fields["user"] == fields["src_user"] == "userA@example.com"
    assert fields["object_id"] == "unknown", "the sanitised sample has no object_uuid"
    assert MAPPING.model(AUDIT, fields) == "Change"


def test_account_policy_changes_are_changes_not_audit_configuration():
    """CIM's Auditing_Changes is for changes to audit and logging settings: a firewall rule
    change of the account is a change of its security policy (All_Changes)."""
    event = dict(peer("cortexxsiam_auditevents.json", 1), action="updatfw")  # on object_type account
    fields = MAPPING.fields(AUDIT, event)
    assert fields["signature"] == "Changed the account's firewall rules"
    assert MAPPING.model(AUDIT, fields) == "Change"


def test_passkeys_and_invitations_are_not_account_creations():
    base = peer("cortexxsiam_auditevents.json", 1)
    passkey = MAPPING.fields(AUDIT, dict(base, action="create", object_type="cred"))
    assert passkey["action"] == "modified" and MAPPING.model(AUDIT, passkey) == "Change" and passkey["object_category"] == "credential"
    invite = MAPPING.fields(AUDIT, dict(base, action="create", object_type="invite"))
    assert invite["action"] == "created" and MAPPING.model(AUDIT, invite) == "Change"


def test_empty_strings_of_1password_app_count_as_missing():
    event = {"uuid": "U", "timestamp": "2021-08-11T14:28:03Z", "actor_uuid": "", "action": "create",
             "object_type": "group", "object_uuid": "", "session": {"uuid": "", "login_time": "", "ip": ""}}
    fields = MAPPING.fields(AUDIT, event, source="/opt/splunk/etc/apps/onepassword_events_api/bin/audit_events")
    assert fields["object_id"] == "unknown" and fields["src"] == "unknown" and fields["src_user"] == "unknown"
    assert "src_ip" not in fields and "session_id" not in fields
    assert fields["dest"] == "1password", "1Password's app sets no 1password:<account> source"


@pytest.mark.parametrize("sourcetype, event", [
    (SIGNIN, {"category": "success"}), (ITEM, {}), (AUDIT, {}),
])
def test_required_fields_survive_nearly_empty_events(sourcetype, event):
    fields = MAPPING.fields(sourcetype, event)
    required = {SIGNIN: {"action", "app", "dest", "src", "user"},
                ITEM: {"action", "app", "dest", "src", "user", "user_name", "object", "object_id",
                       "object_attrs", "object_category", "vendor_account", "vendor_product"},
                AUDIT: {"action", "change_type", "command", "dest", "dvc", "object", "object_attrs",
                        "object_category", "object_id", "src", "status", "user", "vendor_product"}}[sourcetype]
    assert required <= set(fields), required - set(fields)
