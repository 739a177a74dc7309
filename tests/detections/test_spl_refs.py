"""The SPL reference reader of detections_lib finds what it must, so that the reference
checks of test_references.py cannot pass by finding nothing."""

import detections_lib as lib

SPL = """| tstats `onepassword_summariesonly` count from datamodel=Change.All_Changes where nodename=All_Changes.Account_Management (`1password_index`) All_Changes.command IN (`codes`) by All_Changes.Account_Management.src_user All_Changes.user
| rename "All_Changes.Account_Management.*" AS * "All_Changes.*" AS *
| lookup onepassword_privileged_groups group_uuid AS object_id OUTPUT group_name, comment AS note
| append [| inputlookup onepassword_admin_users | search eventtype=onepassword_signin]
| `macro_with_args(a, b)`
| `onepassword_x_filter`"""


def test_reads_every_kind_of_reference():
    assert lib.macro_refs(SPL) == [("onepassword_summariesonly", None), ("1password_index", None), ("codes", None),
                                   ("macro_with_args", "a, b"), ("onepassword_x_filter", None)]
    assert lib.datamodel_refs(SPL) == [("Change", "All_Changes")]
    assert lib.nodename_refs(SPL) == ["All_Changes.Account_Management"]
    assert lib.datamodel_field_refs(SPL) == ["All_Changes.command", "All_Changes.Account_Management.src_user", "All_Changes.user"]
    assert lib.eventtype_refs(SPL) == ["onepassword_signin"]
    lookups = lib.lookup_refs(SPL)
    assert lookups[0] == ("lookup", "onepassword_privileged_groups", ["group_uuid"], ["group_name", "comment"])
    assert lookups[1][:2] == ("inputlookup", "onepassword_admin_users")
    assert lib.rule_id(SPL) == "x"


def test_cim_model_knows_datasets_and_inherited_fields():
    change = lib.cim_model("Change")
    assert "src_user" in change["All_Changes.Account_Management"][1]
    assert "command" in change["All_Changes.Account_Management"][1], "inherited from All_Changes"
    assert "src_user" not in change["All_Changes"][1], "the actor is not in All_Changes (see docs/detections.md)"
    auth = lib.cim_model("Authentication")
    assert {"session_id", "authentication_service", "signature_id"} <= auth["Authentication"][1]
    assert "Authentication.Failed_Authentication" in auth
    assert {"parent_object_id", "user_id"} <= lib.cim_model("Data_Access")["Data_Access"][1]


def test_cron_runs_per_hour():
    assert lib.cron_runs_per_hour("*/10 * * * *") == 6
    assert lib.cron_runs_per_hour("*/5 * * * *") == 12
    assert lib.cron_runs_per_hour("* * * * *") == 60
    assert lib.cron_runs_per_hour("15 * * * *") == 1
