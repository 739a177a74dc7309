"""3. An input collects all three streams: every item arrives once (a restart mid-backlog
loses nothing and duplicates at most a page), with the right sourcetype and source,
`_time` equal to the item's timestamp, and the raw JSON exactly as the API sent it."""

from .conftest import PAGE_SIZE
from .checks import SOURCETYPES


def test_every_stream_arrives_and_nothing_is_lost(ingested, sim):
    report = ingested.report
    for stream in SOURCETYPES:
        assert sim.streams[stream], "the simulator served no %s" % stream
    assert report.lost() == {}, report.summary()


def test_raw_json_is_unchanged(ingested):
    # every indexed _raw is byte for byte one of the served items (and none is missing: above)
    assert ingested.report.unexpected == [], ingested.report.summary()
    assert len(ingested.events) >= ingested.total


def test_sourcetype_and_source(ingested):
    report = ingested.report
    assert report.wrong_sourcetype == [], report.summary()
    assert report.wrong_source == [], report.summary()


def test_time_is_the_item_timestamp(ingested):
    report = ingested.report
    assert report.wrong_time == [], report.summary()


def test_a_restart_mid_backlog_loses_nothing_and_duplicates_at_most_a_page(ingested):
    report = ingested.report
    # the restart really came mid-backlog: part was searchable, and the input went on collecting after it
    assert PAGE_SIZE <= ingested.indexed_at_restart < ingested.total, (ingested.indexed_at_restart, ingested.total)
    assert ingested.events_after_restart > 0
    assert report.lost() == {}, report.summary()
    assert report.too_many_duplicates(PAGE_SIZE) == {}, report.summary()


# The Events API and 1Password's own app write one instant four ways (RFC 3339, fraction
# optional, Z or an offset). Expected epochs worked out by hand: 2026-03-04T15:20:41Z =
# 20516 days * 86400 s + 15:20:41 = 1772637641 (tests/knowledge/test_conf_files.py, FOUR_WAYS).
FOUR_WAYS = [
    ("2026-03-04T15:20:41Z", 1772637641.0),
    ("2026-03-04T15:20:41.123Z", 1772637641.123),
    ("2026-03-04T15:20:41.123456789Z", 1772637641.123456),
    ("2026-03-05T00:20:41+09:00", 1772637641.0),
]


def test_props_parse_every_way_the_api_writes_a_time_without_the_inputs_time(splunk, e2e_settings, names):
    """Events that arrive without the input's <time> (HEC raw here; file monitors and
    1Password's own app alike): Splunk's own timestamp extraction, with the add-on's props,
    gives each the hand-worked instant, to the microsecond where the text has one."""
    from .splunk_client import wait_for

    index = names.prefix + "time"
    splunk.create_index(index)
    expected = {}
    for number, sourcetype in enumerate(SOURCETYPES.values()):
        lines = []
        for way, (text, epoch) in enumerate(FOUR_WAYS):
            uuid = "TIMEWAY%d%02d" % (number, way)
            expected[uuid] = epoch
            lines.append('{"uuid":"%s","timestamp":"%s","category":"success","type":"credentials_ok"}' % (uuid, text))
        splunk.hec_raw(e2e_settings.hec_url, e2e_settings.hec_token, "\n".join(lines) + "\n", index, sourcetype,
                       "1password:" + names.account)
    query = 'search index=%s | eval epoch=printf("%%.6f", _time) | table uuid sourcetype epoch' % index

    def arrived():
        rows = splunk.search(query, earliest="0").rows
        return rows if len(rows) >= len(expected) else None

    rows = wait_for(arrived, 300, 5, "the raw events with the four time formats")
    got = {row["uuid"]: float(row["epoch"]) for row in rows}
    assert set(got) == set(expected), sorted(set(expected) ^ set(got))
    wrong = {uuid: (got[uuid], epoch) for uuid, epoch in expected.items() if abs(got[uuid] - epoch) > 1e-6}
    assert wrong == {}, "uuid: (Splunk's _time, expected)"
