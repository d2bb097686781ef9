# SPDX-License-Identifier: Apache-2.0
"""The block cache: recommendation HTML shared by the visitors it is the same for, and only by them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from starlette.testclient import TestClient

from slotwise.gateway.config.loader import parse_config
from slotwise.gateway.visitors.stores import build_store
from tests.gateway.conftest import DESKTOP_UA, minimal_config
from tests.gateway.http.test_api import _write_items


def test_visitors_with_the_same_recommendations_share_the_html_and_others_do_not(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    items = [{"item_id": f"i{k}", "title": f"Item {k}", "url": f"/p/{k}", "price": k} for k in range(6)]
    _write_items(tmp_path, items)
    data = minimal_config(store={"path": str(tmp_path / "store.db")}, catalog={"path": "items.jsonl"})
    data["slots"]["recs"] = {"default": {"type": "recommendations", "strategy": "recently_viewed", "count": 2}}
    viewed = {"ann": ["i1", "i2"], "ben": ["i1", "i2"], "cat": ["i3", "i4"]}
    now = time.time()
    events = [
        {"event_id": f"{v}{k}", "visitor_id": v, "type": "item_view", "item_id": item, "ts": now - 60 + k}
        for v, seen in viewed.items()
        for k, item in enumerate(seen)
    ]

    async def seed() -> None:
        store = await build_store(parse_config(data, base_dir=tmp_path))
        assert store is not None
        await store.ingest("shop", events)
        await store.close()

    asyncio.run(seed())
    client = make_client(data)

    def recs(visitor: str) -> str:
        body = {"site": "shop", "slots": ["recs"], "visitor_id": visitor}
        r = client.post("/v1/render", json=body, headers={"X-Slotwise-Key": "pk_shop", "User-Agent": DESKTOP_UA})
        return str(r.json()["blocks"]["recs"]["html"])

    ann, ben, cat = recs("ann"), recs("ben"), recs("cat")
    assert ann == ben and 'data-slotwise-item="i1"' in ann and 'data-slotwise-item="i2"' in ann
    assert 'data-slotwise-item="i3"' in cat and 'data-slotwise-item="i1"' not in cat
    metrics = client.get("/metrics").text
    assert 'slotwise_cache_hits_total{cache="blocks"} 1.0' in metrics  # ben's: ann's HTML
    assert 'slotwise_cache_misses_total{cache="blocks"} 2.0' in metrics
