# SPDX-License-Identifier: Apache-2.0
"""The fast path of event validation builds exactly what the full checks build, or steps aside."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.gateway.visitors.events import FIELDS, Invalid, Limits, _fast, _validate, format_ts, validate_event

NOW = time.time()
BROWSER = {  # what gateway/static/client.js sends
    "event_id": "3f2b8c1e-9a4d-4e1f-8b2a-6c5d7e8f9a0b",
    "visitor_id": "v_9f8e7d6c",
    "type": "item_view",
    "ts": format_ts(NOW - 3),
    "item_id": "sku-1",
    "context": {"url": "https://shop.example/p/sku-1?x=1", "referrer": None},
}
SERVER = {  # a relaying server's event, with properties and more context
    **BROWSER,
    "type": "purchase",
    "value": 49.9,
    "currency": "EUR",
    "quantity": 2,
    "properties": {"categories": ["shoes", "boots"], "tags": "sale", "time_on_page": 12.5, "new": True, "n": None},
    "context": {"device": "mobile", "daypart": "evening", "country": "de", "hour": 20, "gpc": False, "x": [1]},
}


def same(raw: Any, limits: Limits | None = None) -> dict[str, Any] | None:
    """The fast answer, checked against the full one: equal, keys in the same order, or None."""
    limits = limits or Limits()
    fast = _fast(raw, NOW, limits)
    try:
        full = _validate(raw, NOW, limits)
    except Invalid:
        assert fast is None, f"the fast path accepted what the full checks refuse: {raw!r}"
        return None
    if fast is not None:
        assert list(fast.items()) == list(full.items())
    return fast


@pytest.mark.parametrize("raw", [BROWSER, SERVER, {**BROWSER, "type": "page_view", "item_id": None}])
def test_common_shapes_take_the_fast_path(raw: dict[str, Any]) -> None:
    assert same(raw) is not None
    assert validate_event(raw, NOW) == _validate(raw, NOW, Limits())


@pytest.mark.parametrize(
    "patch, reason",
    [
        ({"visitor_id": "v1\n"}, None),  # ID's `$` admits a final newline: the full checks decide
        ({"event_id": "e 1"}, "'event_id' has characters outside the allowed set: 'e 1'"),
        ({"visitor_id": "v" * 129}, "'visitor_id' must be 1-128 characters"),
        ({"item_id": 7}, None),  # a number becomes text in the full checks only
        ({"item_id": "sku\x7f"}, "'item_id' holds control characters or invalid Unicode"),
        ({"properties": {"a": "x" * 1001}}, "a 'properties' string is longer than 1000 characters"),
        ({"properties": {"a": [[1]]}}, None),
        ({"properties": {k: "é" * 900 for k in "abc"}}, "'properties' is 5422 bytes, over 4096"),
        ({"properties": {f"k{i}": '"\\' * 499 for i in range(2)}}, "'properties' is 4009 bytes, over 4000"),
        ({"context": {"device": "phone"}}, "'context.device' must be one of desktop, mobile, tablet"),
        ({"context": {"country": "d1"}}, "'context.country' must be an ISO 3166-1 alpha-2 code"),
        ({"context": {"url": "x" * 3000}}, None),  # cut to 2048 by the full checks
        ({"ts": format_ts(NOW + 600)}, "'ts' is more than 300 s in the future"),
        ({"quantity": 2.0}, None),
        ({"type": ["item_view"]}, "unknown event type 'list'"),
    ],
)
def test_what_the_fast_path_leaves_to_the_full_checks(patch: dict[str, Any], reason: str | None) -> None:
    limits = Limits(max_properties_bytes=4000) if "4000" in (reason or "") else Limits()
    raw = {**SERVER, **patch}
    assert _fast(raw, NOW, limits) is None
    if reason is None:
        validate_event(raw, NOW, limits)
    else:
        with pytest.raises(Invalid, match="^" + re.escape(reason)):
            validate_event(raw, NOW, limits)


_ascii = st.text(st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=12)
_leaf = st.none() | st.booleans() | st.integers() | st.floats() | _ascii | st.text(max_size=4)
_value = _leaf | st.lists(_leaf, max_size=4) | st.lists(st.lists(_leaf, max_size=2), max_size=2)
_field = {
    "event_id": _ascii,
    "visitor_id": _ascii,
    "type": st.sampled_from(["item_view", "page_view", "purchase", "feedback", "nope"]) | _leaf,
    "ts": st.sampled_from([format_ts(NOW - 60), format_ts(NOW + 900), "2026-01-31T12:00:00+25:00"]) | _ascii,
    "item_id": _leaf,
    "value": _leaf,
    "currency": st.sampled_from(["EUR", "eur", "EU"]) | _leaf,
    "quantity": _leaf,
    "properties": st.dictionaries(_ascii | st.sampled_from(["rating", "categories"]), _value, max_size=4) | _leaf,
    "context": st.dictionaries(
        st.sampled_from(["device", "country", "daypart", "url", "hour", "user_agent"]) | _ascii, _value, max_size=4
    )
    | _leaf,
}


_printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=12)
_plain = st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=False) | _printable
_good = {  # values the fast path takes, most of the time
    "event_id": st.from_regex(r"[A-Za-z0-9_.:-]{1,20}", fullmatch=True),
    "type": st.sampled_from(["item_view", "page_view", "purchase", "engagement"]),
    "item_id": _printable,
    "value": st.integers(-(10**10), 10**10) | st.floats(-2e9, 2e9),
    "quantity": st.integers(-1, 10001),
    "properties": st.dictionaries(_printable, _plain | st.lists(_plain, max_size=3), max_size=4),
    "context": st.dictionaries(
        st.sampled_from(["device", "country", "daypart", "url", "hour", "gpc", "other"]),
        st.sampled_from(["mobile", "tablet", "night", "de", "DE", "xx"]) | _plain,
        max_size=4,
    ),
}


@settings(max_examples=500, deadline=None)
@given(
    patch=st.fixed_dictionaries({}, optional={**_field, "x": _leaf})
    | st.fixed_dictionaries({}, optional={k: v | _field[k] for k, v in _good.items()})
)
def test_any_event_gets_the_same_answer_on_both_paths(patch: dict[str, Any]) -> None:
    same({**SERVER, **patch})
    same({k: v for k, v in {**BROWSER, **patch}.items() if k in FIELDS})


@settings(max_examples=200, deadline=None)
@given(props=st.dictionaries(_ascii, _value, max_size=6), size=st.integers(2, 200))
def test_the_size_bound_never_lets_too_much_through(props: dict[str, Any], size: int) -> None:
    same({**SERVER, "properties": props}, Limits(max_properties_bytes=size))
