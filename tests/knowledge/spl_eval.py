"""A small evaluator for the subset of Splunk's eval language and search syntax that the
add-on's props.conf and eventtypes.conf use, so the static tests run the real
configuration rather than a second copy of it.

eval: string and number literals, field names (bare or in single quotes), the operators
"." (concatenate), ==, =, !=, AND, OR, NOT, parentheses, and the functions coalesce, nullif,
if, case, match, replace, isnull, isnotnull, null, true, false, in. A null operand makes "."
and comparisons null, as in Splunk; anything else raises, so an unsupported construct in
props.conf fails the tests instead of being misread.
search (eventtypes): field="value", field=value, field=*, NOT ..., field IN (...), terms
joined by spaces (AND).
"""

import re

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>"(?:\\.|[^"\\])*")
    | (?P<field>'(?:[^'])*')
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op>==|!=|=|\(|\)|,|\.)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""", re.VERBOSE)


class EvalError(ValueError):
    pass


def _tokens(text):
    position, tokens = 0, []
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise EvalError("cannot read %r at %d" % (text[position:position + 20], position))
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif kind == "field":
            value = value[1:-1]
        tokens.append((kind, value))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text):
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self, offset=0):
        index = self.index + offset
        return self.tokens[index] if index < len(self.tokens) else (None, None)

    def take(self, kind=None, value=None):
        token = self.peek()
        if (kind and token[0] != kind) or (value is not None and token[1] != value):
            raise EvalError("expected %s %s, got %s" % (kind, value, token))
        self.index += 1
        return token

    def parse(self):
        node = self.or_()
        if self.index != len(self.tokens):
            raise EvalError("unexpected %s" % (self.peek(),))
        return node

    def or_(self):
        node = self.and_()
        while self.peek() == ("word", "OR"):
            self.take()
            node = ("or", node, self.and_())
        return node

    def and_(self):
        node = self.not_()
        while self.peek() == ("word", "AND"):
            self.take()
            node = ("and", node, self.not_())
        return node

    def not_(self):
        if self.peek() == ("word", "NOT"):
            self.take()
            return ("not", self.not_())
        return self.compare()

    def compare(self):
        node = self.concat()
        if self.peek()[0] == "op" and self.peek()[1] in ("==", "=", "!="):
            op = self.take()[1]
            node = ("cmp", "!=" if op == "!=" else "==", node, self.concat())
        return node

    def concat(self):
        node = self.primary()
        while self.peek() == ("op", "."):
            self.take()
            node = ("concat", node, self.primary())
        return node

    def primary(self):
        kind, value = self.peek()
        if kind == "string":
            self.take()
            return ("lit", value)
        if kind == "number":
            self.take()
            return ("lit", value)
        if kind == "field":
            self.take()
            return ("field", value)
        if (kind, value) == ("op", "("):
            self.take()
            node = self.or_()
            self.take("op", ")")
            return node
        if kind == "word":
            self.take()
            if self.peek() == ("op", "("):
                self.take()
                args = []
                if self.peek() != ("op", ")"):
                    args.append(self.or_())
                    while self.peek() == ("op", ","):
                        self.take()
                        args.append(self.or_())
                self.take("op", ")")
                return ("call", value, args)
            return ("field", value)
        raise EvalError("unexpected %s" % ((kind, value),))


def _truth(value):
    return bool(value) and value is not None


def _evaluate(node, fields):
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "field":
        return fields.get(node[1])
    if kind == "concat":
        left, right = _evaluate(node[1], fields), _evaluate(node[2], fields)
        return None if left is None or right is None else str(left) + str(right)
    if kind == "cmp":
        left, right = _evaluate(node[2], fields), _evaluate(node[3], fields)
        if left is None or right is None:
            return None
        return (str(left) == str(right)) == (node[1] == "==")
    if kind == "and":
        return _truth(_evaluate(node[1], fields)) and _truth(_evaluate(node[2], fields))
    if kind == "or":
        return _truth(_evaluate(node[1], fields)) or _truth(_evaluate(node[2], fields))
    if kind == "not":
        return not _truth(_evaluate(node[1], fields))
    if kind == "call":
        return _call(node[1], node[2], fields)
    raise EvalError(kind)


def _call(name, args, fields):
    value = lambda index: _evaluate(args[index], fields)  # noqa: E731
    if name == "coalesce":
        for index in range(len(args)):
            result = value(index)
            if result is not None:
                return result
        return None
    if name == "nullif":
        first, second = value(0), value(1)
        return None if first is None or str(first) == str(second) else first
    if name == "if":
        return value(1) if _truth(value(0)) else value(2)
    if name == "case":
        for index in range(0, len(args), 2):
            if _truth(value(index)):
                return value(index + 1)
        return None
    if name == "match":
        subject = value(0)
        return None if subject is None else re.search(value(1), str(subject)) is not None
    if name == "replace":
        subject = value(0)
        return None if subject is None else re.sub(value(1), value(2), str(subject))
    if name == "isnull":
        return value(0) is None
    if name == "isnotnull":
        return value(0) is not None
    if name == "in":
        subject = value(0)
        return None if subject is None else str(subject) in [str(value(i)) for i in range(1, len(args))]
    if name == "null" and not args:
        return None
    if name == "true" and not args:
        return True
    if name == "false" and not args:
        return False
    raise EvalError("unsupported eval function %s()" % name)


def compile_eval(text):
    tree = _Parser(text).parse()
    return lambda fields: _evaluate(tree, fields)


# ------------------------------------------------------------------ search (eventtypes)
_TERM = re.compile(r'\s*(?:(NOT)\s+)?([A-Za-z_][\w.]*)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^\s()]+)|\s+IN\s*\(([^)]*)\))')


def compile_search(text):
    """A search of terms joined by AND: field=value, field="value", field=*, NOT term,
    field IN ("a", "b")."""
    terms, position, text = [], 0, text.strip()
    while position < len(text):
        match = _TERM.match(text, position)
        if not match:
            raise EvalError("cannot read search %r" % text[position:])
        negate, field, single, many = match.groups()
        values = [single] if single is not None else [v.strip() for v in many.split(",")]
        values = [v[1:-1] if v.startswith('"') else v for v in values]
        terms.append((bool(negate), field, values))
        position = match.end()

    def matches(fields):
        for negate, field, values in terms:
            value = fields.get(field)
            hit = value is not None and any(
                re.fullmatch(".*".join(re.escape(p) for p in v.split("*")), str(value), re.IGNORECASE)
                for v in values)
            if hit == negate:
                return False
        return True

    return matches
