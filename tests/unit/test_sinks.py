import io
import json
import xml.etree.ElementTree as ET

import pytest

from splunklib.modularinput import Event, EventWriter

from onepassword_events.sinks import JsonLinesSink, ModularInputStream, SplunkXmlSink
from onepassword_events.streams import STREAMS

SIGNIN = STREAMS["signinattempts"]
AUDIT = STREAMS["auditevents"]
EVENTS = [
    ('{"uuid":"A","timestamp":"2026-03-04T15:12:09.418Z","name":"Zoë <&> \\"q\\""}', "1772637129.418"),
    ('{"uuid":"B","note":"]]> and </data>","emoji":"\U0001F511 鍵"}', None),
]


def _elements(xml_text):
    """Every element of a stream as (tag, attributes, text), in document order."""
    return [(e.tag, e.attrib, e.text) for e in ET.fromstring(xml_text).iter()]


def test_xml_stream_says_what_splunklib_says():
    fields = dict(index="op_index", source="1password:acme", stanza="onepassword://acme & \"co\" é")
    ours = io.StringIO()
    stream = ModularInputStream(ours)
    sink = SplunkXmlSink(stream, index=fields["index"], source=fields["source"], stanza=fields["stanza"])
    sink.write_page(SIGNIN, EVENTS[:1])
    sink.write_page(AUDIT, EVENTS[1:])
    stream.close()
    out = io.StringIO()
    writer = EventWriter(output=out)
    writer.write_event(Event(data=EVENTS[0][0], time=EVENTS[0][1], sourcetype=SIGNIN.sourcetype, **fields))
    writer.write_event(Event(data=EVENTS[1][0], time=None, sourcetype=AUDIT.sourcetype, **fields))
    writer.close()
    assert _elements(ours.getvalue()) == _elements(out.getvalue())
    # the same bytes, but for non-ASCII text: UTF-8 here, character references there
    assert ET.tostring(ET.fromstring(ours.getvalue()), encoding="us-ascii").decode() == out.getvalue()


def test_non_ascii_reaches_splunk_as_utf8_whatever_the_stdout_encoding():
    raw_out = io.BytesIO()
    stdout = io.TextIOWrapper(raw_out, encoding="cp1252")  # Windows' stdout encoding for a pipe
    stream = ModularInputStream(stdout)
    SplunkXmlSink(stream, index="main").write_page(SIGNIN, EVENTS[1:])
    stream.close()
    text = raw_out.getvalue().decode("utf-8")
    assert ET.fromstring(text).find("event").findtext("data") == EVENTS[1][0]


def test_inputs_of_one_process_share_one_document():
    out = io.StringIO()
    stream = ModularInputStream(out)
    SplunkXmlSink(stream, index="main", stanza="onepassword://a").write_page(SIGNIN, EVENTS[:1])
    SplunkXmlSink(stream, index="other", stanza="onepassword://b").write_page(AUDIT, EVENTS[1:])
    stream.close()
    text = out.getvalue()
    assert text.startswith("<stream>") and text.endswith("</stream>") and text.count("<stream>") == 1
    assert [e.get("stanza") for e in ET.fromstring(text).iter("event")] == ["onepassword://a", "onepassword://b"]


@pytest.mark.parametrize("raw", [
    # U+FFFE/U+FFFF may stand raw in JSON strings, but XML 1.0 cannot carry them
    '{"uuid":"X","name":"a\ufffeb\uffffc"}',
    # a raw CR (JSON whitespace): an XML parser reads a literal CR back as LF
    '{"uuid":"X",\r\n"name":"crlf"}',
    '{"uuid":"X","name":"tab\\tand \u00e9 & <tag>"}',
])
def test_every_item_parses_back_to_its_exact_text_and_json_value(raw):
    out = io.StringIO()
    stream = ModularInputStream(out)
    SplunkXmlSink(stream, index="main").write_page(SIGNIN, [(raw, "1772637129")])
    stream.close()
    data = ET.fromstring(out.getvalue()).find("event").findtext("data")  # a real XML parser: the stream is valid
    assert json.loads(data) == json.loads(raw)
    if "\ufffe" not in raw:
        assert data == raw  # byte for byte, \r included
    else:
        assert data == raw.replace("\ufffe", "\\ufffe").replace("\uffff", "\\uffff")


def test_nothing_is_written_for_an_empty_page():
    out = io.StringIO()
    stream = ModularInputStream(out)
    assert SplunkXmlSink(stream).write_page(SIGNIN, []) == 0
    stream.close()
    assert out.getvalue() == ""


def test_each_page_is_flushed_as_one_write():
    class Recorder(io.StringIO):
        writes = 0
        flushes = 0

        def write(self, text):
            Recorder.writes += 1
            return super().write(text)

        def flush(self):
            Recorder.flushes += 1

    out = Recorder()
    SplunkXmlSink(ModularInputStream(out)).write_page(SIGNIN, EVENTS * 50)
    assert Recorder.writes == 1 and Recorder.flushes == 1  # "<stream>" and the page together


def test_json_lines_are_the_raw_items():
    out = io.StringIO()
    JsonLinesSink(out).write_page(SIGNIN, EVENTS)
    assert out.getvalue().splitlines() == [raw for raw, _ in EVENTS]


# A child process writing one large page as the modular input does (ModularInputStream on
# stdout, the StopFlag's SIGTERM handler installed) into a pipe nobody reads yet.
_WRITER = r"""
import sys
sys.path.insert(0, sys.argv[1])
from onepassword_events.sinks import ModularInputStream, whole_writes_stdout
from onepassword_events.stopping import StopFlag
stop = StopFlag().install()
stream = ModularInputStream(whole_writes_stdout() if sys.argv[2] == "whole" else sys.stdout)
stream.write("x" * 2000000)
stream.close()
sys.stderr.write("stopping=%s" % stop.stopping)
"""


@pytest.mark.parametrize("stdout", ["whole", "buffered"])
def test_sigterm_while_the_pipe_is_full_loses_no_part_of_a_page(stdout):
    import os
    import signal
    import subprocess
    import sys
    import time

    import onepassword_events

    bin_dir = os.path.dirname(os.path.dirname(os.path.abspath(onepassword_events.__file__)))
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, bin_dir, stdout], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, bufsize=0)
    head = writer.stdout.read(8)  # the stream has begun; the pipe (64 KiB) fills behind it
    time.sleep(0.5)
    writer.send_signal(signal.SIGTERM)  # splunkd stopping the input while it waits on the pipe
    rest, err = writer.communicate(timeout=60)
    received = (head + rest).decode("ascii")
    assert err.decode() == "stopping=True"
    if stdout == "whole":
        assert received == "<stream>" + "x" * 2000000 + "</stream>"
    else:  # CPython's buffered stdout, as the input had it: the write returns early, the rest is gone
        # (this side also shows that the signal did interrupt a write, so the first side proves something)
        assert len(received) < 2000000


def test_an_event_with_a_host_and_without_a_stanza_says_what_splunklib_says():
    ours = io.StringIO()
    stream = ModularInputStream(ours)
    SplunkXmlSink(stream, index="op_index", host="hf-1 & co", source="1password:acme").write_page(SIGNIN, EVENTS)
    stream.close()
    out = io.StringIO()
    writer = EventWriter(output=out)
    for raw, time_text in EVENTS:
        writer.write_event(Event(data=raw, time=time_text, sourcetype=SIGNIN.sourcetype, index="op_index",
                                 host="hf-1 & co", source="1password:acme"))
    writer.close()
    assert _elements(ours.getvalue()) == _elements(out.getvalue())


def test_a_stanza_with_a_tab_newline_or_cr_reaches_splunk_unchanged():
    out = io.StringIO()
    stream = ModularInputStream(out)
    stanza = 'onepassword://a\tb\nc\rd "e"'
    SplunkXmlSink(stream, index="main", stanza=stanza).write_page(SIGNIN, EVENTS[:1])
    stream.close()
    assert ET.fromstring(out.getvalue()).find("event").get("stanza") == stanza


@pytest.mark.parametrize("raw", [
    '{"uuid":"X","name":"a\ufffeb é"}',      # one of the two characters XML cannot carry, alone in its page
    '{"uuid":"X","name":"a\uffffb é"}',
    '{"uuid":"X","name":"R&D"}',             # one markup character alone
    '{"uuid":"X","name":"a<b"}',
    '{"uuid":"X","note":"]]>"}',             # a ">" that XML character data cannot hold raw here
])
def test_an_item_with_one_special_character_alone_is_still_valid_xml(raw):
    out = io.StringIO()
    stream = ModularInputStream(out)
    SplunkXmlSink(stream, index="main").write_page(SIGNIN, [(raw, None)])
    stream.close()
    data = ET.fromstring(out.getvalue()).find("event").findtext("data")
    assert json.loads(data) == json.loads(raw)


def test_json_lines_on_a_file_descriptor_are_utf8_whatever_the_locale():
    import os

    from onepassword_events.sinks import WholeWrites

    read_end, write_end = os.pipe()
    try:
        JsonLinesSink(WholeWrites(write_end)).write_page(AUDIT, [('{"name":"Zoë 鍵"}', None)])
        os.close(write_end)
        assert os.read(read_end, 1000).decode("utf-8") == '{"name":"Zoë 鍵"}\n'
    finally:
        os.close(read_end)


def test_a_stdout_replaced_in_process_is_written_in_utf8(monkeypatch):
    from onepassword_events.sinks import whole_writes_stdout

    raw = io.BytesIO()
    monkeypatch.setattr("sys.stdout", io.TextIOWrapper(raw, encoding="cp1252"))  # no file descriptor
    out = whole_writes_stdout()
    JsonLinesSink(out).write_page(AUDIT, [('{"name":"鍵"}', None)])
    assert raw.getvalue().decode("utf-8") == '{"name":"鍵"}\n'
