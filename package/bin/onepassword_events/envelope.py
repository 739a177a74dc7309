"""Split an Events API response body into its cursor, has_more and items.

Each item is returned twice: as the exact text the API sent (what Splunk
indexes, byte for byte) and as the decoded object (to read its timestamp and
uuid). Decoding runs on the json module's C scanner, one item at a time, so
no item is ever re-encoded.
"""

import json
import re
from typing import List, NamedTuple, Optional, Tuple

_decode_at = json.JSONDecoder().raw_decode
# The C scanner behind raw_decode, called directly in the per-item loop.
_scan_once = json.JSONDecoder().scan_once
_scan_string = json.decoder.scanstring
_skip_ws = re.compile(r"[ \t\n\r]*").match


class Page(NamedTuple):
    cursor: Optional[str]
    has_more: bool
    items: List[Tuple[str, object]]  # (raw item text, decoded item)


class EnvelopeError(ValueError):
    pass


def _expect(text, pos, char):
    pos = _skip_ws(text, pos).end()
    if text[pos : pos + 1] != char:
        found = text[pos : pos + 1] or "end of body"
        raise EnvelopeError(f"expected '{char}' at offset {pos}, found '{found}'")
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
    if not seen_items and has_more:
        raise EnvelopeError("response has no items array")
    return Page(cursor, has_more, items)
