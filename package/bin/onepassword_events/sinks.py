"""Where pages of events go: the modular-input XML stream, or JSON lines.

A sink receives a page as a list of (raw item text, event time text or None)
and writes it in one call, then flushes: the collector saves the cursor only
after `write_page` returns.
"""


def _escape_text(text):
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _escape_attr(text):
    return _escape_text(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#09;")


class SplunkXmlSink:
    """The modular-input XML stream, written as text without an XML tree.

    The output is the XML splunklib's EventWriter.write_event writes for the
    same events (same elements, order, attributes and escaping; non-ASCII text
    as UTF-8 rather than character references), built with string formatting
    because a per-event ElementTree costs more than the rest of the pipeline.
    """

    def __init__(self, out, index=None, host=None, source=None, stanza=None, writer=None):
        self._out = out
        self._writer = writer  # a splunklib EventWriter sharing `out`, if any
        self._header_written = False
        self._tails = {}
        # unbroken="1" + <done />, as splunklib writes: each item is one whole event
        self._head = '<event stanza="%s" unbroken="1">' % _escape_attr(stanza) if stanza else '<event unbroken="1">'
        self._index = index
        self._host = host
        self._source = source

    @classmethod
    def for_event_writer(cls, event_writer, **kwargs):
        # splunklib keeps the stream in `_out` and writes <stream> once, on the
        # first event; sharing both keeps our events and its own in one document.
        return cls(event_writer._out, writer=event_writer, **kwargs)

    def _fields(self, sourcetype):
        tail = self._tails.get(sourcetype)
        if tail is None:
            parts = []
            for tag, value in (("source", self._source), ("sourcetype", sourcetype), ("index", self._index), ("host", self._host)):
                if value:
                    parts.append("<%s>%s</%s>" % (tag, _escape_text(value), tag))
            tail = self._tails[sourcetype] = "".join(parts) + "<data>"
        return tail

    def _start(self):
        if self._writer is not None:
            if not self._writer.header_written:
                self._out.write("<stream>")
                self._writer.header_written = True
        elif not self._header_written:
            self._out.write("<stream>")
            self._header_written = True

    def write_page(self, stream, events):
        if not events:
            return 0
        self._start()
        head = self._head
        fields = self._fields(stream.sourcetype)
        timed = head + "<time>"
        untimed = head + fields
        between = "</time>" + fields
        # one flat list joined once: no per-event intermediate strings
        chunks = []
        append = chunks.append
        for raw, time_text in events:
            if "&" in raw or "<" in raw or ">" in raw:
                raw = _escape_text(raw)
            if time_text is None:
                append(untimed)
            else:
                append(timed)
                append(time_text)
                append(between)
            append(raw)
            append("</data><done /></event>")
        self._write("".join(chunks))
        return len(events)

    def _write(self, text):
        # UTF-8 bytes straight to the binary stream when there is one: the XML
        # stream's encoding whatever the platform's stdout encoding (cp1252 on
        # Windows would fail on the first non-Latin name)
        binary = getattr(self._out, "buffer", None)
        if binary is None:
            self._out.write(text)
            self._out.flush()
            return
        self._out.flush()  # what went through the text layer first (<stream>, splunklib's own events)
        binary.write(text.encode("utf-8"))
        binary.flush()

    def close(self):
        if self._writer is not None:
            self._writer.close()
        else:
            if self._header_written:
                self._out.write("</stream>")
            self._out.flush()


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
