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


# What the client logs as the detail of a page it refuses: where the body broke, never its text.
@pytest.mark.parametrize("body, why", [
    ("", "expected '{' at offset 0"),
    (" <html>", "expected '{' at offset 1"),
    ("{}", "empty JSON object: no cursor"),
    ("{ \n}", "empty JSON object: no cursor"),
    ("{}\n", "empty JSON object: no cursor"),
    ("{cursor:1}", "expected '\"' at offset 1"),
    ('{"cursor" "c"}', "expected ':' at offset 10"),
    ('{"cursor":"c","items":{}}', "expected '[' at offset 22"),
    ('{"cursor":"c","items":nul}', "expected '[' at offset 22"),
    ('{"cursor":"c","items":[{"a":1} {"b":2}]}', "items array broken at offset 31"),
    ('{"cursor":"c","items":[x]}', "item 0 is not valid JSON at offset 23"),
    ('{"cursor":"c","items":[{"a":1},x]}', "item 1 is not valid JSON at offset 31"),
    ('{"cursor":"c","items":[{"a" 1}]}', "item 0 is not valid JSON: Expecting ':' delimiter at offset 28"),
    ('{"cursor":"c","items":[{"a":1}', "the body ends inside the items array (after item 1)"),
    ('{"cursor":"c","items":[{"a":1},', "the body ends inside the items array (after item 1)"),
    ('{"cursor":"c","items":[{"a":1} ', "the body ends inside the items array (after item 1)"),
    ('{"cursor":"c","items":[' + "[" * 100_000, "the JSON cannot be read (RecursionError)"),
    ('{"cursor":"c","n":' + "1" * 5000 + ',"items":[]}', "the JSON cannot be read (ValueError)"),
    ('{"cursor":x}', "Expecting value at offset 10"),
    ('{"cursor":"c" "items":[]}', "response object broken at offset 14"),
    ('{"cursor":"c","items":[{"a":1}]', "response object broken at offset 31"),
    ('{"cursor":"c","items":[]} x', "unexpected data after the response object"),
    ('{"cursor":"c","items":[]}{}', "unexpected data after the response object"),
    ('{"cursor":"c","items":[]}x', "unexpected data after the response object"),
    ('{"cursor":"%s","items":[]}' % ("c" * 16385), "the cursor is longer than 16384 characters"),
    ('{"cursor":5,"items":[]}', "response has no cursor"),
    ('{"cursor":"","items":[]}', "response has no cursor"),
    ('{"cursor":"c","has_more":true}', "response has no items array"),
])
def test_a_refused_body_is_explained_by_offsets(body, why):
    with pytest.raises(EnvelopeError) as caught:
        parse_page(body)
    assert str(caught.value) == why and caught.value.category == "malformed_response"


def test_a_body_that_is_not_text_is_refused_not_crashed_on():
    for body in (None, b'{"cursor":"c","items":[]}'):
        with pytest.raises(EnvelopeError, match=r"^the JSON cannot be read \(TypeError\)$"):
            parse_page(body)


def test_items_spread_over_lines_are_each_kept_as_sent():
    page = parse_page('{"cursor":"c","items":[ {"a":1}\n,\n {"b":2} ,\t{"c":3},{"d":4}, {"e":5} ,{"f":6}\r\n]\n}\n')
    assert [raw for raw, _ in page.items] == ['{"a":1}', '{"b":2}', '{"c":3}', '{"d":4}', '{"e":5}', '{"f":6}']
    assert parse_page('{"cursor":"c","items":[ ]}').items == []


def test_only_a_json_true_means_more_pages():
    for value, more in (("true", True), ('"true"', False), ("1", False), ("false", False), ("null", False)):
        assert parse_page('{"cursor":"c","has_more":%s,"items":[]}' % value).has_more is more


def test_a_page_without_items_is_empty_unless_it_claims_more():
    assert parse_page('{"cursor":"c","items":[]}') == ("c", False, [])  # no has_more: no more pages
    assert parse_page('{"cursor":"c","has_more":false}') == ("c", False, [])
    assert parse_page('{"cursor":"c","items":null,"has_more":true}') == ("c", True, [])


def test_a_page_of_the_apis_largest_size_is_taken_and_one_item_more_is_refused():
    from onepassword_events.envelope import MAX_ITEMS

    full = '{"cursor":"c","has_more":true,"items":[%s]}' % ",".join('{"n":%d}' % n for n in range(MAX_ITEMS))
    assert [obj["n"] for _, obj in parse_page(full).items] == list(range(MAX_ITEMS))
    over = '{"cursor":"c","has_more":true,"items":[%s]}' % ", ".join("{}" for _ in range(MAX_ITEMS + 1))
    with pytest.raises(EnvelopeError, match=r"^more than 1000 items in one page$"):
        parse_page(over)
