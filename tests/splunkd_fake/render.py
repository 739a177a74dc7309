"""splunkd's answer formats: Atom XML feeds (what splunklib.client parses), the
JSON of output_mode=json (what solnlib.splunkenv reads) and error bodies."""

import json
import time
from typing import NamedTuple
from xml.sax.saxutils import escape, quoteattr

GENERATOR = {"build": "fakesplunkd", "version": "9.4.0"}


class Entry(NamedTuple):
    name: str  # the entry's title
    path: str  # its own URL path (link rel="alternate"), already quoted
    content: dict  # fields without the eai:* ones
    acl: dict  # eai:acl
    author: str = "nobody"


def now_text():
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


def _value_xml(value, indent):
    pad = " " * indent
    if isinstance(value, dict):
        inner = "".join(
            '%s  <s:key name=%s>%s</s:key>\n' % (pad, quoteattr(str(k)), _value_xml(v, indent + 4))
            for k, v in sorted(value.items())
        )
        return "\n%s<s:dict>\n%s%s</s:dict>\n%s" % (pad, inner, pad, pad[:-2] if len(pad) >= 2 else "")
    if isinstance(value, (list, tuple)):
        inner = "".join("%s  <s:item>%s</s:item>\n" % (pad, _value_xml(v, indent + 4)) for v in value)
        return "\n%s<s:list>\n%s%s</s:list>\n%s" % (pad, inner, pad, pad[:-2] if len(pad) >= 2 else "")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return escape(str(value))


def _entry_xml(base_url, entry, app_name, user_name):
    content = dict(entry.content)
    content["eai:acl"] = entry.acl
    content.setdefault("eai:appName", app_name)
    content.setdefault("eai:userName", user_name)
    links = "".join(
        '    <link href=%s rel="%s"/>\n' % (quoteattr(entry.path), rel) for rel in ("list", "edit", "remove")
    )
    return (
        "  <entry>\n"
        "    <title>%s</title>\n"
        "    <id>%s</id>\n"
        "    <updated>%s</updated>\n"
        '    <link href=%s rel="alternate"/>\n'
        "    <author>\n      <name>%s</name>\n    </author>\n"
        "%s"
        '    <content type="text/xml">%s</content>\n'
        "  </entry>\n"
    ) % (
        escape(entry.name), escape(base_url + entry.path), now_text(), quoteattr(entry.path), escape(entry.author),
        links, _value_xml(content, 6),
    )


def atom_feed(base_url, path, title, entries, total, offset, per_page):
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!--This is to override browser formatting; see server.conf[httpServer] to disable.-->\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:s="http://dev.splunk.com/ns/rest" '
        'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">\n'
        "  <title>%s</title>\n"
        "  <id>%s</id>\n"
        "  <updated>%s</updated>\n"
        '  <generator build="%s" version="%s"/>\n'
        "  <author>\n    <name>Splunk</name>\n  </author>\n"
        '  <link href=%s rel="create"/>\n'
        "  <opensearch:totalResults>%d</opensearch:totalResults>\n"
        "  <opensearch:itemsPerPage>%d</opensearch:itemsPerPage>\n"
        "  <opensearch:startIndex>%d</opensearch:startIndex>\n"
        "  <s:messages/>\n"
    ) % (
        escape(title), escape(base_url + path), now_text(), GENERATOR["build"], GENERATOR["version"],
        quoteattr(path + "/_new"), total, per_page, offset,
    )
    body = "".join(
        _entry_xml(base_url, e, e.acl.get("app"), e.acl.get("owner")) for e in entries
    )
    return head + body + "</feed>\n"


def json_feed(base_url, path, entries, total, offset, per_page):
    rendered = []
    for e in entries:
        content = dict(e.content)
        if "disabled" in content:
            content["disabled"] = str(content["disabled"]).strip().lower() in ("1", "true")
        content["eai:acl"] = None
        content.setdefault("eai:appName", e.acl.get("app"))
        content.setdefault("eai:userName", e.acl.get("owner"))
        rendered.append({
            "name": e.name,
            "id": base_url + e.path,
            "updated": now_text(),
            "links": {"alternate": e.path, "list": e.path, "edit": e.path, "remove": e.path},
            "author": e.author,
            "acl": e.acl,
            "content": content,
        })
    return json.dumps({
        "links": {"create": path + "/_new"},
        "origin": base_url + path,
        "updated": now_text(),
        "generator": GENERATOR,
        "entry": rendered,
        "paging": {"total": total, "perPage": per_page, "offset": offset},
        "messages": [],
    })


def xml_error(text, kind="ERROR"):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<response>\n  <messages>\n'
        '    <msg type="%s">%s</msg>\n  </messages>\n</response>\n' % (kind, escape(text))
    )


def json_error(text, kind="ERROR"):
    return json.dumps({"messages": [{"type": kind, "text": text}]})
