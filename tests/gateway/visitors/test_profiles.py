# SPDX-License-Identifier: Apache-2.0
"""Profiles: window counts as time passes, sessions, affinities, cart, RFM, order independence,
and the expression names built on them."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.gateway.common.vocabulary import EVENT_TYPES
from slotwise.gateway.config.loader import parse_config
from slotwise.gateway.context.request import resolve_context
from slotwise.gateway.rules.expr import Env, compile_expr
from slotwise.gateway.visitors.profiles import Profile, _strings, rebuild
from tests.gateway.conftest import minimal_config

NOW = 1_790_000_000.0  # 2026-09-21T13:33:20Z
PLAIN_TYPES = [t for t in EVENT_TYPES if t != "feedback"]  # the random streams' types (feedback needs a rating)
H, D = 3600.0, 86400.0


def ev(i: int, etype: str, ts: float, **extra: Any) -> dict[str, Any]:
    return {"event_id": f"e{i}", "visitor_id": "v", "type": etype, "ts": ts, **extra}


def fold(*events: dict[str, Any]) -> Profile:
    p = Profile()
    for e in events:
        p.fold(e)
    return p


def test_window_counts_drop_as_time_passes_and_say_when() -> None:
    p = fold(ev(1, "add_to_cart", NOW - 10 * 60, item_id="a"), ev(2, "add_to_cart", NOW - 5 * H, item_id="b"))
    assert p.count_within("add_to_cart", 24 * H, NOW)[0] == 2
    count, leaves = p.count_within("add_to_cart", H, NOW)
    assert count == 1 and NOW + 49 * 60 <= leaves <= NOW + 51 * 60
    assert p.count_within("add_to_cart", H, leaves) == (0, math.inf)
    assert p.count_within("add_to_cart", 24 * H, NOW + 19 * H + 59 * 60)[0] == 1
    assert p.count_within("purchase", 24 * H, NOW) == (0, math.inf)


def test_old_events_move_to_coarser_buckets_without_losing_counts() -> None:
    events = [ev(i, "page_view", NOW - i * 997.0) for i in range(3000)]  # ~35 days back
    p = fold(*events)
    for window in (H, 24 * H, 7 * D, 30 * D):
        exact = sum(1 for e in events if e["ts"] > NOW - window)
        got = p.count_within("page_view", window, NOW)[0]
        # Never fewer than exact; the excess is events at most one bucket older than the window.
        width = 60 if window <= 2 * H else 3600
        slack = sum(1 for e in events if NOW - window - width < e["ts"] <= NOW - window)
        assert exact <= got <= exact + slack, window
    assert p.total("page_view") == 3000
    assert len(p.buckets["page_view"][0]) <= 121


def test_sessions_split_on_thirty_minutes_of_inactivity() -> None:
    p = fold(ev(1, "page_view", NOW), ev(2, "page_view", NOW + 29 * 60), ev(3, "page_view", NOW + 85 * 60))
    assert p.sessions == 2 and p.returning
    p.fold(ev(4, "page_view", NOW + 57 * 60))  # bridges the gap: one long visit
    assert p.sessions == 1 and not p.returning


def test_cart_follows_adds_removes_and_purchase_in_any_order() -> None:
    events = [
        ev(1, "add_to_cart", NOW, item_id="a"),
        ev(2, "add_to_cart", NOW + 1, item_id="b"),
        ev(3, "remove_from_cart", NOW + 2, item_id="a"),
        ev(4, "add_to_cart", NOW + 3, item_id="c"),
    ]
    assert fold(*events).cart == ["c", "b"]
    assert fold(*reversed(events)).cart == ["c", "b"]
    done = fold(*events, ev(5, "purchase", NOW + 4, value=19.99), ev(6, "add_to_cart", NOW + 5, item_id="d"))
    assert done.cart == ["d"] and done.monetary == 19.99 and done.frequency == 1


def test_rfm_lifetime_value_and_recency_boundary() -> None:
    p = fold(
        ev(1, "purchase", NOW - 3 * D - 10, value=10),
        ev(2, "purchase", NOW - 2 * D, value=5.5),
        ev(3, "conversion", NOW - 2 * D, value=1),
    )
    assert p.frequency == 2 and p.monetary == 15.5 and p.lifetime_value == 16.5
    days, changes = p.recency_days(NOW)
    assert days == 2 and changes == NOW + D


def test_affinities_are_decayed_shares() -> None:
    p = fold(
        ev(1, "item_view", NOW - 30 * D, properties={"categories": ["boots"], "tags": ["wool"]}),
        ev(2, "item_view", NOW, properties={"categories": ["shoes"], "tags": ["wool"]}),
    )
    assert p.affinity("category", "shoes") > 0.9 > 0.1 > p.affinity("category", "boots") > 0
    assert math.isclose(p.affinity("category", "shoes") + p.affinity("category", "boots"), 1.0)
    assert p.affinity("tag", "wool") == 1.0 and p.affinity("category", "hats") == 0.0


def test_recent_items_devices_dayparts_engagement() -> None:
    p = fold(
        ev(1, "item_view", NOW, item_id="a", context={"device": "mobile", "daypart": "evening", "country": "DE"}),
        ev(2, "item_view", NOW + 5, item_id="b", context={"device": "desktop", "daypart": "evening"}),
        ev(3, "item_view", NOW + 9, item_id="a"),
        ev(4, "engagement", NOW + 10, properties={"time_on_page": 30, "scroll_depth": 0.5}),
        ev(5, "engagement", NOW + 11, properties={"time_on_page": 10, "scroll_depth": 90}),
    )
    assert p.recent_items == ["a", "b"] and set(p.items) == {"a", "b"} and p.items["a"] > p.items["b"]
    assert p.device == "desktop" and p.country == "DE"
    assert p.devices == {"mobile": 1, "desktop": 1} and p.dayparts == {"evening": 2}
    assert p.engagement_summary() == {
        "events": 2,
        "avg_time_on_page": 20.0,
        "avg_scroll_depth": 70.0,
        "max_scroll_depth": 90,
    }


def _stream(seed: int, n: int) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    return [
        ev(
            i,
            rnd.choice(PLAIN_TYPES),
            round(NOW - rnd.random() ** 2 * 40 * D, 3),
            item_id=f"i{rnd.randrange(25)}",
            value=rnd.randrange(0, 5000) / 100,
            context={
                "device": rnd.choice(["mobile", "desktop"]),
                "country": rnd.choice(["DE", "FR"]),
                "daypart": rnd.choice(["night", "evening"]),
            },
            properties={
                "categories": [rnd.choice("abcd")],
                "tags": [rnd.choice("xyz")],
                "time_on_page": rnd.randrange(100),
                "scroll_depth": rnd.randrange(100),
            },
        )
        for i in range(n)
    ]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 120))
def test_fold_order_does_not_matter(seed: int, n: int) -> None:
    events = _stream(seed, n)
    shuffled = events[:]
    random.Random(seed + 1).shuffle(shuffled)
    incremental = Profile.from_json(fold(*shuffled).to_json())
    assert states_equal(rebuild(events + events[: n // 3]).state(), incremental.state())


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 120))
def test_the_stored_json_is_the_state_with_bucket_numbers_as_text(seed: int, n: int) -> None:
    profile = fold(*_stream(seed, n))
    stored = json.loads(profile.to_json())
    assert stored == profile.state() and all(
        isinstance(k, str) for tiers in stored["buckets"].values() for k in tiers[0]
    )


def test_a_capped_map_drops_its_least_value_ties_by_key() -> None:
    scores = {"b": 1.0, "d": 0.5, "a": 1.0, "c": 0.5}
    Profile._cap(scores, 3)
    assert scores == {"b": 1.0, "d": 0.5, "a": 1.0}
    Profile._cap(scores, 3)  # within the limit: unchanged
    Profile._cap(scores, 2, key=lambda k: k)  # a key function orders by it alone
    assert set(scores) == {"b", "d"}


def states_equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(states_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(states_equal(x, y) for x, y in zip(a, b, strict=False))
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


# --- expression names ---------------------------------------------------------------------------


def _env(profile: Profile | None, now: float = NOW, attributes: dict[str, Any] | None = None) -> Env:
    config = parse_config(minimal_config())
    site = config.sites["shop"]
    ctx = resolve_context(
        body_context={}, headers={}, peer=None, config=config, site=site, allow_simulation=False, now=now
    )
    return Env(ctx, site=site, profile=profile, attributes=attributes)


def test_cart_abandoner_rule_flips_on_the_events_and_bounds_the_ttl() -> None:
    rule = compile_expr("events.add_to_cart.within(24h) >= 1 and events.purchase.within(24h) == 0")
    assert not rule.evaluate(_env(None))
    p = fold(ev(1, "add_to_cart", NOW - 60, item_id="a"))
    env = _env(p)
    assert rule.evaluate(env) and NOW + 23 * H < env.boundary <= NOW + 24 * H
    p.fold(ev(2, "purchase", NOW - 1, value=5))
    assert not rule.evaluate(_env(p))
    assert not rule.evaluate(_env(fold(ev(1, "add_to_cart", NOW - 60, item_id="a")), now=NOW + 24 * H))


def test_profile_names_read_the_profile() -> None:
    p = fold(
        ev(
            1, "item_view", NOW - 2 * D, item_id="a", properties={"categories": ["shoes"]}, context={"device": "mobile"}
        ),
        ev(2, "add_to_cart", NOW - H, item_id="a"),
        ev(3, "purchase", NOW - 2 * H, value=80),
    )
    cases = {
        "rfm.recency_days <= 7": True,
        "rfm.frequency == 1": True,
        "rfm.monetary > 50": True,
        "affinity.category('shoes') > 0.3": True,
        "affinity.tag('x') > 0": False,
        "visitor.sessions == 3": True,
        "visitor.returning": True,
        "visitor.lifetime_value == 80": True,
        "cart.size == 1": True,
        "cart.contains('a')": True,
        "events.item_view.total == 1": True,
        "visitor.known": True,
        "visitor.last_device == 'mobile'": True,
        "visitor.device_share('mobile') == 1": True,
        "engagement.avg_scroll_depth == 0": True,
    }
    for source, want in cases.items():
        assert compile_expr(source).evaluate(_env(p)) is want, source
    assert compile_expr("rfm.recency_days <= 7").evaluate(_env(None)) is False
    assert compile_expr("cart.size == 0 and not visitor.known").evaluate(_env(None)) is True


def test_offline_replay_of_event_lines_equals_the_fold() -> None:
    from slotwise.gateway.visitors.events import event_line
    from slotwise.gateway.visitors.profiles import replay

    events = _stream(3, 80)
    profiles = replay(event_line(e) + "\n" for e in events)
    assert list(profiles) == ["v"]
    assert states_equal(profiles["v"].state(), rebuild(events).state())


@pytest.mark.parametrize(
    "value, names",
    [
        ("shoes", ["shoes"]),
        (["shoes"], ["shoes"]),
        ([""], []),
        ("", []),
        ([["a"]], []),
        (["b", "a", "b", 1], ["a", "b"]),
    ],
)
def test_category_names_are_read_alike_from_text_and_lists(value: Any, names: list[str]) -> None:
    assert _strings(value) == names
