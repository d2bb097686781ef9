# SPDX-License-Identifier: Apache-2.0
"""The one JSON codec: compact, round-trips what the standard library round-trips, exact big integers."""

from __future__ import annotations

import json

import pytest

from slotwise.gateway.common.jsoncodec import dumps, json_lines, loads


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1, "b": [1.5, None, True], "c": {"d": "é ✓"}},
        {"big": 10**30, "neg": -(10**25)},
        {"u64": 2**64, "i64": -(2**63) - 1, "text": "x1234567890123456789", "n": 123456789012345678},
        {"id": "1234567890123456789012", "n": 1},
        [],
        "text with \u2028 separator",
    ],
)
def test_round_trip_matches_the_standard_library(value: object) -> None:
    text = dumps(value)
    assert loads(text) == json.loads(text) == value
    assert loads(text.encode()) == value


def test_output_is_compact_and_sorts_keys_on_request() -> None:
    assert dumps({"b": 1, "a": [1, 2]}) == '{"b":1,"a":[1,2]}'
    assert dumps({"b": 1, "a": 2}, sort_keys=True) == '{"a":2,"b":1}'
    assert dumps({"b": 10**30, "a": 2}, sort_keys=True) == '{"a":2,"b":' + str(10**30) + "}"


def test_a_lone_surrogate_still_gives_valid_utf8() -> None:
    text = dumps({"s": "a\ud800b"})
    text.encode("utf-8")  # would raise for an unescaped surrogate
    assert loads(text) == {"s": "a\ud800b"}


def test_bad_json_raises_value_error() -> None:
    with pytest.raises(ValueError):
        loads("{not json")


def test_json_lines_numbers_lines_and_marks_bad_ones() -> None:
    got = list(json_lines(['{"a":1}\n', "\n", "nope\n", "[2]\n"]))
    assert got == [(1, {"a": 1}), (3, None), (4, [2])]


def test_integer_keys_are_written_as_the_standard_library_writes_them() -> None:
    value = {"b": [{1: 2, -30: 4}, {}], "a": {10**30: 1}}
    assert dumps(value, int_keys=True) == json.dumps(value, separators=(",", ":"))


def test_text_with_raw_surrogates_or_other_scripts_keeps_big_integers_exact() -> None:
    # The digit check reads the text's UTF-8 bytes: neither a raw lone surrogate nor a
    # multi-byte character may break it or hide a long run of ASCII digits.
    assert loads('{"s": "\ud800", "n": 12345678901234567890123}') == {"s": "\ud800", "n": 12345678901234567890123}
    assert loads('{"s": "é٣٣", "n": 98765432109876543210}') == {"s": "é٣٣", "n": 98765432109876543210}
