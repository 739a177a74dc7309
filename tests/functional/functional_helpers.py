"""Drivers of the functional suites: the CLI as a subprocess, the modular
input in-process, output parsing, loss/duplicate checks and the token scan.

The simulator (tests/simulator) is the outside world; nothing of the
collector is mocked. The in-process input runs without splunkd: its edge is the
add-on's LocalEdge (the account handed in, checkpoint files), as in the CLI.
"""

import io
import json
import logging
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "package", "bin")
CLI = os.path.join(BIN, "onepassword_events_cli.py")
STREAMS = ("signinattempts", "itemusages", "auditevents")
SOURCETYPES = {
    "1password:insights:signin_attempts": "signinattempts",
    "1password:insights:item_usages": "itemusages",
    "1password:insights:audit_events": "auditevents",
}

# Totals of the token scan over the whole session (printed by conftest).
SCAN_TOTALS = {"outputs": 0, "bytes": 0, "hits": 0, "tests": 0}

def rfc3339(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


# -- the token scan ------------------------------------------------------------------
class SecretScanner:
    """Collects every output of a test and finds any piece of a token in it.

    A token counts as leaked if the whole of it appears, or any 16-character
    piece of its signature, or of the start of its claims when they begin
    with a unique id (the simulator's tokens do: {"jti":...}), so a token cut
    short still counts. Other pieces of a JWT are base64 of public text (the
    header, the host, the feature names) that other base64 text may share.
    """

    PIECE = 16

    def __init__(self):
        self.secrets = set()
        self.outputs = []  # (label, text)
        self.directories = []
        self.excluded = set()

    def add_token(self, token):
        self.secrets.add(token)
        parts = token.split(".")
        if len(parts) != 3:
            return
        claims, signature = parts[1], parts[2]
        for at in range(0, len(signature) - self.PIECE + 1, self.PIECE):
            self.secrets.add(signature[at:at + self.PIECE])
        if claims.startswith("eyJqdGkiOi"):  # base64 of '{"jti":'
            self.secrets.update((claims[12:28], claims[28:44]))

    def add(self, label, text):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.outputs.append((label, text or ""))

    def add_directory(self, path):
        self.directories.append(path)

    def _all_outputs(self):
        for item in self.outputs:
            yield item
        for directory in self.directories:
            for base, _, files in os.walk(directory):
                for name in files:
                    path = os.path.join(base, name)
                    if path in self.excluded:
                        continue
                    try:
                        with open(path, "rb") as handle:
                            yield path, handle.read().decode("utf-8", "replace")
                    except OSError:
                        continue

    def hits(self, record=True):
        found = []
        outputs = 0
        size = 0
        for label, text in self._all_outputs():
            outputs += 1
            size += len(text)
            for secret in self.secrets:
                at = text.find(secret)
                if at >= 0:
                    found.append("%s: ...%s..." % (label, text[max(0, at - 60): at + 20].replace("\n", " ")))
                    break
        if record:
            SCAN_TOTALS["outputs"] += outputs
            SCAN_TOTALS["bytes"] += size
            SCAN_TOTALS["hits"] += len(found)
            SCAN_TOTALS["tests"] += 1
        return found


# -- results -----------------------------------------------------------------------
class Run:
    """One collector run: the events it emitted (raw item text) and its log."""

    def __init__(self, events, log, failed, exit_code=None, xml_events=None, torn=None, raw_output=b"",
                 records=None):
        self.events = events
        self.log = log
        self.records = records if records is not None else log.splitlines()  # one entry per log record
        self.failed = failed
        self.exit_code = exit_code
        self.xml_events = xml_events  # [{'data','time','sourcetype',...}] for splunk-xml output
        self.torn = torn  # a last line cut by a kill (jsonl), or None
        self.raw_output = raw_output

    def __repr__(self):
        return "<Run events=%d failed=%s exit=%s>" % (len(self.events), self.failed, self.exit_code)


def parse_jsonl(data, allow_torn=False):
    """Lines of a jsonl output; a last line without newline is 'torn'."""
    text = data.decode("utf-8")
    lines = text.split("\n")
    torn = lines.pop()  # '' when the output ends with a newline
    if torn and not allow_torn:
        raise AssertionError("the output ends in a partial line: %r" % torn[-200:])
    return lines, (torn or None)


_DATA = re.compile(r"<data>(.*?)</data>", re.S)
_TIME = re.compile(r"<time>(.*?)</time>")


_CHARREF = re.compile(r"&#(?:x([0-9a-fA-F]+)|([0-9]+));")


def xml_unescape(text):
    """Undo the escaping of an XML text node: &lt; &gt; &amp; and character
    references (non-ASCII written as &#NNN;, as ElementTree does)."""
    assert not re.search(r"&(?!amp;|lt;|gt;|#x[0-9a-fA-F]+;|#[0-9]+;)", text), "unexpected XML entity in %r" % text[:200]
    text = _CHARREF.sub(lambda m: chr(int(m.group(1), 16) if m.group(1) else int(m.group(2))), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse_splunk_xml(text):
    """Events of a modular-input XML stream, checked to be well-formed.

    Returns [{'data', 'time', 'sourcetype', 'source', 'index', 'stanza'}];
    'data' is taken from the raw text (exact bytes, entities undone) and
    checked against the XML parser's reading of it.
    """
    if "<stream>" not in text:
        assert "<event" not in text, "events outside a <stream>"
        return []
    if not text.rstrip().endswith("</stream>"):
        text += "</stream>"
    root = ET.fromstring(text)
    assert root.tag == "stream"
    parsed = root.findall("event")
    raw_events = re.findall(r"<event\b.*?</event>", text, re.S)
    assert len(raw_events) == len(parsed)
    events = []
    for element, raw in zip(parsed, raw_events):
        data = xml_unescape(_DATA.search(raw).group(1))
        assert data == element.findtext("data"), "XML parser and raw text disagree"
        events.append({
            "data": data, "time": element.findtext("time"), "sourcetype": element.findtext("sourcetype"),
            "source": element.findtext("source"), "index": element.findtext("index"),
            "stanza": element.get("stanza"), "unbroken": element.get("unbroken"),
        })
    return events


def expected_splunk_time(timestamp):
    """The event time Splunk must get for an RFC 3339 timestamp, computed
    independently of the add-on: UTC epoch seconds, fraction cut to 6 digits."""
    from datetime import datetime

    m = re.fullmatch(r"(\d{4}-\d\d-\d\d)[Tt](\d\d:\d\d:\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)", timestamp)
    assert m, timestamp
    zone = "+00:00" if m.group(4) in "Zz" else m.group(4)
    whole = datetime.fromisoformat("%sT%s%s" % (m.group(1), m.group(2), zone))
    seconds = int(whole.timestamp())
    fraction = (m.group(3) or "")[:6]
    return Decimal(seconds) + (Decimal("0." + fraction) if fraction else 0)


# -- the CLI -----------------------------------------------------------------------
def cli_command(sim, state_dir, fmt="jsonl", limit=100, start=None, event_types=None, extra=(), verbose=True,
                client_settings=None, command="fetch", base_url=None):
    args = [command, "--base-url", base_url or sim.url]
    if command == "fetch":
        if state_dir:
            args += ["--state-dir", str(state_dir)]
        args += ["--format", fmt, "--limit", str(limit)]
        if start is not None:
            args += ["--start-time", start]
        if event_types:
            args += ["--event-types", event_types]
    if verbose:
        args.append("-v")
    args += list(extra)
    if client_settings and "read_timeout" in client_settings:
        args += ["--read-timeout", str(client_settings["read_timeout"])]
    return [sys.executable, CLI] + args


def cli_env(token, client_settings=None):
    env = {k: v for k, v in os.environ.items() if k != "OP_EVENTS_TOKEN"}
    if token is not None:
        env["OP_EVENTS_TOKEN"] = token
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_cli(sim, scanner, state_dir, fmt="jsonl", limit=100, start=None, token=None, event_types=None, extra=(),
            client_settings=None, stdin_token=False, timeout=180, command="fetch", base_url=None, verbose=True):
    """Run the CLI to its end; returns a Run (exit code, events, stderr)."""
    token = token or sim.token
    scanner.add_token(token)
    cmd = cli_command(sim, state_dir, fmt, limit, start, event_types, extra, verbose, client_settings, command,
                      base_url)
    result = subprocess.run(
        cmd, input=(token + "\n").encode() if stdin_token else None,
        stdin=None if stdin_token else subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=cli_env(None if stdin_token else token, client_settings), timeout=timeout, cwd=ROOT,
    )
    stderr = result.stderr.decode("utf-8", "replace")
    scanner.add("cli stdout", result.stdout)
    scanner.add("cli stderr", stderr)
    if state_dir:
        scanner.add_directory(str(state_dir))
    if command != "fetch":
        return Run([], stderr, result.returncode != 0, result.returncode, raw_output=result.stdout)
    if fmt == "jsonl":
        events, _ = parse_jsonl(result.stdout)
        return Run(events, stderr, result.returncode != 0, result.returncode, raw_output=result.stdout)
    xml_events = parse_splunk_xml(result.stdout.decode("utf-8"))
    return Run([e["data"] for e in xml_events], stderr, result.returncode != 0, result.returncode, xml_events,
               raw_output=result.stdout)


# -- the modular input, in-process --------------------------------------------------------
class _Capture(logging.Handler):
    def __init__(self, log_format="%(levelname)s %(name)s %(message)s"):
        super().__init__(logging.DEBUG)
        self.buffer = io.StringIO()
        self.records = []
        self.setFormatter(logging.Formatter(log_format))

    def emit(self, record):
        text = self.format(record)
        self.records.append(text)
        self.buffer.write(text + "\n")


_RUN_COUNTER = [0]


def run_input(sim, scanner, monkeypatch, state_dir, token=None, event_types="", page_size=100, start=None,
              client_settings=None, input_name="fn_input", account_name="acme", index="main", account_extra=None,
              log_format=None):
    """One run of the modular input (collect_input) into the modular-input
    stream, with splunkd's side answered by the add-on's LocalEdge: this account,
    no proxy, checkpoint files in state_dir. Returns a Run. log_format: the
    log lines' format (solnlib's, to read them as Splunk would)."""
    import onepassword_events_helper as helper
    from onepassword_events import runner
    from onepassword_events.client import RetryPolicy
    from onepassword_events.sinks import ModularInputStream
    from onepassword_splunk import LocalEdge

    token = token or sim.token
    scanner.add_token(token)
    account = {"token": token, "region": "custom", "custom_url": sim.url, "verify_tls": "1", "ca_bundle": ""}
    account.update(account_extra or {})
    if client_settings:
        original = getattr(runner.build_client, "functional_original", runner.build_client)

        def build_client(account, proxy_url=None, logger=None, **kwargs):
            if "read_timeout" in client_settings:
                kwargs.setdefault("read_timeout", client_settings["read_timeout"])
            if "retry" in client_settings:
                kwargs.setdefault("retry", RetryPolicy(**client_settings["retry"]))
            return original(account, proxy_url=proxy_url, logger=logger, **kwargs)

        build_client.functional_original = original
        monkeypatch.setattr(runner, "build_client", build_client)

    _RUN_COUNTER[0] += 1
    logger = logging.getLogger("functional.input.%d" % _RUN_COUNTER[0])
    logger.propagate = False
    capture = _Capture(*([log_format] if log_format else []))
    logger.handlers = [capture]
    logger.setLevel(logging.DEBUG)
    library_logs = logging.getLogger("urllib3")
    library_level = library_logs.level
    library_logs.addHandler(capture)
    library_logs.setLevel(logging.DEBUG)
    out, err = io.StringIO(), io.StringIO()
    stream = ModularInputStream(out)
    item = {"account": account_name, "index": index, "event_types": event_types, "page_size": str(page_size),
            "start_time": start or "", "interval": "60"}
    try:
        helper.collect_input("onepassword://" + input_name, item, LocalEdge(account_name, account, logger,
                                                                            state_dir=str(state_dir)), stream)
    finally:
        library_logs.removeHandler(capture)
        library_logs.setLevel(library_level)
        logger.handlers = []
    stream.close()
    xml_text = out.getvalue()
    log = capture.buffer.getvalue() + err.getvalue()
    scanner.add("input xml", xml_text)
    scanner.add("input log", log)
    scanner.add_directory(str(state_dir))
    xml_events = parse_splunk_xml(xml_text)
    failed = '"event":"stream_failed"' in log or '"event":"input_failed"' in log
    return Run([e["data"] for e in xml_events], log, failed, None, xml_events, raw_output=xml_text.encode(),
               records=capture.records + err.getvalue().splitlines())


# -- checks ------------------------------------------------------------------------------
def uuid_of(text):
    try:
        return json.loads(text).get("uuid")
    except ValueError:
        return text[:60]


def check_delivery(sim, events, start, max_duplicates, streams=STREAMS):
    """Every event the simulator holds for `streams` since `start` was emitted,
    nothing else was, and at most `max_duplicates` were emitted twice."""
    expected = set()
    for stream in streams:
        expected.update(sim.expected(stream, start))
    got = set(events)
    missing = expected - got
    unexpected = got - expected
    duplicates = len(events) - len(got)
    assert not missing, "%d events lost, e.g. %s" % (len(missing), sorted(uuid_of(t) for t in missing)[:5])
    assert not unexpected, "%d events not served by the API, e.g. %s" % (
        len(unexpected), [t[:120] for t in list(unexpected)[:3]])
    assert duplicates <= max_duplicates, "%d duplicates, more than %d" % (duplicates, max_duplicates)
    return duplicates


def check_checkpoints(sim, state_dir, input_name, streams=STREAMS, account=None):
    """The checkpoint files are whole JSON states whose cursor the API accepts
    (or would, before an expiry): nothing half-written, no token."""
    states = {}
    names = set(os.listdir(state_dir)) if os.path.isdir(state_dir) else set()
    leftovers = sorted(n for n in names if n.startswith(".tmp-"))
    assert not leftovers, "temporary checkpoint files left behind: %s" % leftovers
    for stream in streams:
        name = "%s.%s.json" % (input_name, stream)
        if name not in names:
            continue
        with open(os.path.join(state_dir, name), encoding="utf-8") as handle:
            state = json.load(handle)
        assert isinstance(state.get("cursor"), str) and state["cursor"], state
        decoded = sim._decode_cursor(state["cursor"])
        assert decoded is not None and decoded["s"] == stream, "checkpoint cursor is not one the API issued"
        assert state.get("host") == sim.url.split("://", 1)[1]
        if account is not None:
            assert state.get("account") == account
        states[stream] = state
    return states


def stream_of(sim, text):
    """Which stream a served item text belongs to (None: not served)."""
    total = sum(len(sim.items(s)) for s in STREAMS)
    index = getattr(sim, "functional_stream_index", None)
    if index is None or index[0] != total:
        mapping = {}
        for stream in STREAMS:
            for item in sim.items(stream):
                mapping[item] = stream
        index = sim.functional_stream_index = (total, mapping)
    return index[1].get(text)
