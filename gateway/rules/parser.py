# SPDX-License-Identifier: Apache-2.0
"""Parser and compiler of the expression language: source text to a closure over `Env`.

Nothing is ever passed to `eval` and no attribute of a Python object is reachable: a name
resolves only through the registry in `names`, and an unknown name is a compile error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slotwise.gateway.common.vocabulary import WEEKDAYS
from slotwise.gateway.rules.names import Env, lookup
from slotwise.gateway.rules.tokens import DURATION_UNITS, ExprError, Tok, tokenize

MAX_DEPTH = 40

Fn = Callable[[Env], Any]


@dataclass
class Node:
    fn: Fn
    kind: str
    pos: int
    literal: bool = False


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s[1:-1])


def _compare(op: str, a: Any, b: Any) -> bool:
    if op == "==":
        return bool(a == b)
    if op == "!=":
        return bool(a != b)
    if a is None or b is None:
        return False
    try:
        if op == "<":
            return bool(a < b)
        if op == "<=":
            return bool(a <= b)
        if op == ">":
            return bool(a > b)
        return bool(a >= b)
    except TypeError:
        return False


def _comparison(op: str, left: Node, right: Node) -> Fn:
    """`left op right` as one function; `==` and `!=` against a literal (most rules) compare
    with the constant directly, the same answer as `_compare`."""
    lf, rf = left.fn, right.fn
    if right.literal and op in ("==", "!="):
        value = rf(None)  # type: ignore[arg-type]  # a literal reads nothing
        if op == "==":
            return lambda env: bool(lf(env) == value)
        return lambda env: bool(lf(env) != value)
    return lambda env: _compare(op, lf(env), rf(env))


def _member(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    try:
        return a in b
    except TypeError:
        return False


class _Parser:
    def __init__(self, src: str, segments: set[str] | None, attributes: set[str] | None):
        self.src = src
        self.attributes = attributes
        self.toks = tokenize(src)
        self.i = 0
        self.depth = 0
        self.segments = segments
        self.names_used: set[str] = set()
        self.segments_used: set[str] = set()

    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def take(self) -> Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def accept(self, text: str) -> bool:
        if self.tok.kind in {"op", "kw"} and self.tok.text == text:
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> Tok:
        if not (self.tok.kind in {"op", "kw"} and self.tok.text == text):
            got = self.tok.text or "end of expression"
            raise ExprError(f"expected '{text}' but found '{got}'", self.tok.pos)
        return self.take()

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise ExprError("empty expression", 0)
        node = self.or_()
        if self.tok.kind != "end":
            raise ExprError(f"unexpected '{self.tok.text}'", self.tok.pos)
        return self._condition(node)

    def _condition(self, node: Node) -> Node:
        if node.kind in {"bool", "any"}:
            return node
        raise ExprError(f"expected a condition, found a {node.kind} value", node.pos)

    def _nest(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError(f"expression nested deeper than {MAX_DEPTH}", pos)

    def or_(self) -> Node:
        return self._joined("or", self.and_, _either)

    def and_(self) -> Node:
        return self._joined("and", self.not_, _both)

    def _joined(self, word: str, operand: Callable[[], Node], join: Callable[[Fn, Fn], Fn]) -> Node:
        """`operand (word operand)*`, left to right: conditions joined by `or` or `and`."""
        left = operand()
        while self.tok.text == word and self.tok.kind == "kw":
            self.take()
            right = self._condition(operand())
            left = self._condition(left)
            left = Node(join(left.fn, right.fn), "bool", left.pos)
        return left

    def not_(self) -> Node:
        if self.tok.kind == "kw" and self.tok.text == "not":
            pos = self.take().pos
            self._nest(pos)
            inner = self._condition(self.not_())
            self.depth -= 1
            f = inner.fn
            return Node(lambda env: not f(env), "bool", pos)
        return self.comparison()

    def comparison(self) -> Node:
        left = self.value()
        t = self.tok
        if t.kind == "op" and t.text in {"==", "!=", "<", "<=", ">", ">="}:
            self.take()
            right = self.value()
            self._check_comparable(t.text, left, right, t.pos)
            return Node(_comparison(t.text, left, right), "bool", left.pos)
        negate = False
        if t.kind == "kw" and t.text == "not" and self.toks[self.i + 1].text in {"in", "between"}:
            self.take()
            negate = True
        t = self.tok
        if t.kind == "kw" and t.text == "in":
            self.take()
            right = self.value()
            if right.kind not in {"list", "any", "str"}:
                raise ExprError(f"'in' needs a list on its right, found a {right.kind}", right.pos)
            lf, rf = left.fn, right.fn
            if negate:
                return Node(lambda env: not _member(lf(env), rf(env)), "bool", left.pos)
            return Node(lambda env: _member(lf(env), rf(env)), "bool", left.pos)
        if t.kind == "kw" and t.text == "between":
            self.take()
            low = self.value()
            self.expect("and")
            high = self.value()
            for bound in (low, high):
                self._check_comparable("between", left, bound, bound.pos)
            lf, lo, hi = left.fn, low.fn, high.fn

            def between(env: Env) -> bool:
                v = lf(env)
                return _compare(">=", v, lo(env)) and _compare("<=", v, hi(env))

            if negate:
                return Node(lambda env: not between(env), "bool", left.pos)
            return Node(between, "bool", left.pos)
        if negate:
            raise ExprError("expected 'in' or 'between' after 'not'", t.pos)
        return left

    @staticmethod
    def _check_comparable(op: str, a: Node, b: Node, pos: int) -> None:
        kinds = {a.kind, b.kind} - {"any"}
        if op in {"==", "!="}:
            if len(kinds) > 1 and "null" not in kinds:
                raise ExprError(f"cannot compare a {a.kind} with a {b.kind}", pos)
            return
        if kinds - {"num", "str"} or len(kinds) > 1:
            raise ExprError(f"'{op}' compares numbers or strings, not {a.kind} and {b.kind}", pos)

    def value(self) -> Node:
        t = self.tok
        if t.kind == "op" and t.text == "(":
            self.take()
            self._nest(t.pos)
            node = self.or_()
            self.depth -= 1
            self.expect(")")
            return node
        if t.kind == "op" and t.text == "[":
            return self.list_()
        lit = self._literal()
        if lit is not None:
            return lit
        if t.kind == "name":
            return self.name()
        raise ExprError(f"unexpected '{t.text or 'end of expression'}'", t.pos)

    def _literal(self) -> Node | None:
        t = self.tok
        value: Any
        if t.kind == "num":
            value, kind = float(t.text), "num"
        elif t.kind == "dur":
            value, kind = float(t.text[:-1]) * DURATION_UNITS[t.text[-1]], "num"
        elif t.kind == "str":
            value, kind = _unescape(t.text), "str"
        elif t.kind == "kw" and t.text in {"true", "false"}:
            value, kind = t.text == "true", "bool"
        elif t.kind == "kw" and t.text == "null":
            value, kind = None, "null"
        elif t.kind == "name" and t.text in WEEKDAYS and self.toks[self.i + 1].text not in {".", "("}:
            value, kind = t.text, "str"
        else:
            return None
        self.take()
        return Node(_constant(value), kind, t.pos, literal=True)

    def _next_literal(self, close: str, first: bool, refused: str) -> Node | None:
        """The next literal of a comma-separated run ending at `close` (None once it is taken);
        `first` when none has been read yet, `refused` the error for something else."""
        if self.accept(close):
            return None
        if not first and not self.accept(","):
            raise ExprError(f"expected ',' or '{close}' but found '{self.tok.text}'", self.tok.pos)
        item = self._literal()
        if item is None:
            raise ExprError(refused, self.tok.pos)
        return item

    def list_(self) -> Node:
        start = self.expect("[").pos
        values: list[Any] = []
        kinds: set[str] = set()
        refused = "a list holds literals only (numbers, strings, weekdays)"
        while (item := self._next_literal("]", not values, refused)) is not None:
            first = item.fn(None)  # type: ignore[arg-type]  # literals ignore env
            if self.accept(".."):
                last_node = self._literal()
                if last_node is None or last_node.kind != item.kind:
                    raise ExprError("a range needs two literals of one kind", self.tok.pos)
                values.extend(_expand_range(first, last_node.fn(None), item.pos))  # type: ignore[arg-type]
            else:
                values.append(first)
            kinds.add(item.kind)
            if len(values) > 10000:
                raise ExprError("list longer than 10000 items", item.pos)
        frozen = frozenset(values) if all(isinstance(v, (str, float, bool)) for v in values) else tuple(values)
        return Node(lambda env: frozen, "list", start, literal=True)

    def name(self) -> Node:
        start = self.tok.pos
        parts = [self.take().text]
        while self.accept("."):
            t = self.take()
            if t.kind not in {"name", "kw"}:
                raise ExprError(f"expected a name after '.', found '{t.text}'", t.pos)
            parts.append(t.text)
        args: list[Any] = []
        arg_kinds: list[str] = []
        called = False
        if self.accept("("):
            called = True
            while (lit := self._next_literal(")", not args, "arguments must be literals")) is not None:
                args.append(lit.fn(None))  # type: ignore[arg-type]
                arg_kinds.append("duration" if self.toks[self.i - 1].kind == "dur" else lit.kind)
        path = tuple(parts)
        dotted = ".".join(parts)
        if path == ("segment",) and called:
            return self._segment_ref(args, start)
        found = lookup(path)
        if found is None:
            raise ExprError(f"unknown name '{dotted}'", start)
        spec, wild = found
        if spec.pattern == ("attr", "*") and self.attributes is not None and wild[0] not in self.attributes:
            raise ExprError(f"unknown attribute '{wild[0]}' (declare it under 'attributes')", start)
        if called != bool(spec.params) or len(args) != len(spec.params):
            raise ExprError(f"'{dotted}' is used as {spec.display}", start)
        for want, got, value in zip(spec.params, arg_kinds, args, strict=False):
            ok = (want == got) or (want == "num" and got in {"num", "duration"})
            if not ok:
                raise ExprError(f"'{dotted}' expects a {want} argument, got {value!r}", start)
        self.names_used.add(".".join(spec.pattern))
        resolver, wild_t, args_t = spec.resolver, wild, tuple(args)
        getter = getattr(resolver, "context_getter", None)
        if getter is not None:  # a plain context value: one call fewer on every read
            return Node(lambda env: getter(env.ctx), spec.kind, start)
        return Node(lambda env: resolver(env, wild_t, args_t), spec.kind, start)

    def _segment_ref(self, args: list[Any], pos: int) -> Node:
        if len(args) != 1 or not isinstance(args[0], str):
            raise ExprError("segment() takes one segment name", pos)
        name = args[0]
        if self.segments is not None and name not in self.segments:
            raise ExprError(f"unknown segment '{name}'", pos)
        self.segments_used.add(name)
        return Node(lambda env: in_segment(env, name), "bool", pos)


def _expand_range(first: Any, last: Any, pos: int) -> list[Any]:
    if isinstance(first, str) and first in WEEKDAYS and last in WEEKDAYS:
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last)
        return [WEEKDAYS[(a + k) % 7] for k in range((b - a) % 7 + 1)]
    if isinstance(first, float) and isinstance(last, float) and first.is_integer() and last.is_integer():
        if last < first or last - first > 10000:
            raise ExprError("a numeric range runs upwards over at most 10000 values", pos)
        return [float(v) for v in range(int(first), int(last) + 1)]
    raise ExprError("ranges are of weekdays (mon..fri) or whole numbers (9..17)", pos)


def in_segment(env: Env, name: str) -> bool:
    """Evaluate a rule segment once per request; later reads still bound the ttl."""
    key = ("segment", name)
    hit = env.memo.get(key)
    if hit is not None:
        env.bound(hit[1])
        return bool(hit[0])
    env.memo[key] = (False, math.inf)  # a cycle reads false; config loading rejects cycles
    outer, env.boundary = env.boundary, math.inf
    try:
        result = bool(env.runtime.segments[name].rule.fn(env))  # Segment.evaluate, two calls fewer
    finally:
        inner, env.boundary = env.boundary, outer
    env.memo[key] = (result, inner)
    env.bound(inner)
    return result


@dataclass(frozen=True)
class Compiled:
    source: str
    fn: Fn
    names: frozenset[str]
    segments: frozenset[str]

    def evaluate(self, env: Env) -> bool:
        return bool(self.fn(env))


def compile_expr(src: str, segments: set[str] | None = None, attributes: set[str] | None = None) -> Compiled:
    """Parse and check `src`; `segments` and `attributes` list what `segment('x')` and `attr.x` may name."""
    if not isinstance(src, str):
        raise ExprError(f"expected expression text, got {type(src).__name__}", 0)
    parser = _Parser(src, segments, attributes)
    node = parser.parse()
    return Compiled(src, node.fn, frozenset(parser.names_used), frozenset(parser.segments_used))


def _either(lf: Fn, rf: Fn) -> Fn:
    def fn(env: Env) -> bool:
        return bool(lf(env)) or bool(rf(env))

    return fn


def _both(lf: Fn, rf: Fn) -> Fn:
    def fn(env: Env) -> bool:
        return bool(lf(env)) and bool(rf(env))

    return fn


def _constant(value: Any) -> Fn:
    def fn(env: Env) -> Any:
        return value

    return fn
