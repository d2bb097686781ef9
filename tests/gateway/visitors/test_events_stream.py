# SPDX-License-Identifier: Apache-2.0
"""100k random events posted over HTTP, with duplicates and reordering: the profiles and the
segment memberships the gateway ends with equal the ones computed from the event log."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from slotwise.gateway.config.loader import parse_config
from slotwise.gateway.context.request import resolve_context
from slotwise.gateway.rules.expr import Env
from slotwise.gateway.visitors.events import format_ts
from slotwise.gateway.visitors.profiles import Profile, rebuild
from slotwise.gateway.visitors.stores.sqlite import SQLiteStore
from tests.gateway.conftest import DESKTOP_UA, minimal_config
from tests.gateway.visitors.test_profiles import PLAIN_TYPES, states_equal

N, VISITORS, BATCH = 100_000, 5000, 500
SEGMENTS = {
    "cart_abandoner": "events.add_to_cart.within(24h) >= 1 and events.purchase.within(24h) == 0",
    "lapsed": "rfm.recency_days >= 1",
    "loyal": "rfm.frequency >= 3 and visitor.sessions >= 5",
    "shoe_fan": "affinity.category('shoes') > 0.3",
    "hot_hour": "events.item_view.within(1h) >= 2",
    "big_spender": "visitor.lifetime_value > 500 and cart.size >= 1",
}


def _stream(now: float) -> list[dict[str, Any]]:
    rnd = random.Random(2026)
    types = [*PLAIN_TYPES, "item_view"]  # item views twice as often
    cats = ["shoes", "boots", "bags", "shirts"]
    events = []
    for i in range(N):
        etype = rnd.choice(types)
        e: dict[str, Any] = {
            "event_id": f"ev-{i}",
            "visitor_id": f"vis-{rnd.randrange(VISITORS)}",
            "type": etype,
            "ts": format_ts(now - rnd.random() ** 3 * 30 * 86400),
            "item_id": f"sku-{rnd.randrange(60)}",
            "properties": {"categories": [rnd.choice(cats)], "scroll_depth": rnd.randrange(101)},
            "context": {"device": rnd.choice(["mobile", "desktop", "tablet"])},
        }
        if etype in {"purchase", "conversion"}:
            e["value"] = rnd.randrange(100, 20000) / 100
        events.append(e)
    return events


def test_posted_stream_equals_log_rebuild(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    now = time.time()
    db = tmp_path / "stream.db"
    data = minimal_config(
        segments={"mobile": "device.class == 'mobile'", **SEGMENTS},
        store={"backend": "sqlite", "path": str(db), "rate_limit": {"visitor_per_minute": 1e9}},
    )
    client = make_client(data)
    events = _stream(now)
    rnd = random.Random(7)
    sent = events + rnd.sample(events, N // 10)  # at-least-once delivery: every tenth event twice
    rnd.shuffle(sent)
    accepted: set[str] = set()
    duplicates = 0
    headers = {"X-Slotwise-Key": "pk_shop", "User-Agent": DESKTOP_UA}
    for start in range(0, len(sent), BATCH):
        r = client.post("/v1/events", json={"site": "shop", "events": sent[start : start + BATCH]}, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["rejected"] == []
        accepted.update(body["accepted"])
        duplicates += len(body["duplicates"])
    assert len(accepted) == N and duplicates == N // 10

    # Memberships seen through the render route for a sample of visitors.
    rendered = {}
    for v in range(0, VISITORS, 250):
        r = client.post(
            "/v1/render", json={"site": "shop", "visitor_id": f"vis-{v}", "slots": ["hero"]}, headers=headers
        )
        rendered[f"vis-{v}"] = sorted(r.json()["blocks"]["hero"]["segments"])

    config = parse_config(data)
    site = config.sites["shop"]
    by_visitor: dict[str, list[dict[str, Any]]] = {}
    store = SQLiteStore(db)
    try:

        async def load() -> dict[str, Profile | None]:
            log = {v: await store.events("shop", v) for v in await store.visitors("shop")}
            for v, evs in log.items():
                by_visitor[v] = evs
            return {v: await store.profile("shop", v) for v in log}

        profiles = asyncio.run(load())
    finally:
        asyncio.run(store.close())
    assert sum(len(v) for v in by_visitor.values()) == N

    def members(profile: Profile | None, at: float) -> list[str]:
        ctx = resolve_context(
            body_context={}, headers={}, peer=None, config=config, site=site, allow_simulation=False, now=at
        )
        env = Env(ctx, site=site, profile=profile)
        return sorted(name for name, seg in config.segments.items() if seg.evaluate(env))

    counts = {name: 0 for name in config.segments}
    for v, evs in by_visitor.items():
        incremental = profiles[v]
        from_log = rebuild(evs)
        assert incremental is not None and states_equal(from_log.state(), incremental.state()), v
        for at in (now, now + 1800, now + 86400, now + 8 * 86400):
            got = members(incremental, at)
            assert got == members(from_log, at), (v, at)
        for name in members(incremental, now):
            counts[name] += 1
        if v in rendered:
            assert rendered[v] == members(incremental, time.time()), v
    del counts["mobile"]
    assert all(0 < n < len(by_visitor) for n in counts.values()), counts  # every rule is exercised
