# SPDX-License-Identifier: Apache-2.0
"""`feedback` events: a `down` or `not_interested` rating hides the item from that visitor's
recommendations on the next render; a later `up` brings it back; the fold order does not matter."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from slotwise.gateway.visitors.events import Invalid, format_ts, validate_event
from slotwise.gateway.visitors.profiles import rebuild
from tests.gateway.conftest import DESKTOP_UA, minimal_config

KEY = {"X-Slotwise-Key": "pk_shop", "User-Agent": DESKTOP_UA}


def feedback(n: int, item: str, rating: str, age: float) -> dict[str, Any]:
    return {
        "event_id": f"f{n}",
        "visitor_id": "v1",
        "type": "feedback",
        "item_id": item,
        "ts": format_ts(time.time() - age),
        "properties": {"rating": rating},
    }


@pytest.fixture
def client(make_client: Callable[..., TestClient], tmp_path: Path) -> TestClient:
    items = [{"item_id": f"p{i}", "title": f"Product {i}", "price": 5, "popularity": 10 - i} for i in range(6)]
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    data = minimal_config(catalog={"path": "items.jsonl"}, store={"backend": "sqlite", "path": "store.db"})
    data["slots"]["recs"] = {"default": {"type": "recommendations", "strategy": "popular", "count": 3}}
    return make_client(data)


def shown(client: TestClient) -> list[str]:
    body = {"site": "shop", "slots": ["recs"], "visitor_id": "v1"}
    html = client.post("/v1/render", json=body, headers=KEY).json()["blocks"]["recs"]["html"]
    return [f"p{i}" for i in range(6) if f"Product {i}<" in html]


def post(client: TestClient, events: list[dict[str, Any]]) -> dict[str, Any]:
    r = client.post("/v1/events", json={"site": "shop", "events": events}, headers=KEY)
    assert r.status_code == 200
    return dict(r.json())


def test_not_interested_hides_an_item_at_once_and_up_brings_it_back(client: TestClient) -> None:
    assert shown(client) == ["p0", "p1", "p2"]
    assert post(client, [feedback(1, "p0", "not_interested", 30), feedback(2, "p2", "down", 30)])["accepted"]
    assert shown(client) == ["p1", "p3", "p4"]
    assert post(client, [feedback(3, "p0", "up", 10)])["accepted"] == ["f3"]
    assert shown(client) == ["p0", "p1", "p3"]
    # An older rating arriving late does not override the newer one.
    assert post(client, [feedback(4, "p0", "down", 60)])["accepted"] == ["f4"]
    assert shown(client) == ["p0", "p1", "p3"]


def test_feedback_needs_an_item_and_a_known_rating(client: TestClient) -> None:
    bad = [feedback(5, "p1", "meh", 5), {**feedback(6, "p1", "up", 5), "item_id": None}]
    reasons = [r["reason"] for r in post(client, bad)["rejected"]]
    assert reasons == [
        "a 'feedback' event needs 'properties.rating': one of up, down, not_interested",
        "a 'feedback' event needs an 'item_id'",
    ]
    with pytest.raises(Invalid):
        validate_event({**feedback(7, "p1", "up", 5), "properties": None}, time.time())


def test_hidden_items_do_not_depend_on_the_fold_order() -> None:
    now = time.time()
    events = [
        validate_event(feedback(n, f"p{n % 3}", ("up", "down", "not_interested")[n % 3 - (n % 2)], 100 - n), now)
        for n in range(12)
    ]
    forward, backward = rebuild(events), rebuild(list(reversed(events)))
    assert forward.state() == backward.state()
    latest = {e["item_id"]: e["properties"]["rating"] for e in sorted(events, key=lambda e: e["ts"])}
    assert forward.hidden_items == {i for i, r in latest.items() if r != "up"}
