import json

import pytest

from onepassword_events.envelope import EnvelopeError, parse_page


def test_items_come_back_byte_for_byte_with_their_decoded_form():
    raw_items = [
        '{"uuid":"A","name":"Zoë <&> \\"quoted\\"","n":1.50,"e":"\\u00e9"}',
        '{ "uuid" : "B" ,\n "nested": {"deep": [1, 2, {"x": null}]} }',
    ]
    body = '{"cursor":"abc","has_more":true,"items":[' + ",".join(raw_items) + "]}"
    page = parse_page(body)
    assert page.cursor == "abc" and page.has_more is True
    assert [raw for raw, _ in page.items] == raw_items
    assert [obj for _, obj in page.items] == [json.loads(r) for r in raw_items]


def test_key_order_and_whitespace_do_not_matter():
    page = parse_page(' {\n "items" : [ {"a":1} ] , "has_more" : false , "cursor" : "c", "extra": {"k": [1]} }\n')
    assert page == ("c", False, [('{"a":1}', {"a": 1})])


def test_empty_and_null_items():
    assert parse_page('{"cursor":"c","has_more":false,"items":[]}').items == []
    assert parse_page('{"cursor":"c","has_more":false,"items":null}').items == []


@pytest.mark.parametrize(
    "body",
    [
        '{"cursor":"c","has_more":true,"items":[{"a":1},{"b":',  # truncated
        "<html><body>502 Bad Gateway</body></html>",
        "",
        '{"cursor":"c","has_more":false,"items":[]} trailing',
        '{"has_more":false,"items":[]}',  # no cursor
        '{"cursor":"c","has_more":true}',  # has_more without items
        '{"cursor":"c","items":[{"a":1} {"b":2}]}',
        '[]',
    ],
)
def test_anything_else_is_an_envelope_error(body):
    with pytest.raises(EnvelopeError):
        parse_page(body)


def test_a_cursor_at_the_cap_is_taken_and_one_beyond_it_is_refused():
    from onepassword_events.envelope import MAX_CURSOR_CHARS

    at_cap = '{"cursor":"%s","has_more":false,"items":[]}' % ("c" * MAX_CURSOR_CHARS)
    assert parse_page(at_cap).cursor == "c" * MAX_CURSOR_CHARS
    with pytest.raises(EnvelopeError, match="cursor is longer"):
        parse_page('{"cursor":"%s","has_more":false,"items":[]}' % ("c" * (MAX_CURSOR_CHARS + 1)))
