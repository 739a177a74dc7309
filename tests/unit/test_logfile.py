"""The input's log file is the one solnlib's log module writes (the input's REST handler still
writes to it through solnlib): same path, one handler, same rotation, and the lines Splunk's
monitoring counts read the same. solnlib itself is the reference."""

import logging
import re
import uuid

import pytest
from solnlib import log as solnlib_log

import onepassword_logfile

# what differs between two writers of one line: when, and which source line wrote it
_WRITER = re.compile(r"^\S+ \S+ (log_level=\S+ pid=\d+ tid=\S+) file=\S+ \| (.*)$")


def _lines(logger):
    (handler,) = logger.handlers
    handler.flush()
    with open(handler.baseFilename, encoding="utf-8") as log_file:
        return [_WRITER.match(line).groups() for line in log_file.read().splitlines()]


@pytest.mark.parametrize("first", ["solnlib", "ours"])
def test_the_input_and_solnlib_write_one_file_with_one_handler(first):
    name = f"ta_1password_events_{uuid.uuid4().hex[:8]}"
    makers = {"solnlib": lambda: solnlib_log.Logs().get_logger(name),
              "ours": lambda: onepassword_logfile.file_logger(name)}
    one = makers[first]()
    other = makers["ours" if first == "solnlib" else "solnlib"]()
    assert one is other and len(one.handlers) == 1
    (handler,) = one.handlers
    assert (handler.maxBytes, handler.backupCount) == (solnlib_log.Logs._default_max_bytes,
                                                       solnlib_log.Logs._default_backup_count)
    assert handler.formatter._fmt == solnlib_log.Logs._default_log_format
    assert one.level == solnlib_log.Logs._default_log_level and one.propagate is False


def test_the_monitoring_lines_read_as_solnlibs():
    name = f"ta_1password_events_{uuid.uuid4().hex[:8]}"
    logger = onepassword_logfile.file_logger(name)
    solnlib_log.modular_input_start(logger, "acme_events")
    onepassword_logfile.input_started(logger, "acme_events")
    solnlib_log.events_ingested(logger, "onepassword://acme_events", "1password:signinattempts", 1000, "op_events",
                                account="acme")
    onepassword_logfile.events_ingested(logger, "onepassword://acme_events", "1password:signinattempts", 1000,
                                        "op_events", "acme")
    solnlib_log.events_ingested(logger, "onepassword://acme_events", "1password:itemusages", 3, "main")
    onepassword_logfile.events_ingested(logger, "onepassword://acme_events", "1password:itemusages", 3, "main", None)
    solnlib_log.modular_input_end(logger, "acme_events")
    onepassword_logfile.input_ended(logger, "acme_events")
    lines = _lines(logger)
    assert len(lines) == 8
    for theirs, ours in zip(lines[::2], lines[1::2]):
        assert ours == theirs
    assert lines[2][1] == ("action=events_ingested modular_input_name=onepassword://acme_events "
                           "sourcetype_ingested=1password:signinattempts n_events=1000 event_input=acme_events "
                           "event_index=op_events event_account=acme")


def test_the_level_set_on_the_logging_tab_holds_for_both_writers():
    name = f"ta_1password_events_{uuid.uuid4().hex[:8]}"
    logger = onepassword_logfile.file_logger(name)
    logger.setLevel(logging.WARNING)
    assert solnlib_log.Logs().get_logger(name).level == logging.WARNING
    onepassword_logfile.input_started(logger, "quiet")
    assert _lines(logger) == []
