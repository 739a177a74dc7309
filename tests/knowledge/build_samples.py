"""Write the pytest-splunk-addon sample files in samples/ (XML requirement samples).

    .venv/bin/python tests/knowledge/build_samples.py          # rewrite samples/*.xml
    .venv/bin/python tests/knowledge/build_samples.py --check  # exit 1 if they are stale

Events: synthetic events covering every enumeration value of events-api.md section 7
(tests/knowledge/api_enums.json), values newer than the add-on, the v2 MSP fields, the
shapes of 1Password's own app (v1, empty strings, second-precision timestamps), and the
real peer samples copied in samples/peer/ (provenance: samples/README.md).
Each event states its CIM model and the field values Splunk must extract; the values come
from the package's props/transforms/lookups/eventtypes/tags applied by cim_mapping.py, and
the dockerized pytest-splunk-addon run checks them against a real Splunk.
test_samples.py fails when the files here are stale.
"""

import json
import os
import sys
from xml.sax.saxutils import quoteattr

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import cim_mapping  # noqa: E402
from cim_mapping import AUDIT, ITEM, SIGNIN  # noqa: E402

ROOT = cim_mapping.ROOT
SAMPLES = os.path.join(ROOT, "samples")
PEER = os.path.join(SAMPLES, "peer")
ENUMS = json.load(open(os.path.join(HERE, "api_enums.json"), encoding="utf-8"))
PSA_MODELS = None

# Sources the data generator config (pytest-splunk-addon-data.conf) gives each file.
MODINPUT_SOURCE = "1password:pytest"
APP_SOURCES = {
    SIGNIN: "/opt/splunk/etc/apps/onepassword_events_api/bin/signin_attempts",
    ITEM: "/opt/splunk/etc/apps/onepassword_events_api/bin/item_usages",
    AUDIT: "/opt/splunk/etc/apps/onepassword_events_api/bin/audit_events",
}

TS = "2026-03-04T15:12:09.418Z"  # replaced by the data generator's timestamp token
ADA = {"uuid": "OJQGU46KAPROEJLCK674RHSAY5", "name": "Ada Lovelace", "email": "ada@example.com"}
GRACE = {"uuid": "ZRQCUD6A65AKHFETOUFO7NL4OM", "name": "Grace Hopper", "email": "grace@example.com"}
ADMIN = {"uuid": "GLF6WUEKS5CSNDJ2OG6TCZD3M4", "name": "Admin One", "email": "admin@example.com"}
CLIENT = {"app_name": "1Password Browser Extension", "app_version": "81080001", "platform_name": "Chrome",
          "platform_version": "122.0", "os_name": "MacOSX", "os_version": "14.3", "ip_address": "203.0.113.7"}
CLIENT_MAC = {"app_name": "1Password for Mac", "app_version": "81080001", "platform_name": "Mac",
              "platform_version": "MacBookPro18,3", "os_name": "MacOSX", "os_version": "14.3",
              "ip_address": "198.51.100.20"}
TORONTO = {"country": "CA", "region": "Ontario", "city": "Toronto", "latitude": 43.64, "longitude": -79.43}
MOSCOW = {"country": "RU", "region": "Moscow", "city": "Moscow", "latitude": 55.75, "longitude": 37.62}
SESSION = {"uuid": "ODOHXUYQCJBUJKRGZNNPBJURPE", "login_time": "2026-03-04T15:07:34.703Z",
           "device_uuid": "rqtd557fn2husnstp5nc66w2xa", "ip": "198.51.100.20"}
ACCOUNT_UUID = "VZSYVT2LGHTBWBQGUJAIZVRABM"

_counter = [0]


def uid(prefix="E"):
    """Deterministic 26-character uppercase ids, unique per event."""
    _counter[0] += 1
    return (prefix + "%025d" % _counter[0])[:26]


# ---------------------------------------------------------------- sign-in attempts
SIGNIN_PAIRS = [
    ("success", "credentials_ok"), ("success", "mfa_ok"), ("success", "federated"),
    ("credentials_failed", "password_secret_bad"), ("credentials_failed", "platform_secret_bad"),
    ("credentials_failed", "platform_secret_disabled"), ("credentials_failed", "platform_secret_proxy"),
    ("mfa_failed", "mfa_missing"), ("mfa_failed", "totp_bad"), ("mfa_failed", "totp_disabled"),
    ("mfa_failed", "totp_timeout"), ("mfa_failed", "u2f_bad"), ("mfa_failed", "u2f_disabled"),
    ("mfa_failed", "u2f_timeout"), ("mfa_failed", "u2f_timout"), ("mfa_failed", "duo_bad"),
    ("mfa_failed", "duo_disabled"), ("mfa_failed", "duo_native_bad"), ("mfa_failed", "duo_timeout"),
    ("mfa_failed", "code_bad"), ("mfa_failed", "code_disabled"), ("mfa_failed", "code_timeout"),
    ("sso_failed", "non_sso_user"), ("sso_failed", "sso_user_mismatch"),
    ("sso_failed", "service_account_sso_denied"),
    ("modern_version_failed", "modern_version_missing"), ("modern_version_failed", "modern_version_old"),
    ("firewall_failed", "all_blocked"), ("firewall_failed", "anonymous_blocked"),
    ("firewall_failed", "continent_blocked"), ("firewall_failed", "country_blocked"),
    ("firewall_failed", "ip_blocked"),
    ("firewall_reported_success", "country_blocked"),
]
FIREWALL_DETAIL = {"continent_blocked": "Europe", "country_blocked": "RU", "ip_blocked": "203.0.113.7",
                   "all_blocked": "all", "anonymous_blocked": "anonymous"}


def signin(category, type_, user=ADA, client=CLIENT, location=TORONTO, **extra):
    event = {"uuid": uid("S"), "session_uuid": uid("R"), "timestamp": TS, "category": category, "type": type_,
             "country": (location or {}).get("country", "CA"),
             "details": {"value": FIREWALL_DETAIL[type_]} if type_ in FIREWALL_DETAIL else None,
             "target_user": dict(user), "client": dict(client)}
    if location:
        event["location"] = dict(location)
    event.update(extra)
    return event


def signin_events():
    events = []
    for category, type_ in SIGNIN_PAIRS:
        location = MOSCOW if category.startswith("firewall") else TORONTO
        events.append((signin(category, type_, location=location),
                       "Synthetic: category %s, type %s" % (category, type_)))
    events.append((signin("success", "mfa_ok", user=ADMIN, client=CLIENT_MAC),
                   "Synthetic: an Owner (listed in onepassword_admin_users) signs in: Privileged_Authentication"))
    events.append((signin("mfa_failed", "totp_bad", user=ADMIN, client=CLIENT_MAC),
                   "Synthetic: an Owner fails two-factor authentication: Privileged_Authentication, failure"))
    v2_user = dict(GRACE, user_type="user", user_account_uuid=ACCOUNT_UUID)
    events.append((signin("success", "credentials_ok", user=v2_user, account_uuid=ACCOUNT_UUID),
                   "Synthetic v2 (MSP fields): account_uuid and target_user.user_type"))
    events.append((signin("passkey_failed", "passkey_bad"),
                   "Synthetic: category and type newer than the add-on map to failure via the wildcard rows"))
    events.append((signin("approval_reported_success", "duo_push_denied"),
                   "Synthetic: future *_success category and duo_* type map by wildcard"))
    events.append((signin("success", "credentials_ok", location=None),
                   "Synthetic: no location (geo fields absent, src_country from country)"))
    return events


# ---------------------------------------------------------------- item usages
def item(action, user=ADA, client=CLIENT_MAC, location=TORONTO, **extra):
    event = {"uuid": uid("I"), "timestamp": TS, "used_version": 7, "vault_uuid": "jaqxqf5qylslqiitnduawrndc5",
             "item_uuid": "bvwmmwxisuca7wbehrbyqhag54", "user": dict(user), "client": dict(client)}
    if action is not None:
        event["action"] = action
    if location:
        event["location"] = dict(location)
    event.update(extra)
    return event


def item_events():
    events = [(item(action), "Synthetic: item action %s" % action) for action in ENUMS["item_action"]]
    events.append((item("fill", user=dict(GRACE, user_type="user"), account_uuid=ACCOUNT_UUID),
                   "Synthetic v2 (MSP fields): account_uuid and user.user_type"))
    events.append((item(None, location=None), "Synthetic: no action (events from before the API had actions)"))
    events.append((item("print"), "Synthetic: an action newer than the add-on maps to unknown"))
    return events


# ---------------------------------------------------------------- audit events
AUDIT_OBJECT_FOR_ACTION = {
    "activate": "user", "addgsso": "sso", "begin": "account", "beginr": "user", "cancel": "invite",
    "cancelr": "user", "changeks": "user", "changela": "user", "changemp": "user", "changenm": "user",
    "changesk": "user", "chngasso": "sso", "chngdsso": "sso", "chngpsso": "sso", "complete": "account",
    "completr": "user", "convert": "account", "create": "vault", "dealldev": "user", "delete": "user",
    "delgsso": "sso", "delshare": "item", "deolddev": "user", "detchild": "famchild", "disblduo": "account",
    "disblmfa": "account", "disblsso": "sso", "dlgsess": "dlgdsess", "dvrfydmn": "account",
    "enblduo": "account", "enblmfa": "account", "enblsso": "sso", "expire": "invite", "export": "vault",
    "grant": "uva", "hide": "vault", "join": "gm", "launchi": "item", "leave": "gm", "musercom": "miguser",
    "muserdec": "miguser", "patch": "items", "propose": "account", "provsn": "user", "prsndall": "invite",
    "purge": "vault", "rdmchild": "famchild", "reactive": "user", "reauth": "device", "replace": "vaultkey",
    "resendts": "user", "revoke": "gva", "role": "gm", "sdvcsso": "user", "sendpkg": "user",
    "sendts": "user", "share": "item", "ssotknv": "ssotkn", "suspend": "user", "tdvcsso": "user",
    "trename": "satoken", "trevoke": "satoken", "trvlaway": "account", "trvlback": "account",
    "tverify": "satoken", "uisas": "account", "unhide": "vault", "unknown": "account", "unlink": "mngdacc",
    "update": "uva", "updatea": "account", "updatduo": "account", "updatfw": "account",
    "updatmfa": "user", "upguest": "user", "uvrfydmn": "account", "verify": "user", "view": "report",
    "vrfydmn": "account",
}
AUDIT_ACTION_FOR_OBJECT = {
    "card": "update", "cred": "create", "device": "create", "ec": "update", "file": "create", "group": "create",
    "item": "share", "itemhist": "view", "sa": "create", "slackapp": "create", "sub": "update",
    "template": "create", "pm": "update", "report": "view", "gva": "grant", "uva": "revoke",
}


def audit(action, object_type, actor=ADMIN, location=TORONTO, **extra):
    event = {"uuid": uid("A"), "timestamp": TS, "actor_uuid": actor["uuid"], "actor_details": dict(actor),
             "action": action, "object_type": object_type, "object_uuid": uid("O")}
    if object_type in ("user", "cred"):
        event["object_uuid"] = GRACE["uuid"]
        event["object_details"] = dict(GRACE)
    elif object_type in ("gm", "uva"):
        event.update(aux_id=9277034, aux_uuid=GRACE["uuid"], aux_details=dict(GRACE),
                     aux_info="A" if object_type == "gm" else "1045")
    elif object_type == "gva":
        event.update(aux_id=4411, aux_uuid=uid("G"), aux_info="1045")
    elif object_type == "invite":
        event["aux_info"] = "newhire@example.com"
    event["session"] = dict(SESSION)
    if location:
        event["location"] = dict(location)
    event.update(extra)
    return event


def audit_events():
    events = []
    for action in ENUMS["audit_action"]:
        object_type = AUDIT_OBJECT_FOR_ACTION[action]
        events.append((audit(action, object_type), "Synthetic: audit action %s on %s" % (action, object_type)))
    covered = {AUDIT_OBJECT_FOR_ACTION[a] for a in ENUMS["audit_action"]}
    for object_type in ENUMS["audit_object_type"]:
        if object_type not in covered:
            action = AUDIT_ACTION_FOR_OBJECT[object_type]
            events.append((audit(action, object_type),
                           "Synthetic: object type %s (action %s)" % (object_type, action)))
    for action, object_type, note in (
        ("grant", "gva", "a group gets vault access"), ("create", "invite", "an invitation names the invitee"),
        ("create", "user", "user created"), ("suspend", "user", "the target user differs from the actor"),
    ):
        events.append((audit(action, object_type), "Synthetic: %s (%s on %s)" % (note, action, object_type)))
    events.append((audit("join", "gm", actor=GRACE), "Synthetic: a user adds themselves to a group (actor = target)"))
    events.append((audit("update", "account", actor_type="external_user", actor_account_uuid=uid("M"),
                         account_uuid=ACCOUNT_UUID),
                   "Synthetic v2 (MSP fields): actor_type external_user, account_uuid"))
    events.append((audit("rotate", "passkeyset"), "Synthetic: action and object type newer than the add-on"))
    events.append((audit("create", "group", location=None), "Synthetic: no location"))
    return events


# ---------------------------------------------------------------- peer samples
def peer_events(prefix):
    events = []
    for name in sorted(os.listdir(PEER)):
        if name.endswith(".json") and prefix in name:
            for index, event in enumerate(json.load(open(os.path.join(PEER, name), encoding="utf-8")), 1):
                events.append((event, "Peer sample samples/peer/%s #%d (see samples/README.md)" % (name, index)))
    return events


# ---------------------------------------------------------------- 1Password's own app (v1 shape)
def as_official_app(sourcetype, event):
    """The shape 1Password's own Splunk app writes: v1 fields through fixed Go structs,
    empty strings for missing values, whole-second sign-in and item-usage timestamps."""
    if sourcetype == SIGNIN:
        return {"uuid": event["uuid"], "session_uuid": event["session_uuid"], "timestamp": TS,
                "country": event.get("country", ""), "category": event["category"], "type": event["type"],
                "details": event.get("details"),
                "target_user": {k: event["target_user"].get(k, "") for k in ("uuid", "name", "email")},
                "client": {k: event["client"].get(k, "") for k in (
                    "app_name", "app_version", "platform_name", "platform_version", "os_name", "os_version",
                    "ip_address")},
                **({"location": event["location"]} if "location" in event else {})}
    if sourcetype == ITEM:
        shaped = {"uuid": event["uuid"], "timestamp": TS, "used_version": event["used_version"],
                  "vault_uuid": event["vault_uuid"], "item_uuid": event["item_uuid"],
                  "user": {k: event["user"].get(k, "") for k in ("uuid", "name", "email")},
                  "client": {k: event["client"].get(k, "") for k in (
                      "app_name", "app_version", "platform_name", "platform_version", "os_name", "os_version",
                      "ip_address")}}
        if "location" in event:
            shaped["location"] = event["location"]
        shaped["action"] = event.get("action", "")
        return shaped
    shaped = {"uuid": event["uuid"], "timestamp": TS, "actor_uuid": event.get("actor_uuid", "")}
    if "actor_details" in event:
        shaped["actor_details"] = event["actor_details"]
    shaped.update(action=event["action"], object_type=event["object_type"], object_uuid=event.get("object_uuid", ""))
    for key in ("object_details", "aux_id", "aux_uuid", "aux_details", "aux_info"):
        if key in event:
            shaped[key] = event[key]
    shaped["session"] = {k: event.get("session", {}).get(k, "") for k in ("uuid", "login_time", "device_uuid", "ip")}
    if "location" in event:
        shaped["location"] = event["location"]
    return shaped


def official_app_events():
    signins = [
        (as_official_app(SIGNIN, signin("success", "credentials_ok")), "1Password app shape: success"),
        (as_official_app(SIGNIN, signin("firewall_reported_success", "ip_blocked", location=MOSCOW)),
         "1Password app shape: firewall_reported_success stays a success"),
        (as_official_app(SIGNIN, signin("credentials_failed", "password_secret_bad", location=None)),
         "1Password app shape: failure without location"),
        (as_official_app(SIGNIN, signin("success", "mfa_ok", user=ADMIN)), "1Password app shape: admin sign-in"),
    ]
    items = [
        (as_official_app(ITEM, item("reveal")), "1Password app shape: reveal"),
        (as_official_app(ITEM, item(None, location=None)), "1Password app shape: empty action"),
        (as_official_app(ITEM, item("server-update")), "1Password app shape: server-update"),
    ]
    audits = [
        (as_official_app(AUDIT, audit("suspend", "user")), "1Password app shape: suspend user"),
        (as_official_app(AUDIT, audit("join", "gm")), "1Password app shape: join group"),
        (as_official_app(AUDIT, audit("updatfw", "account")), "1Password app shape: firewall change"),
        (as_official_app(AUDIT, dict(audit("create", "group"), object_uuid="")),
         "1Password app shape: empty object_uuid"),
    ]
    return {SIGNIN: signins, ITEM: items, AUDIT: audits}


# ---------------------------------------------------------------- XML
def model_fields():
    """Field names of each CIM model (all datasets), from pytest-splunk-addon's JSON files."""
    global PSA_MODELS
    if PSA_MODELS is None:
        import pytest_splunk_addon

        base = os.path.join(os.path.dirname(pytest_splunk_addon.__file__), "data_models")
        PSA_MODELS = {}

        def walk(obj, names):
            names.update(f["name"] for f in obj.get("fields", []))
            for child in obj.get("child_dataset", []):
                walk(child, names)

        for model in ("Authentication", "Change", "Data_Access"):
            names = set()
            for obj in json.load(open(os.path.join(base, model + ".json"), encoding="utf-8"))["objects"]:
                walk(obj, names)
            PSA_MODELS[model] = names
    return PSA_MODELS


def recommended_fields(model):
    """Recommended fields (pytest-splunk-addon's CIM 6 table) for "Model[:Dataset]"."""
    sys.path.insert(0, os.path.join(HERE, "cim_models_shim"))
    from splunk_cim_models.datamodel_definition import LATEST

    name, *datasets = model.split(":")
    table = LATEST[name]
    fields = list(table.get("BaseEvent", [])) + list(table.get(name, []))
    for dataset in datasets:
        fields += table.get(dataset, [])
    return fields


def event_xml(mapping, sourcetype, source, event, comment, transport):
    raw = json.dumps(event, separators=(",", ":"), ensure_ascii=True)
    fields = mapping.fields(sourcetype, event, source=source)
    model = mapping.model(sourcetype, fields)
    known = model_fields()[model.split(":")[0]]
    cim = {k: v for k, v in fields.items() if k in known}
    other = {k: v for k, v in fields.items() if k not in known}
    missing = [f for f in recommended_fields(model) if f not in cim]
    name = fields.get("signature_id", "event")
    lines = ['  <event code=%s name=%s format="json">' % (quoteattr(name), quoteattr(comment[:80])),
             '    <transport type="%s"/>' % transport,
             "    <source>", "      <comment>%s</comment>" % _text(comment), "    </source>",
             "    <raw><![CDATA[%s]]></raw>" % raw,
             "    <cim>", "      <models>", "        <model>%s</model>" % model, "      </models>",
             "      <cim_fields>"]
    lines += ['        <field name=%s value=%s/>' % (quoteattr(k), quoteattr(v)) for k, v in sorted(cim.items())]
    lines.append("      </cim_fields>")
    if missing:
        lines.append("      <missing_recommended_fields>")
        lines += ["        <field>%s</field>" % f for f in sorted(set(missing))]
        lines.append("      </missing_recommended_fields>")
    lines.append("    </cim>")
    lines.append("    <other_mappings>")
    lines += ['      <field name=%s value=%s/>' % (quoteattr(k), quoteattr(v)) for k, v in sorted(other.items())]
    lines.append("    </other_mappings>")
    lines.append("  </event>")
    return "\n".join(lines)


def _text(value):
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def document(mapping, sourcetype, source, events, transport, product):
    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             "<!-- Generated by tests/knowledge/build_samples.py: edit that script, not this file. -->",
             "<device>", "  <vendor>1Password</vendor>", "  <product>%s</product>" % product,
             '  <version id="1.4.1"/>']
    parts += [event_xml(mapping, sourcetype, source, event, comment, transport) for event, comment in events]
    parts.append("</device>")
    return "\n".join(parts) + "\n"


def build():
    """{file name: content} of every sample file."""
    _counter[0] = 0
    mapping = cim_mapping.Mapping()
    app = official_app_events()
    return {
        "1password_signin_attempts.xml": document(
            mapping, SIGNIN, MODINPUT_SOURCE, signin_events() + peer_events("signinattempts"), "modinput",
            "Events API sign-in attempts"),
        "1password_item_usages.xml": document(
            mapping, ITEM, MODINPUT_SOURCE, item_events() + peer_events("itemusages"), "modinput",
            "Events API item usages"),
        "1password_audit_events.xml": document(
            mapping, AUDIT, MODINPUT_SOURCE, audit_events() + peer_events("auditevents"), "modinput",
            "Events API audit events"),
        "onepassword_app_signin_attempts.xml": document(
            mapping, SIGNIN, APP_SOURCES[SIGNIN], app[SIGNIN], "scripted_input",
            "1Password's own Splunk app: sign-in attempts"),
        "onepassword_app_item_usages.xml": document(
            mapping, ITEM, APP_SOURCES[ITEM], app[ITEM], "scripted_input", "1Password's own Splunk app: item usages"),
        "onepassword_app_audit_events.xml": document(
            mapping, AUDIT, APP_SOURCES[AUDIT], app[AUDIT], "scripted_input",
            "1Password's own Splunk app: audit events"),
    }


def main(argv):
    files = build()
    stale = []
    for name, content in files.items():
        path = os.path.join(SAMPLES, name)
        current = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if current != content:
            stale.append(name)
            if "--check" not in argv:
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(content)
    if "--check" in argv:
        if stale:
            print("stale samples (run tests/knowledge/build_samples.py): " + ", ".join(stale))
            return 1
        return 0
    print("wrote %d sample files (%d changed)" % (len(files), len(stale)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
