# SPDX-License-Identifier: Apache-2.0
"""Tokens of the expression language, and the error every compile step raises."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_SOURCE = 2000
DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


class ExprError(ValueError):
    """A compile error with the 1-based column it refers to."""

    def __init__(self, message: str, pos: int):
        super().__init__(f"{message} at column {pos + 1}")
        self.pos = pos
        self.reason = message


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<dur>\d+(?:\.\d+)?[smhdw]\b)
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op>==|!=|<=|>=|<|>|\.\.|[()\[\],.])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "between", "true", "false", "null"}


@dataclass(frozen=True)
class Tok:
    kind: str
    text: str
    pos: int


def tokenize(src: str) -> list[Tok]:
    if len(src) > MAX_SOURCE:
        raise ExprError(f"expression longer than {MAX_SOURCE} characters", MAX_SOURCE)
    toks: list[Tok] = []
    i = 0
    while i < len(src):
        m = _TOKEN.match(src, i)
        if not m:
            raise ExprError(f"unexpected character {src[i]!r}", i)
        kind = m.lastgroup or ""
        if kind != "ws":
            text = m.group()
            if kind == "name" and text in _KEYWORDS:
                kind = "kw"
            toks.append(Tok(kind, text, i))
        i = m.end()
    toks.append(Tok("end", "", len(src)))
    return toks
