"""
KQL (Kibana query language) -> EQL, for evaluating Elastic's kuery rules with
the `eql` package's engine.

Takes: the text of a kuery rule's query. Gives: an EQL expression string
(`any where <expr>` is built by the caller). The detection-rules repository's
own KQL library is not on PyPI, so this is the equivalent it describes: a lark
grammar of KQL's boolean language and a translation in the same terms as its
`kql.to_eql` (exact value -> `==`, wildcard -> case-sensitive `like`, `field:*`
-> `!= null`, ranges, `field:(a or b)` lists, `not`). Evaluation itself is the
`eql` package's. Free-text terms and nested `{}` queries raise KqlUnsupported.
"""
import json
from lark import Lark, Transformer

GRAMMAR = r"""
?start: or_q
?or_q: and_q (_OR and_q)*              -> or_
?and_q: not_q (_AND not_q)*            -> and_
?not_q: _NOT not_q                     -> not_
      | atom
?atom: "(" or_q ")"
     | FIELD ":" value_expr            -> match
     | FIELD RANGE_OP value            -> range_
     | FIELD ":" "{" or_q "}"          -> nested
     | value                           -> free_text
?value_expr: "(" v_or ")"
           | value
?v_or: v_and (_OR v_and)*              -> v_or
?v_and: v_not (_AND v_not)*            -> v_and
?v_not: _NOT v_not                     -> v_not
      | "(" v_or ")"
      | value
value: QUOTED -> quoted
     | UNQUOTED+ -> unquoted
RANGE_OP: "<=" | ">=" | "<" | ">"
_OR.2: /or(?=[\s(])/i
_AND.2: /and(?=[\s(])/i
_NOT.2: /not(?=[\s(])/i
FIELD.1: /[@A-Za-z_][A-Za-z0-9_.@*\-]*(?=\s*(:|<|>))/
QUOTED: /"(?:[^"\\]|\\.)*"/
UNQUOTED: /(?:[^\s\\():<>"{}]|\\.)+/
%import common.WS
%ignore WS
"""

_parser = Lark(GRAMMAR, parser="lalr")


class KqlUnsupported(Exception):
    pass


def _eql_str(s):
    return json.dumps(s)


class _ToEql(Transformer):
    def quoted(self, t):
        return ("q", json.loads(t[0]))

    def unquoted(self, t):
        # KQL reads whitespace-separated words as one value (`process.args:(* curl* or x)`).
        raw = " ".join(str(x) for x in t)
        out, i = [], 0
        wild = False
        while i < len(raw):
            c = raw[i]
            if c == "\\" and i + 1 < len(raw):
                out.append(raw[i + 1])
                i += 2
                continue
            if c == "*":
                wild = True
            out.append(c)
            i += 1
        return ("w" if wild else "u", "".join(out))

    def v_or(self, items):
        return ("or", items)

    def v_and(self, items):
        return ("and", items)

    def v_not(self, items):
        return ("not", items[0])

    def or_(self, items):
        return "(" + " or ".join(items) + ")"

    def and_(self, items):
        return "(" + " and ".join(items) + ")"

    def not_(self, items):
        return "not " + items[0]

    def match(self, items):
        field, v = str(items[0]), items[1]
        if "*" in field:
            raise KqlUnsupported("wildcard field name " + field)
        return _values(field, v)

    def range_(self, items):
        field, op, v = str(items[0]), str(items[1]), items[2]
        return "{} {} {}".format(field, op, _literal(v))

    def nested(self, items):
        raise KqlUnsupported("nested query")

    def free_text(self, items):
        raise KqlUnsupported("free-text term")


def _literal(v):
    kind, text = v
    if kind == "u":
        if text in ("true", "false"):
            return text
        try:
            float(text)
            return text
        except ValueError:
            pass
    return _eql_str(text)


def _one(field, v):
    kind, text = v
    if kind == "w":
        if text == "*":
            return "{} != null".format(field)
        return "{} like {}".format(field, _eql_str(text))
    if kind == "u":
        if text in ("true", "false"):
            return "{} == {}".format(field, text)
        try:
            float(text)
            # Elasticsearch reads the literal through the field's mapping: a
            # keyword holding digits (user.id) and a number both match.
            return "({f} == {n} or {f} == {s})".format(f=field, n=text, s=_eql_str(text))
        except ValueError:
            pass
    return "{} == {}".format(field, _eql_str(text))


def _values(field, v):
    if isinstance(v, tuple) and v[0] in ("or", "and"):
        return "(" + (" {} ".format(v[0])).join(_values(field, x) for x in v[1]) + ")"
    if isinstance(v, tuple) and v[0] == "not":
        return "not " + _values(field, v[1])
    return _one(field, v)


def kql_to_eql(text):
    """The EQL boolean expression equal to a KQL query."""
    tree = _parser.parse(text)
    return _ToEql().transform(tree)
