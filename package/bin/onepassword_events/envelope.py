"""Split an Events API response body into its cursor, has_more and items.

Each item is returned twice: as the exact text the API sent (what Splunk
indexes, byte for byte) and as the decoded object (to read its timestamp and
uuid). Decoding runs on the json module's C scanner, one item at a time, so
no item is ever re-encoded.

A body is data from a server that may be hostile: whatever the JSON layer
raises on it (nesting deep enough for RecursionError, an integer of thousands
of digits) becomes an EnvelopeError, a page holds at most the API's largest
page size, and error messages give offsets, never the server's text.
"""

import json
import re
from typing import List, NamedTuple, Optional, Tuple

from .errors import CollectorError

_decode_at = json.JSONDecoder().raw_decode
# The C scanner behind raw_decode, called directly in the per-item loop.
_scan_once = json.JSONDecoder().scan_once
_scan_string = json.decoder.scanstring
_skip_ws = re.compile(r"[ \t\n\r]*").match

MAX_ITEMS = 1000  # the API's largest page size (limit 1-1000)
MAX_CURSOR_CHARS = 16384  # cursors are opaque but short; one is saved with every page


class Page(NamedTuple):
    cursor: Optional[str]
    has_more: bool
    items: List[Tuple[str, object]]  # (raw item text, decoded item)


class EnvelopeError(CollectorError):
    """A body that is not the documented envelope (the client raises it
    again as a MalformedResponseError naming the host)."""

    category = "malformed_response"


def _expect(text, pos, char):
    pos = _skip_ws(text, pos).end()
    if text[pos : pos + 1] != char:
        raise EnvelopeError(f"expected '{char}' at offset {pos}")
    return pos + 1


def _items(text, pos):
    """Parse the items array starting at '[' (pos is after it)."""
    items = []
    append = items.append
    scan = _scan_once
    pos = _skip_ws(text, pos).end()
    if text[pos : pos + 1] == "]":
        return items, pos + 1
    try:
        while True:
            obj, end = scan(text, pos)
            append((text[pos:end], obj))
            if len(items) > MAX_ITEMS:
                raise EnvelopeError(f"more than {MAX_ITEMS} items in one page")
            if text[end] == "," and text[end + 1] == "{":  # compact JSON: the usual case
                pos = end + 1
                continue
            end = _skip_ws(text, end).end()
            sep = text[end]
            if sep == ",":
                pos = _skip_ws(text, end + 1).end()
                continue
            if sep != "]":
                raise EnvelopeError(f"items array broken at offset {end}")
            return items, end + 1
    except StopIteration as exc:
        raise EnvelopeError(f"item {len(items)} is not valid JSON at offset {exc.value}") from None
    except json.JSONDecodeError as exc:
        raise EnvelopeError(f"item {len(items)} is not valid JSON: {exc.msg} at offset {exc.pos}") from None
    except IndexError:
        raise EnvelopeError(f"the body ends inside the items array (after item {len(items)})") from None


def parse_page(text):
    """Parse a response body; raises EnvelopeError if it is not the envelope."""
    try:
        return _parse_page(text)
    except EnvelopeError:
        raise
    except (ValueError, RecursionError, IndexError, KeyError, TypeError, OverflowError, MemoryError) as exc:
        raise EnvelopeError(f"the JSON cannot be read ({type(exc).__name__})") from None


def _parse_page(text):
    cursor = None
    has_more = False
    items = []
    seen_items = False
    pos = _expect(text, 0, "{")
    pos = _skip_ws(text, pos).end()
    if text[pos : pos + 1] == "}":
        raise EnvelopeError("empty JSON object: no cursor")
    try:
        while True:
            pos = _expect(text, pos, '"')
            key, pos = _scan_string(text, pos)
            pos = _expect(text, pos, ":")
            pos = _skip_ws(text, pos).end()
            if key == "items":
                if text[pos : pos + 4] == "null":
                    pos += 4
                else:
                    pos = _expect(text, pos, "[")
                    items, pos = _items(text, pos)
                seen_items = True
            else:
                value, pos = _decode_at(text, pos)
                if key == "cursor":
                    cursor = value
                elif key == "has_more":
                    has_more = value is True
            pos = _skip_ws(text, pos).end()
            sep = text[pos : pos + 1]
            if sep == "}":
                break
            if sep != ",":
                raise EnvelopeError(f"response object broken at offset {pos}")
            pos += 1
    except json.JSONDecodeError as exc:
        raise EnvelopeError(f"{exc.msg} at offset {exc.pos}") from None
    if _skip_ws(text, pos + 1).end() != len(text):
        raise EnvelopeError("unexpected data after the response object")
    if not isinstance(cursor, str) or not cursor:
        raise EnvelopeError("response has no cursor")
    if len(cursor) > MAX_CURSOR_CHARS:
        raise EnvelopeError(f"the cursor is longer than {MAX_CURSOR_CHARS} characters")
    if not seen_items and has_more:
        raise EnvelopeError("response has no items array")
    return Page(cursor, has_more, items)
