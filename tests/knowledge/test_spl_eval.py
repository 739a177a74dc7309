"""The eval/search emulation used by the knowledge tests follows Splunk's rules on the
constructs props.conf and eventtypes.conf use, and refuses anything else."""

import pytest

from spl_eval import EvalError, compile_eval, compile_search


@pytest.mark.parametrize("expression, fields, expected", [
    ('coalesce(nullif(a, ""), b, "x")', {"a": "", "b": "B"}, "B"),
    ('coalesce(nullif(a, ""), "x")', {}, "x"),
    ('"p=" . coalesce(v, "unknown")', {"v": "7"}, "p=7"),
    ("'c.app' . \"/\" . 'c.ver'", {"c.app": "A"}, None),  # null operand: null result
    ('if(match(source, "^1password:."), replace(source, "^1password:", ""), null())', {"source": "1password:acme"}, "acme"),
    ('if(match(source, "^1password:."), replace(source, "^1password:", ""), null())', {"source": "/opt/x"}, None),
    ('case(t=="gm" OR t=="uva", "aux", true(), "actor")', {"t": "uva"}, "aux"),
    ('case(t=="gm" OR t=="uva", "aux", true(), "actor")', {}, "actor"),
    ('case(isnotnull(x) AND match(x, "@"), x)', {"x": "no-at"}, None),
    ('"AAA"', {}, "AAA"),
])
def test_eval(expression, fields, expected):
    assert compile_eval(expression)(fields) == expected


def test_unsupported_eval_is_refused():
    with pytest.raises(EvalError):
        compile_eval("lower(x)")({"x": "A"})
    with pytest.raises(EvalError):
        compile_eval("x + 1")


def test_eventtype_search_terms():
    search = compile_search('sourcetype="1password:insights:audit_events" NOT change_dataset IN ("account", "audit")')
    assert search({"sourcetype": "1password:insights:audit_events"})
    assert search({"sourcetype": "1password:insights:audit_events", "change_dataset": "change"})
    assert not search({"sourcetype": "1password:insights:audit_events", "change_dataset": "account"})
    assert not search({"sourcetype": "1password:insights:item_usages"})
    assert compile_search('sourcetype="x" user_role=*')({"sourcetype": "x", "user_role": "Owner"})
    assert not compile_search('sourcetype="x" user_role=*')({"sourcetype": "x"})
