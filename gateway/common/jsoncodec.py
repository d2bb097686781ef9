# SPDX-License-Identifier: Apache-2.0
"""One JSON codec: orjson when installed (`slotwise[fast]`), the standard library otherwise.

Compact output (no spaces). Values orjson refuses (an integer beyond 64 bits, a non-string
key, a lone surrogate) fall back to the standard library with ASCII escapes, so both paths
accept the same inputs and always produce valid UTF-8; `loads` reads them back exactly.
`loads` raises `ValueError` (orjson's error is a `json.JSONDecodeError`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - exercised where orjson is absent
    orjson = None  # type: ignore[assignment]

BACKEND = "orjson" if orjson is not None else "json"


def _std_dumps(value: Any, sort_keys: bool = False) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=sort_keys)


if orjson is not None:

    def dumps(value: Any, *, sort_keys: bool = False, int_keys: bool = False) -> str:
        """`int_keys`: integer keys are written as their decimal text (the standard library
        always does that), so a caller need not copy its dicts with `str` keys first."""
        option = (orjson.OPT_SORT_KEYS if sort_keys else 0) | (orjson.OPT_NON_STR_KEYS if int_keys else 0)
        try:
            return orjson.dumps(value, option=option).decode()
        except TypeError:  # e.g. an integer beyond 64 bits in event properties
            return _std_dumps(value, sort_keys)

    _orjson_loads: Callable[[str | bytes], Any] = orjson.loads
    # Bytes: every ASCII digit to "0", the rest to " ", then one substring search. A regex
    # search costs more than orjson's whole parse (`\d{19}` on a 400-character profile: 9 us,
    # against 0.5 us for this on its UTF-8 bytes, whose multi-byte characters hold no digits).
    _DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))

    def _long_digits(text: str | bytes) -> bool:
        if isinstance(text, str):
            text = text.encode("utf-8", "surrogatepass")  # a lone surrogate is no digit either
        return b"0" * 19 in text.translate(_DIGITS_AS_ZERO)

    def loads(text: str | bytes) -> Any:
        # orjson reads an integer beyond 64 bits as a float (a run of 19 digits sends the text
        # to the standard library, which keeps it exact) and refuses an escaped lone surrogate.
        if _long_digits(text):
            return json.loads(text)
        try:
            return _orjson_loads(text)
        except ValueError:
            return json.loads(text)  # the same answer or the standard library's error
else:  # pragma: no cover

    def dumps(value: Any, *, sort_keys: bool = False, int_keys: bool = False) -> str:
        return _std_dumps(value, sort_keys)

    loads = json.loads


def json_lines(lines: Iterable[str]) -> Iterator[tuple[int, Any]]:
    """(line number, value) for each non-blank line; the value is `None` for a line that is not JSON."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield number, loads(line)
        except ValueError:
            yield number, None
