"""The tests' one reader of Splunk .conf and .meta files: the pinned addonfactory-splunk-conf-parser-lib,
plus the repeated-stanza/key check that parser cannot make (it keeps the last value, Splunk keeps one too).

The fake splunkd (tests/splunkd_fake) has its own standard-library reader because it runs under any
python3, outside the virtualenv; everything else reads through here.
"""

import re

from addonfactory_splunk_conf_parser_lib import TABConfigParser


class _Parser(TABConfigParser):
    # .meta files open with an unnamed "[]" stanza (the app's own permissions)
    SECTCRE = re.compile(r"\[(?P<header>.*)\]")


def _stanzas(parser):
    # The library keeps a continued line's trailing backslash; Splunk joins the lines with a newline.
    return {stanza: {key: value.replace("\\\n", "\n") for key, value in settings.items()}
            for stanza, settings in parser.item_dict().items()}


def read_conf(path):
    """{stanza: {key: value}} of a .conf or .meta file; continued lines are joined by newlines,
    comments are dropped."""
    parser = _Parser()
    with open(path, encoding="utf-8") as handle:
        parser.read_file(handle, path)
    return _stanzas(parser)


def read_conf_text(text):
    """read_conf of a file's text."""
    parser = _Parser()
    parser.read_string(text)
    return _stanzas(parser)


def repeated_settings(path):
    """Stanza headers and (stanza, key) pairs a .conf file writes twice: the parser would merge
    them silently, and Splunk keeps only one of the values."""
    seen, repeated = set(), []
    stanza, continued = None, False
    with open(path, encoding="utf-8") as handle:
        for raw in handle:
            line = raw.strip()
            was_continued, continued = continued, raw.rstrip("\r\n").endswith("\\")
            if was_continued or not line or line.startswith("#"):
                continue  # a value continued from the line before, a blank or a comment
            if line.startswith("["):
                stanza, entry = line, line
            else:
                entry = (stanza, line.split("=", 1)[0].strip())
            if entry in seen:
                repeated.append(entry)
            seen.add(entry)
    return repeated
