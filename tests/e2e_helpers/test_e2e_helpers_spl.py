"""tests/e2e/spl.py: the searches read the log records the input really writes
(onepassword_events_helper._log_summary, in solnlib's format), and are well-formed."""

import io
import logging
import re
from types import SimpleNamespace

import pytest
from solnlib import log as solnlib_log

from dashboards.spl_fields import fields_of
from e2e import spl

import onepassword_events_helper as helper  # noqa: E402  (package/bin on sys.path: tests/conftest.py)
from onepassword_events.streams import STREAMS
from onepassword_splunk import SplunkEdge


def python_regex(pattern):
    """An SPL (PCRE) rex pattern as Python's re reads it."""
    return re.compile(pattern.replace("(?<", "(?P<"))


def spl_rex(search):
    """The pattern inside rex "..." of a search, unescaped as SPL reads the quoted string."""
    match = re.search(r'\| rex "((?:[^"\\]|\\.)*)"', search)
    return re.sub(r"\\(.)", r"\1", match.group(1))


@pytest.fixture
def log_lines():
    out = io.StringIO()
    logger = logging.getLogger("e2e-spl-test")
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter(solnlib_log.Logs._default_log_format))
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    runs = [SimpleNamespace(stream=STREAMS[name], status=status, events=events, pages=pages, duplicates_skipped=0,
                            newest_second=1767225600, lag_seconds=12, error=None)
            for name, status, events, pages in (("signinattempts", "caught_up", 0, 1),
                                                ("itemusages", "caught_up", 1200, 12),
                                                ("auditevents", "interrupted", 100, 1))]
    client = SimpleNamespace(host="127.0.0.1:8443", requests_made=14, status_counts={200: 14})
    helper._log_summary(SplunkEdge(None), logger, "onepassword://e2e_in", "e2e_acct", "op_e2e_x_ingest", runs,
                        client)
    return out.getvalue().splitlines()


def test_run_summaries_read_the_events_written(log_lines):
    found = [row["run_events"] for row in (fields_of(spl.run_summaries("e2e_in"), line) for line in log_lines) if row]
    assert found == ["1300"]


def test_caught_up_streams_read_stream_status_and_events(log_lines):
    rows = [row for row in (fields_of(spl.caught_up_streams("e2e_in"), line) for line in log_lines) if row]
    # the interrupted stream is dropped by status; the count test (n==0) is Splunk's to run
    assert [(r["stream"], r["status"], r["n"]) for r in rows] == [
        ("signinattempts", "caught_up", "0"), ("itemusages", "caught_up", "1200")]
    assert "AND n==0 | stats dc(stream) as count" in spl.caught_up_streams("e2e_in")
    assert spl_rex(spl.caught_up_streams("e2e_in")) == spl.RECORD_REX


def test_searches():
    assert spl.input_log("e2e_in") == 'search index=_internal source="*ta_1password_events_e2e_in.log"'
    assert spl.counts_by_index({"b", "a"}) == "| tstats count where (index=a OR index=b) by index"
    assert spl.ingested_events("x").startswith('search index=x | eval e2e_time=printf("%.6f", _time) | table _raw ')
    assert spl.datamodel_rows("Change", "Account_Management", "i") == (
        "| datamodel Change Account_Management search | search index=i | table _raw *")
    assert spl.log_lines_by_source(["/b.log", "/a.log"]) == (
        'search index=_internal (source="/a.log" OR source="/b.log") | stats count by source')
    assert spl.alert_fired("TA-1password-events", "R") == (
        'search index=_audit action=alert_fired ss_app="TA-1password-events" ss_name="R" | stats count')
