"""Every macro, lookup (and its columns), eventtype, data model, dataset and data-model field
a saved search names exists in the package or in the CIM (the model JSON pytest-splunk-addon
ships); raw-event fields exist in the API schemas or the add-on's mapping; every detection
macro is used; customer lists ship with rows that cannot match real data."""

import ipaddress
import json
import os
import re

import pytest

import detections_lib as lib

SAVED = lib.savedsearches()
MACROS = lib.macros()
TRANSFORMS = lib.transforms()
EVENTTYPES = lib.read_conf("eventtypes.conf")
PREEXISTING_MACROS = {"1password_index", "1password_signin_attempts_index", "1password_item_usages_index",
                      "1password_audit_events_index", "onepassword_signin_events", "onepassword_itemusage_events",
                      "onepassword_audit_events", "onepassword_events"}
CUSTOMER_LISTS = {  # lookup: (key column, kind)
    "onepassword_trusted_networks": ("cidr", "cidr"),
    "onepassword_privileged_groups": ("group_uuid", "uuid"),
    "onepassword_privileged_vaults": ("vault_uuid", "uuid"),
    "onepassword_sensitive_items": ("item_uuid", "uuid"),
    "onepassword_departing_users": ("user", "email"),
}
DETECTION_LOOKUPS = set(CUSTOMER_LISTS) | {"onepassword_allowed_client_apps", "onepassword_provisioning_actors",
                                          "onepassword_grant_actions", "onepassword_admin_users"}


def _spl_texts(spec):
    texts = [spec["search"]]
    for key in ("action.notable.param.drilldown_search",):
        if key in spec:
            texts.append(spec[key])
    if "action.notable.param.drilldown_searches" in spec:
        texts += [d["search"] for d in json.loads(spec["action.notable.param.drilldown_searches"])]
    return texts


@pytest.mark.parametrize("name", sorted(SAVED))
def test_macros_exist(name):
    for text in _spl_texts(SAVED[name]):
        for macro, args in lib.macro_refs(text):
            stanza = macro if args is None else "%s(%d)" % (macro, len(args.split(",")))
            assert stanza in MACROS, "%s names macro %s, not in macros.conf" % (name, stanza)
        lib.expand_macros(text, MACROS)  # nested macros resolve too


def used_macros():
    """Every macro the saved searches name, directly or inside other macros."""
    return lib.used_macros([text for spec in SAVED.values() for text in _spl_texts(spec)], MACROS)


def test_every_macro_the_searches_use_is_described_and_filters_keep_everything():
    used = used_macros()
    assert len(used - PREEXISTING_MACROS) > 40
    for name in used:
        assert len(MACROS[name].get("description", "")) > 20, name
        assert MACROS[name].get("iseval", "0") == "0", name
        if name.endswith("_filter"):
            assert MACROS[name]["definition"] == "search *", name


@pytest.mark.parametrize("name", sorted(SAVED))
def test_lookups_and_their_columns_exist(name):
    for text in _spl_texts(SAVED[name]):
        for command, lookup, inputs, outputs in lib.lookup_refs(text):
            assert lookup in TRANSFORMS, "%s: %s %s has no [%s] in transforms.conf" % (name, command, lookup, lookup)
            header = lib.lookup_columns(lookup)
            for column in inputs + outputs:
                assert column in header, "%s: %s has no column %s (%s)" % (name, lookup, column, header)


def test_detection_lookups_are_defined_with_their_files():
    for lookup in DETECTION_LOOKUPS:
        spec = TRANSFORMS[lookup]
        assert os.path.exists(os.path.join(lib.LOOKUPS, spec["filename"])), lookup
    assert TRANSFORMS["onepassword_trusted_networks"]["match_type"] == "CIDR(cidr)"
    assert TRANSFORMS["onepassword_allowed_client_apps"]["match_type"] == "WILDCARD(app_name)"
    assert TRANSFORMS["onepassword_provisioning_actors"]["match_type"] == "WILDCARD(actor)"


@pytest.mark.parametrize("name", sorted(SAVED))
def test_eventtypes_exist(name):
    for text in _spl_texts(SAVED[name]):
        for eventtype in lib.eventtype_refs(text):
            assert eventtype in EVENTTYPES, "%s: eventtype %s" % (name, eventtype)


@pytest.mark.parametrize("name", sorted(SAVED))
def test_data_models_datasets_and_fields_exist_in_the_cim(name):
    for text in _spl_texts(SAVED[name]):
        models = {}
        for model, dataset in lib.datamodel_refs(text):
            datasets = lib.cim_model(model)
            assert any(info[2] == dataset for info in datasets.values()), "%s: datamodel=%s.%s" % (name, model, dataset)
            models[model] = datasets
        for path in lib.nodename_refs(text):
            model = lib.MODEL_ROOTS[path.split(".")[0]]
            assert path in lib.cim_model(model), "%s: nodename=%s" % (name, path)
        for field in lib.datamodel_field_refs(text):
            parts = field.split(".")
            model = lib.MODEL_ROOTS[parts[0]]
            datasets = models.get(model) or lib.cim_model(model)
            dataset_path, field_name = ".".join(parts[:-1]), parts[-1]
            assert dataset_path in datasets, "%s: %s is not a dataset of %s" % (name, dataset_path, model)
            assert field_name in datasets[dataset_path][1], "%s: %s is not a field of %s" % (name, field, model)
        if "tstats" in text and "datamodel=" in text:
            assert lib.datamodel_field_refs(text), name


def _schema_paths(schema, prefix=""):
    paths = set()
    for key, sub in schema.get("properties", {}).items():
        paths.add(prefix + key)
        if isinstance(sub, dict) and sub.get("type") == "object":
            paths |= _schema_paths(sub, prefix + key + ".")
        for option in sub.get("oneOf", []) if isinstance(sub, dict) else []:
            if option.get("type") == "object":
                paths |= _schema_paths(option, prefix + key + ".")
    return paths


def _known_raw_fields():
    fields = {"_time", "_raw", "index", "source", "sourcetype", "host", "eventtype", "tag"}
    for name in ("signin_attempt", "item_usage", "audit_event"):
        fields |= _schema_paths(json.load(open(os.path.join(lib.SCHEMAS, name + ".schema.json"), encoding="utf-8")))
    props = lib.read_conf("props.conf")
    for settings in props.values():
        for key, value in settings.items():
            if key.startswith("EVAL-"):
                fields.add(key[5:])
            elif key.startswith("FIELDALIAS-"):
                fields |= set(re.findall(r"\S+\s+AS\s+(\S+)", value, re.IGNORECASE))
            elif key.startswith("LOOKUP-"):
                outputs = re.split(r"\bOUTPUT(?:NEW)?\b", value)[1]
                fields |= set(outputs.replace(",", " ").split())
    return fields


@pytest.mark.parametrize("name", sorted(SAVED))
def test_raw_event_fields_exist(name):
    """Base-search terms (field=value, field IN) of raw searches and the quoted field names
    of evals ('actor_details.uuid') are API fields or fields the add-on sets."""
    known = _known_raw_fields()
    search = SAVED[name]["search"]
    for line in search.splitlines():
        line = line.strip()
        if re.match(r"`onepassword_(signin|itemusage|audit)_events`", line):
            base = re.sub(r"\[.*\]", "", line)
            for field in re.findall(r"(?:^|[\s(])([A-Za-z_][\w.]*)\s*(?:=|!=|\s+IN\s*\()", base):
                if field not in ("NOT", "OR", "AND"):
                    assert field in known, "%s: base search field %s" % (name, field)
    for field in re.findall(r"'([A-Za-z_][\w.]*)'", search):
        assert field in known, "%s: eval field '%s'" % (name, field)


def _safe(kind, value):
    if kind == "cidr":
        network = ipaddress.ip_network(value, strict=False)
        documentation = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "2001:db8::/32")]
        return any(network.version == d.version and network.subnet_of(d) for d in documentation)
    if kind == "uuid":
        return not re.fullmatch(r"[A-Za-z0-9]{26}", value)
    if kind == "email":
        return value.endswith(".invalid")
    raise AssertionError(kind)


@pytest.mark.parametrize("lookup", sorted(CUSTOMER_LISTS))
def test_customer_lists_ship_rows_that_cannot_match_real_data(lookup):
    column, kind = CUSTOMER_LISTS[lookup]
    rows = lib.csv_rows(TRANSFORMS[lookup]["filename"])
    assert lib.csv_header(TRANSFORMS[lookup]["filename"])[0] == column
    for row in rows:
        assert _safe(kind, row[column]), "%s ships %r, which could match real data" % (lookup, row[column])
        assert row.get("comment"), "%s: example rows say what to put there" % lookup
    # and no scenario depends on them
    shipped = {row[column] for row in rows}
    for rule in lib.manifest()["rules"].values():
        for variant in rule["variants"]:
            for fixture in variant.get("lookups", {}).get(lookup, []):
                assert fixture[column] not in shipped, fixture


def test_grant_actions_cover_the_vault_and_group_access_codes():
    rows = {row["signature_id"]: row for row in lib.csv_rows("onepassword_grant_actions.csv")}
    for code in ("grant:uva", "update:uva", "revoke:uva", "grant:gva", "update:gva", "revoke:gva", "join:gm", "role:gm", "leave:gm"):
        assert code in rows, code
        assert rows[code]["access_change"] in ("grant", "modify", "revoke")
        assert rows[code]["scope"] in ("vault", "group")
    audit = {row["signature_id"] for row in lib.csv_rows("onepassword_audit_actions.csv")}
    assert set(rows) <= audit, "every grant code is a known audit signature"


def test_allowed_client_apps_hold_the_official_clients():
    apps = {row["app_name"] for row in lib.csv_rows("onepassword_allowed_client_apps.csv")}
    for app in ("1Password CLI", "1Password for Web", "1Password for Mac", "1Password SCIM Bridge", "1Password for Windows",
                "1Password for iOS", "1Password Browser Extension", "1Password for Android"):
        assert app in apps, app
    assert not any("*" in app for app in apps), "no wildcard: a spoofed name such as '1Password Stealer' must not pass"
