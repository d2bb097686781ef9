# SPDX-License-Identifier: Apache-2.0
"""Configuration errors: every message starts with its path in the file.

slots.home-hero.variants[2].when: unknown segment 'vip' at column 9
"""

from __future__ import annotations

import typing
from typing import Any, NoReturn

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

_KINDS = {
    "string_type": "str",
    "int_type": "int",
    "float_type": "float",
    "bool_type": "bool",
    "list_type": "list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
_BOUNDS = {
    "greater_than": (">", "gt"),
    "greater_than_equal": (">=", "ge"),
    "less_than": ("<", "lt"),
    "less_than_equal": ("<=", "le"),
}
_NAMES = {"sites": "site", "slots": "slot", "segments": "segment"}


class ConfigError(ValueError):
    def __init__(self, errors: list[str]):
        super().__init__("invalid configuration:\n  " + "\n  ".join(errors))
        self.errors = errors


def fail(message: str) -> NoReturn:
    """Raise from a validator: pydantic records `message` at the field's path."""
    raise PydanticCustomError("config", "{message}", {"message": message})


def path_of(loc: tuple[int | str, ...]) -> str:
    """('slots', 'hero', 'variants', 2, 'when') -> 'slots.hero.variants[2].when'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part != "[key]":
            out += f".{part}" if out else str(part)
    return out


def messages(exc: ValidationError, model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[str]:
    """One line per error of a validation, in the style of the rest of the loader."""
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        where = path_of((*prefix, *loc))
        out.append(f"{where}: {_message(err, model, loc)}" if where else _message(err, model, loc))
    return out


def _message(err: Any, model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "config":
        return str(ctx["message"])
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        allowed = _fields_at(model, loc[:-1])
        return f"unknown key (expected one of: {', '.join(sorted(allowed))})" if allowed else "unknown key"
    if kind in _KINDS:
        return f"expected {_KINDS[kind]}, got {type(value).__name__}"
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "[key]":
        return f"{_NAMES.get(str(loc[0]), 'key')} names use letters, digits, '-' and '_'"
    if kind == "literal_error":
        return f"must be one of {ctx['expected'].replace(chr(39), '').replace(' or ', ', ')}, got {value!r}"
    if kind in _BOUNDS:
        op, key = _BOUNDS[kind]
        return f"must be {op} {ctx[key]}, got {value!r}"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)" if isinstance(value, list) else "must not be empty"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return str(err["msg"])


def _fields_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> set[str]:
    """The keys allowed at `loc` inside `model` (for 'unknown key' messages)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or part == "[key]":
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or str(part) not in current.model_fields:
            current = _model_in(current)  # a dict's value: the part is a key, not a field
            if current is None:
                return set()
            continue
        current = _model_in(current.model_fields[str(part)].annotation)
    return set(current.model_fields) if isinstance(current, type) and issubclass(current, BaseModel) else set()


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
