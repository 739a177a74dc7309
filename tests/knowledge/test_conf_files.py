"""The search-time configuration parses, and its pieces refer to each other correctly:
a broken reference here is a lookup error or an empty dashboard in Splunk."""

import csv
import os
import re

import pytest
from cim_mapping import LOOKUPS, PACKAGE, ROOT, SOURCETYPES, lookup_pairs
from conf_reader import read_conf, read_conf_text, repeated_settings

DEFAULT = os.path.join(PACKAGE, "default")
KNOWLEDGE_CONFS = ("props.conf", "transforms.conf", "eventtypes.conf", "tags.conf", "macros.conf")
ALL_CONFS = sorted(name for name in os.listdir(DEFAULT) if name.endswith(".conf"))


@pytest.mark.parametrize("name", ALL_CONFS)
def test_conf_file_parses_without_duplicates(name):
    path = os.path.join(DEFAULT, name)
    assert read_conf(path) or name not in KNOWLEDGE_CONFS, "%s is empty" % name
    assert repeated_settings(path) == [], "%s: written twice, Splunk keeps one" % name


def test_knowledge_confs_exist():
    for name in KNOWLEDGE_CONFS:
        assert name in ALL_CONFS


def test_default_meta_exports_search_time_knowledge_and_matches_ucc_default():
    from splunk_add_on_ucc_framework.meta_conf import DEFAULT as UCC_DEFAULT

    meta = read_conf(os.path.join(PACKAGE, "metadata", "default.meta"))
    # The app-level stanza keeps ucc-gen's permissions for the UI, the inputs and the REST
    # handlers, without its owner: Splunk Cloud has no "admin" user, and a scheduled search
    # whose owner does not exist is orphaned and never runs. No stanza names an owner, so
    # every object (the scheduled searches above all) belongs to "nobody".
    ucc = dict(read_conf_text(UCC_DEFAULT)[""])
    ucc.pop("owner", None)
    assert meta[""] == ucc
    assert all("owner" not in settings for settings in meta.values())
    for kind in ("props", "transforms", "lookups", "eventtypes", "tags", "macros"):
        assert meta.get(kind, meta[""]).get("export") == "system", kind
        assert "access" not in meta.get(kind, {}), "%s: keep the app-level access" % kind


def _csv_rows(filename):
    with open(os.path.join(LOOKUPS, filename), encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


@pytest.mark.parametrize("filename", sorted(os.listdir(LOOKUPS)))
def test_lookup_csv_is_rectangular_and_unique(filename):
    rows = _csv_rows(filename)
    header = rows[0]
    assert len(set(header)) == len(header)
    for number, row in enumerate(rows[1:], 2):
        assert len(row) == len(header), "%s line %d has %d columns, header has %d" % (
            filename, number, len(row), len(header))
    keys = [row[0] for row in rows[1:]]
    assert len(keys) == len(set(keys)), "%s repeats a key" % filename


def test_every_lookup_file_is_used_and_every_transform_file_exists():
    transforms = read_conf(os.path.join(DEFAULT, "transforms.conf"))
    files = {spec["filename"] for spec in transforms.values() if "filename" in spec}
    assert files == set(os.listdir(LOOKUPS))
    # the others are KV store lookups of the add-on's own collections
    collections = read_conf(os.path.join(DEFAULT, "collections.conf"))
    for name, spec in transforms.items():
        if "filename" not in spec:
            assert spec.get("external_type") == "kvstore" and spec.get("collection") in collections, name


def _lookups_in_props():
    props = read_conf(os.path.join(DEFAULT, "props.conf"))
    for sourcetype, settings in props.items():
        for key, value in settings.items():
            if key.startswith("LOOKUP-"):
                stanza, rest = value.split(" ", 1)
                inputs, _, outputs = re.split(r"\b(OUTPUTNEW|OUTPUT)\b", rest, maxsplit=1)
                yield sourcetype, key, stanza, lookup_pairs(inputs), lookup_pairs(outputs)


def test_props_lookups_use_existing_transforms_and_columns():
    transforms = read_conf(os.path.join(DEFAULT, "transforms.conf"))
    found = 0
    for sourcetype, key, stanza, inputs, outputs in _lookups_in_props():
        found += 1
        assert stanza in transforms, "%s %s: no [%s] in transforms.conf" % (sourcetype, key, stanza)
        header = _csv_rows(transforms[stanza]["filename"])[0]
        for column, _ in inputs + outputs:
            assert column in header, "%s %s: column %s not in %s" % (sourcetype, key, column, header)
        assert outputs, "%s %s has no OUTPUT" % (sourcetype, key)
        wildcard = re.findall(r"WILDCARD\(([^)]+)\)", transforms[stanza].get("match_type", ""))
        for column in wildcard:
            assert column in [c for c, _ in inputs], "%s: wildcard column %s is not a lookup input" % (stanza, column)
    assert found >= 6


def test_every_sourcetype_keeps_its_index_time_settings():
    props = read_conf(os.path.join(DEFAULT, "props.conf"))
    for sourcetype in SOURCETYPES:
        settings = props[sourcetype]
        assert settings["KV_MODE"] == "json"
        assert settings["SHOULD_LINEMERGE"] == "false"
        assert "INDEXED_EXTRACTIONS" not in settings
        assert 0 < int(settings["TRUNCATE"]) <= 1000000
        assert "timestamp" in settings["TIME_PREFIX"]


# One instant written the four ways the Events API and 1Password's own app write it
# (RFC 3339: fraction optional, Z or an offset). Expected epochs worked out by hand:
# 2026-03-04T15:20:41Z = 20516 days * 86400 + 15:20:41 = 1772637641.
FOUR_WAYS = [
    ('"timestamp":"2026-03-04T15:20:41Z"', 1772637641.0),
    ('"timestamp":"2026-03-04T15:20:41.123Z"', 1772637641.123),
    ('"timestamp": "2026-03-04T15:20:41.123456789Z"', 1772637641.123456),
    ('"timestamp":"2026-03-05T00:20:41+09:00"', 1772637641.0),
]


@pytest.mark.parametrize("sourcetype", SOURCETYPES)
@pytest.mark.parametrize("text,epoch", FOUR_WAYS)
def test_every_way_the_api_writes_a_time_reaches_the_timestamp_recogniser_whole(sourcetype, text, epoch):
    """Splunk's strptime has no optional parts: a TIME_FORMAT with a fraction (%S.%9N) rejects
    "...:41Z" and the event takes another event's time (props.conf.spec, TIME_FORMAT), so
    there must be none. Without it the text after TIME_PREFIX, up to MAX_TIMESTAMP_LOOKAHEAD
    characters, goes to the recogniser of datetime.xml (date, "T", time, optional fraction,
    zone Z or +hh:mm). Here: the prefix is found where Splunk's regex finds it, the window
    holds the whole time with its zone, and that text is the hand-worked instant
    (tests/e2e/test_e2e_3_ingest.py checks Splunk's own _time for the same four)."""
    from datetime import datetime

    settings = read_conf(os.path.join(DEFAULT, "props.conf"))[sourcetype]
    # empty: no format (the default), said so that 1Password's app's format cannot apply (test_coexistence.py)
    assert settings["TIME_FORMAT"] == "" and "DATETIME_CONFIG" not in settings
    assert settings["TZ"] == "UTC", "a time without a zone is the API's UTC, not the indexer's zone"
    raw = '{"uuid":"X",%s,"category":"success"}' % text
    match = re.search(settings["TIME_PREFIX"], raw)
    assert match
    window = raw[match.end():match.end() + int(settings["MAX_TIMESTAMP_LOOKAHEAD"])]
    stamp = re.match(r'[^"]+', window).group(0)
    assert raw[match.end():].startswith(stamp + '"'), "the lookahead cuts the time: %r" % window
    parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    assert abs(parsed - epoch) < 1e-6


def test_macros_are_defined_and_resolve_to_the_sourcetype():
    macros = read_conf(os.path.join(DEFAULT, "macros.conf"))
    for name in ("1password_index", "1password_signin_attempts_index", "1password_item_usages_index",
                 "1password_audit_events_index", "onepassword_signin_events", "onepassword_itemusage_events",
                 "onepassword_audit_events", "onepassword_events"):
        assert name in macros, name
        assert macros[name].get("description"), name

    def expand(text, depth=0):
        assert depth < 10, "macro cycle in %s" % text
        return re.sub(r"`([^`]+)`", lambda m: "(" + expand(macros[m.group(1)]["definition"], depth + 1) + ")", text)

    # every macro expands without unknown names or cycles
    for name, spec in macros.items():
        expanded = expand(spec["definition"])
        assert "`" not in expanded, name
    # one override of 1password_index moves every event macro
    macros["1password_index"] = dict(macros["1password_index"], definition="index=onepassword")
    assert expand("`onepassword_signin_events`") == '(((index=onepassword)) sourcetype="1password:insights:signin_attempts")'
    for name, sourcetype in (("onepassword_itemusage_events", "item_usages"), ("onepassword_audit_events", "audit_events")):
        assert "(index=onepassword)" in expand("`%s`" % name) and sourcetype in expand("`%s`" % name)
    everything = expand("`onepassword_events`")
    assert all(sourcetype in everything for sourcetype in SOURCETYPES)


def test_eventtypes_and_tags_refer_to_each_other():
    eventtypes = read_conf(os.path.join(DEFAULT, "eventtypes.conf"))
    tags = read_conf(os.path.join(DEFAULT, "tags.conf"))
    tagged = {stanza.split("=", 1)[1] for stanza in tags if stanza.startswith("eventtype=")}
    assert tagged == set(eventtypes), "every eventtype is tagged and every tag stanza names an eventtype"
    for name, spec in eventtypes.items():
        sourcetypes = re.findall(r'sourcetype="([^"]+)"', spec["search"])
        assert sourcetypes and set(sourcetypes) <= set(SOURCETYPES), name
        assert "|" not in spec["search"], "%s: eventtype searches cannot use pipes" % name


# where the docs speak to admins and analysts: the README, docs/ and the dashboards' text
_CIM_TEXTS = ["README.md"] + ["docs/" + n for n in sorted(os.listdir(os.path.join(ROOT, "docs"))) if n.endswith(".md")] \
    + ["package/default/data/ui/views/" + n for n in sorted(os.listdir(os.path.join(DEFAULT, "data", "ui", "views")))]
_NEEDS_CIM = re.compile(r"(?:need|must|require)[^.]{0,80}(?:CIM data models?|Common Information Model app|CIM app)"
                        r"|(?:CIM data models?|Common Information Model app|CIM app)[^.]{0,40}(?:must be installed|is required)",
                        re.I)
# a sentence that says the CIM app is needed may say so only for content other than the add-on's own
_OTHER_CONTENT = re.compile(r"\bno\b|\bnot\b|\bnone\b|Enterprise Security|\bES\b|data-model content|tstats|CIM-dependent|e2e",
                            re.I)


def test_the_docs_tell_one_story_the_add_ons_own_content_reads_no_data_model():
    claims = []
    for name in _CIM_TEXTS:
        with open(os.path.join(ROOT, name), encoding="utf-8") as handle:
            text = re.sub(r"\s+", " ", handle.read().replace("\\n", " "))  # JSON strings in the views
        for sentence in re.split(r"(?<=[.!?])\s|[\"<>]", text):
            if _NEEDS_CIM.search(sentence) and not _OTHER_CONTENT.search(sentence):
                claims.append("%s: %s" % (name, sentence.strip()[:200]))
    assert claims == []
    assert _NEEDS_CIM.search("Rules need the CIM data models (Splunk Common Information Model app).")
    assert _NEEDS_CIM.search("The rules search the CIM data models, so the Splunk Common Information Model app "
                             "must be installed.")
