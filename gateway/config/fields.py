# SPDX-License-Identifier: Apache-2.0
"""Building blocks of the configuration schema: strict base model, ranges, names, env refs."""

from __future__ import annotations

import os
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from slotwise.gateway.config.errors import fail

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
ENV_REF = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")
# Sections whose strings may use ${VAR}; not slots and segments, whose HTML may hold `${...}`.
ENV_SECTIONS = ("sites", "gateway", "geo", "cache", "catalog", "store", "models", "retrain", "alerts")


class Strict(BaseModel):
    """No coercion (a quoted number stays a string), no unknown keys, immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


def between(low: float, high: float, kind: type = float) -> Any:
    """A number type limited to low..high, with the loader's usual message."""

    def check(value: float) -> float:
        if not low <= value <= high:
            fail(f"must be between {low:g} and {high:g}, got {value:g}")
        return value

    return Annotated[kind, AfterValidator(check)]


def _check_name(value: str) -> str:
    if not re.fullmatch(NAME_PATTERN, value):
        fail(f"must be 1-64 letters, digits, '_' or '-', got {value[:80]!r}")
    return value


# A name as a field's value (an arm's, a bandit's key), refused with the loader's message.
CheckedName = Annotated[str, AfterValidator(_check_name)]


def check_unique(names: list[str], what: str) -> None:
    """Refuse the first name that stands twice: `duplicate <what> '<name>'`."""
    for name in names:
        if names.count(name) > 1:
            fail(f"duplicate {what} '{name}'")


def expand_env(value: Any) -> Any:
    """${VAR} in strings replaced from the environment (unset ones are left for the checks)."""
    if isinstance(value, str):
        return ENV_REF.sub(lambda m: os.environ.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [expand_env(v) for v in value]
    if isinstance(value, dict):
        return {k: expand_env(v) for k, v in value.items()}
    return value


def drop_nulls(value: Any) -> Any:
    """`key:` with no value means the default, as if the key were absent."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value
