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
