"""Where pages of events go: the modular-input XML stream, or JSON lines.

A sink receives a page as a list of (raw item text, event time text or None)
and writes it in one call, then flushes: the collector saves the cursor only
after `write_page` returns.
"""

import os
import re
import sys

# What XML 1.0 cannot carry in character data. In a valid JSON item only
# U+FFFE and U+FFFF can occur raw (control characters must be escaped inside
# JSON strings, and strict UTF-8 decoding refuses lone surrogates); any of them
# sits inside a JSON string, where its \\uXXXX escape is the same value.
_NOT_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _escape_text(text):
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _escape_data(raw):
    """An item's text as XML character data that parses back to the same text:
    a raw CR as a character reference (an XML parser turns a literal CR into
    LF), and characters XML cannot carry as their JSON escape."""
    raw = _NOT_XML_CHAR.sub(lambda m: "\\u%04x" % ord(m.group()), raw)
    return _escape_text(raw).replace("\r", "&#13;")


def _escape_attr(text):
    return _escape_text(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#09;")


class WholeWrites:
    """A file descriptor (stdout) for the sinks, text (as UTF-8: items are UTF-8 JSON whatever the
    locale) or bytes, written with os.write until every byte is out. CPython's buffered stdout
    returns early from a write that a signal interrupts while the pipe is full (SIGTERM from
    splunkd, Ctrl-C in the CLI, while the reader lags), and the rest of the page is lost: the
    run would then save the checkpoint of a page that never arrived whole."""

    def __init__(self, fd):
        self._fd = fd
        self.buffer = self  # ModularInputStream writes bytes to stdout's binary layer

    def write(self, data):
        view = memoryview(data.encode("utf-8") if isinstance(data, str) else data)
        while view:
            view = view[os.write(self._fd, view):]

    def flush(self):
        pass


def whole_writes_stdout():
    """stdout for the sinks: WholeWrites on its file descriptor, or sys.stdout itself (as UTF-8)
    when it has none (replaced in-process)."""
    sys.stdout.flush()
    try:
        return WholeWrites(sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation: stdout replaced in-process
        if hasattr(sys.stdout, "reconfigure"):
            sys.stdout.reconfigure(encoding="utf-8")
        return sys.stdout


class ModularInputStream:
    """The modular-input XML document on stdout: <stream>, events, </stream>.

    Owns the stream: the generated input script's splunklib EventWriter is
    never written through, so its close() adds nothing. Text goes as UTF-8
    bytes straight to the binary stream when there is one: the XML stream's
    encoding whatever the platform's stdout encoding (cp1252 on Windows would
    fail on the first non-Latin name).
    """

    def __init__(self, out):
        self._out = out
        self._binary = getattr(out, "buffer", None)
        self._started = False

    def write(self, text):
        if not self._started:
            text = "<stream>" + text
            self._started = True
        if self._binary is None:
            self._out.write(text)
            self._out.flush()
            return
        self._out.flush()  # anything that went through the text layer first
        self._binary.write(text.encode("utf-8"))
        self._binary.flush()

    def close(self):
        if self._started:
            self.write("</stream>")


WRITE_SLICE = 100  # events per write


class SplunkXmlSink:
    """Events of one input as modular-input XML, written as text without an XML tree.

    The output is the XML splunklib's EventWriter.write_event writes for the
    same events (same elements, order, attributes and escaping; non-ASCII text
    as UTF-8 rather than character references), built with string formatting
    because a per-event ElementTree costs more than the rest of the pipeline.
    Unlike splunklib, it keeps a raw CR and characters XML cannot carry intact
    (see _escape_data). Several inputs of one process share one stream.
    """

    def __init__(self, stream, index=None, host=None, source=None, stanza=None):
        self._stream = stream
        self._tails = {}
        # unbroken="1" + <done />, as splunklib writes: each item is one whole event
        self._head = '<event stanza="%s" unbroken="1">' % _escape_attr(stanza) if stanza else '<event unbroken="1">'
        self._index = index
        self._host = host
        self._source = source

    def _fields(self, sourcetype):
        tail = self._tails.get(sourcetype)
        if tail is None:
            parts = []
            for tag, value in (("source", self._source), ("sourcetype", sourcetype), ("index", self._index), ("host", self._host)):
                if value:
                    parts.append("<%s>%s</%s>" % (tag, _escape_text(value), tag))
            tail = self._tails[sourcetype] = "".join(parts) + "<data>"
        return tail

    def write_page(self, stream, events):
        # in slices: the XML text of a whole page and its UTF-8 copy would
        # add megabytes to the peak memory for nothing
        for start in range(0, len(events), WRITE_SLICE):
            part = events[start:start + WRITE_SLICE]
            text = self._page_xml(stream, part, _escape_text)
            # the slice as a whole is checked, and only a rare slice pays for the full
            # escape (U+FFFE/U+FFFF are the only non-XML characters a page can hold)
            if "\r" in text or (not text.isascii() and ("\ufffe" in text or "\uffff" in text)):
                text = self._page_xml(stream, part, _escape_data)
            self._stream.write(text)
        return len(events)

    def _page_xml(self, stream, events, escape):
        head = self._head
        fields = self._fields(stream.sourcetype)
        timed = head + "<time>"
        untimed = head + fields
        between = "</time>" + fields
        # one flat list joined once: no per-event intermediate strings
        chunks = []
        append = chunks.append
        for raw, time_text in events:
            if "&" in raw or "<" in raw or ">" in raw or escape is not _escape_text:
                raw = escape(raw)
            if time_text is None:
                append(untimed)
            else:
                append(timed)
                append(time_text)
                append(between)
            append(raw)
            append("</data><done /></event>")
        return "".join(chunks)

    def close(self):
        pass


class JsonLinesSink:
    """One raw item per line (the CLI's default format)."""

    def __init__(self, out):
        self._out = out

    def write_page(self, stream, events):
        if not events:
            return 0
        self._out.write("\n".join(raw for raw, _ in events) + "\n")
        self._out.flush()
        return len(events)

    def close(self):
        self._out.flush()
