# SPDX-License-Identifier: Apache-2.0
"""Demo visitors: browsing, carting, buying and coming back, written through the store and
to an events JSON-lines file (the offline training input of `models/`).

Seeded, so two runs make the same shop history (relative to "now"). Three well-known
visitors make the behavioural segments easy to see on the demo page:
`demo-cart-abandoner`, `demo-returning` and `demo-shoe-fan`.
"""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slotwise.gateway.context.request import daypart, zone
from slotwise.gateway.visitors.events import event_line
from slotwise.gateway.visitors.stores import Store

SITE = "demo"
_TZ = zone("Europe/Berlin") or UTC
BEHAVIOUR_SEGMENTS = {
    "cart-abandoner": {
        "when": "events.add_to_cart.within(24h) >= 1 and events.purchase.within(24h) == 0 and cart.size >= 1",
        "description": "put items in the cart in the last 24 h but did not buy",
    },
    "returning": {"when": "visitor.returning", "description": "more than one visit"},
    "shoe-fan": {
        "when": "affinity.category('shoes') > 0.3 or affinity.category('boots') > 0.3",
        "description": "most of their recent interest is footwear",
    },
    "big-spender": {
        "when": "rfm.monetary >= 300 and rfm.recency_days <= 30",
        "description": "spent 300 EUR or more, seen in the last 30 days",
    },
}
BEHAVIOUR_VARIANTS = {
    "offer": {
        "id": "cart-abandoner",
        "when": "cart-abandoner",
        "block": {
            "type": "offer",
            "title": "Still thinking it over?",
            "discount": "-15% on your cart",
            "code": "COMEBACK15",
            "conditions": "Valid for 24 hours.",
        },
    },
    "welcome": {
        "id": "returning",
        "when": "returning",
        "block": {
            "type": "welcome",
            "message": "Welcome back! Good {{ context.daypart }}, here is what is new since your last visit.",
        },
    },
    # Not on phones: there the hero stays device-specific, so mobile and desktop always differ.
    "home-hero": {
        "id": "shoe-fan",
        "when": "segment('shoe-fan') and device.class != 'mobile'",
        "block": {
            "type": "banner",
            "title": "New in: footwear you will love",
            "text": "Fresh sneakers and boots, picked for you.",
            "url": "/demo?category=shoes",
            "cta": "See the shoes",
        },
    },
}


def add_behaviour(config: dict[str, Any], store_path: str = "store.db") -> dict[str, Any]:
    """The demo config with a store, behavioural segments and the variants that use them (first)."""
    config.setdefault("store", {"backend": "sqlite", "path": store_path})
    config.setdefault("segments", {}).update(BEHAVIOUR_SEGMENTS)
    for slot, variant in BEHAVIOUR_VARIANTS.items():
        if slot in config.get("slots", {}):
            variants = config["slots"][slot].setdefault("variants", [])
            if all(v.get("id") != variant["id"] for v in variants):
                variants.insert(0, variant)
    return config


class _Visitor:
    def __init__(self, vid: str, rnd: random.Random, cats: list[str], now: float):
        self.id = vid
        self.rnd = rnd
        self.likes = rnd.sample(cats, k=min(2, len(cats)))
        self.device = rnd.choices(["mobile", "desktop", "tablet"], [0.55, 0.35, 0.10])[0]
        self.country = rnd.choices(["DE", "AT", "FR", "US", "NL"], [0.6, 0.1, 0.1, 0.1, 0.1])[0]
        self.now = now
        self.events: list[dict[str, Any]] = []

    def event(self, etype: str, ts: float, item: dict[str, Any] | None = None, **extra: Any) -> None:
        e: dict[str, Any] = {
            "event_id": f"sim-{self.id}-{len(self.events)}",
            "visitor_id": self.id,
            "type": etype,
            "ts": round(min(ts, self.now - 1), 3),
            "context": {
                "device": self.device,
                "country": self.country,
                "daypart": daypart(datetime.fromtimestamp(ts, _TZ).hour),
            },
        }
        if item is not None:
            e["item_id"] = item["item_id"]
            e["properties"] = {k: list(item.get(k) or [])[:10] for k in ("categories", "tags") if item.get(k)}
        e.update({k: val for k, val in extra.items() if val is not None})
        self.events.append(e)


def _session(
    v: _Visitor,
    start: float,
    by_cat: dict[str, list[dict[str, Any]]],
    all_items: list[dict[str, Any]],
    buy: bool,
    cart: bool,
) -> float:
    rnd, t = v.rnd, start
    v.event("page_view", t)
    carted: list[dict[str, Any]] = []
    for _ in range(rnd.randint(2, 9)):
        t += rnd.uniform(15, 240)
        pool = by_cat[rnd.choice(v.likes)] if rnd.random() < 0.8 else all_items
        item = rnd.choice(pool)
        v.event("item_view", t, item)
        if rnd.random() < 0.5:
            v.event(
                "engagement",
                t + 5,
                item,
                properties={"time_on_page": round(rnd.uniform(5, 180), 1), "scroll_depth": rnd.randint(10, 100)},
            )
        if cart and rnd.random() < 0.35:
            t += rnd.uniform(5, 60)
            v.event("add_to_cart", t, item, quantity=1, value=item.get("price"), currency="EUR")
            carted.append(item)
    if carted and rnd.random() < 0.15:
        t += 20
        v.event("remove_from_cart", t, carted.pop())
    if buy and carted:
        t += rnd.uniform(60, 300)
        total = round(sum(float(i.get("price") or 0) for i in carted), 2)
        v.event("purchase", t, carted[0], value=total, currency="EUR", quantity=len(carted))
    return t


def simulate_visitors(
    items: list[dict[str, Any]], now: float, visitors: int = 300, seed: int = 11
) -> list[dict[str, Any]]:
    """Events of `visitors` simulated shoppers over the last 30 days, plus the three demo visitors."""
    rnd = random.Random(seed)
    by_cat: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        for c in item.get("categories") or ["other"]:
            by_cat.setdefault(c, []).append(item)
    cats = sorted(by_cat)
    events: list[dict[str, Any]] = []
    for n in range(visitors):
        v = _Visitor(f"sim-{n:04d}", random.Random(rnd.random()), cats, now)
        visits = min(1 + int(v.rnd.expovariate(0.6)), 8)
        starts = sorted(now - v.rnd.random() ** 1.5 * 30 * 86400 for _ in range(visits))
        for start in starts:
            _session(v, start, by_cat, items, buy=v.rnd.random() < 0.3, cart=True)
        events.extend(v.events)
    events.extend(_scripted(items, by_cat, now))
    return events


def _scripted(items: list[dict[str, Any]], by_cat: dict[str, list[dict[str, Any]]], now: float) -> list[dict[str, Any]]:
    """Visitors whose histories put them in one behavioural segment each."""
    out = []
    shoes = by_cat.get("shoes") or items
    other = by_cat.get("jackets") or items
    v = _Visitor("demo-cart-abandoner", random.Random(1), sorted(by_cat), now)
    v.likes = ["jackets"] if "jackets" in by_cat else v.likes
    v.event("page_view", now - 3 * 3600)
    v.event("item_view", now - 3 * 3600 + 30, other[0])
    v.event("add_to_cart", now - 3 * 3600 + 60, other[0], quantity=1, value=other[0].get("price"), currency="EUR")
    out += v.events
    v = _Visitor("demo-returning", random.Random(2), sorted(by_cat), now)
    for day in (9, 4, 1):
        v.event("page_view", now - day * 86400)
        v.event("item_view", now - day * 86400 + 40, items[day % len(items)])
    out += v.events
    v = _Visitor("demo-shoe-fan", random.Random(3), sorted(by_cat), now)
    for k in range(6):
        v.event("item_view", now - 7200 + k * 60, shoes[k % len(shoes)])
    out += v.events
    return out


async def write_events(store: Store, events: list[dict[str, Any]], events_path: Path | None, site: str = SITE) -> int:
    """Ingest through the store (idempotent) and append the JSON lines file; returns events stored."""
    stored = 0
    for start in range(0, len(events), 500):
        stored += len((await store.ingest(site, events[start : start + 500])).stored)
    if events_path is not None:
        tmp = events_path.with_suffix(".tmp")
        tmp.write_text("".join(event_line(e) + "\n" for e in sorted(events, key=lambda e: e["ts"])), encoding="utf-8")
        tmp.replace(events_path)
    return stored


def demo_hook(data_dir: Path, config_path: Path) -> None:
    """`slotwise demo` step: simulate visitors once per data directory (a later start goes on)."""
    import time

    from slotwise.gateway.config.loader import load_config
    from slotwise.gateway.visitors.stores import open_store, parse_store_settings

    events_path = data_dir / "events.jsonl"
    if events_path.exists():
        return
    config = load_config(config_path)
    if not config.store:
        return
    items = []
    if config.catalog_path and config.catalog_path.exists():
        items = [
            json.loads(line) for line in config.catalog_path.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    if not items:
        return

    async def run() -> int:
        store = open_store(parse_store_settings(config.store, config_path.parent))
        try:
            return await write_events(store, simulate_visitors(items, time.time()), events_path)
        finally:
            await store.close()

    stored = asyncio.run(run())
    print(f"simulated visitors: {stored} events in the store, {events_path}")
