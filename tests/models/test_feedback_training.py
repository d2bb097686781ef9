# SPDX-License-Identifier: Apache-2.0
"""Feedback weighs in training: the visitor's latest rating of an item decides its interactions."""

from __future__ import annotations

from typing import Any

from slotwise.models.data import FEEDBACK_UP_WEIGHT, events_to_interactions


def ev(n: int, visitor: str, etype: str, item: str, ts: float, rating: str | None = None) -> dict[str, Any]:
    e: dict[str, Any] = {"event_id": f"e{n}", "visitor_id": visitor, "type": etype, "item_id": item, "ts": ts}
    if rating:
        e["properties"] = {"rating": rating}
    return e


def pairs(events: list[dict[str, Any]]) -> dict[tuple[str, str], list[float]]:
    inter = events_to_interactions(events)
    out: dict[tuple[str, str], list[float]] = {}
    for u, i, w in zip(inter.users, inter.items, inter.weights, strict=True):
        out.setdefault((u, i), []).append(float(w))
    return out


def test_down_and_not_interested_remove_the_pair_up_adds_a_strong_one() -> None:
    got = pairs(
        [
            ev(1, "v1", "item_view", "a", 10),
            ev(2, "v1", "add_to_cart", "a", 11),
            ev(3, "v1", "item_view", "b", 12),
            ev(4, "v1", "feedback", "a", 20, "down"),
            ev(5, "v1", "feedback", "c", 21, "up"),
            ev(6, "v2", "item_view", "a", 13),
            ev(7, "v2", "feedback", "b", 22, "not_interested"),
        ]
    )
    assert ("v1", "a") not in got  # both the view and the cart are gone
    assert got[("v1", "b")] == [1.0]
    assert got[("v1", "c")] == [FEEDBACK_UP_WEIGHT]
    assert got[("v2", "a")] == [1.0]  # another visitor's rating changes nothing here


def test_the_latest_rating_counts_whatever_the_order_of_the_log() -> None:
    events = [
        ev(1, "v1", "item_view", "a", 10),
        ev(2, "v1", "feedback", "a", 20, "down"),
        ev(3, "v1", "feedback", "a", 30, "up"),
        ev(4, "v1", "item_view", "b", 10),
        ev(5, "v1", "feedback", "b", 30, "not_interested"),
        ev(6, "v1", "feedback", "b", 20, "up"),
    ]
    for order in (events, events[::-1]):
        got = pairs(order)
        assert sorted(got[("v1", "a")]) == [1.0, FEEDBACK_UP_WEIGHT]  # back after a later `up`
        assert ("v1", "b") not in got  # the `up` came before the `not_interested`
