# SPDX-License-Identifier: Apache-2.0
"""Simulated shoppers with planted personas: the demo's visitors, the tests' and the benchmarks'.

One generator, `simulate`: each visitor belongs to one planted persona (how often, when and how
much they buy, on which device, at what time of day, how focused their interests are), so what
a model learns from the events can be checked against what was planted (segments by adjusted
Rand index, recommendations by favourite category). `EASY` plants four well-separated
personas; `HARD` seven, with two close pairs, mixed devices and noisy interests.

The demo (`simulate_visitors`, `demo_hook`) writes the events through the store and to an events
JSON-lines file (the offline training input of `models/`). Seeded, so two runs make the same
shop history relative to "now"; three scripted visitors make the behavioural segments easy to
see on the demo page: `demo-cart-abandoner`, `demo-returning` and `demo-shoe-fan`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from slotwise.gateway.common.items import read_item_rows
from slotwise.gateway.common.vocabulary import daypart
from slotwise.gateway.context.clock import zone
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


@dataclass(frozen=True)
class Persona:
    sessions: float  # mean number of sessions (Poisson, at least one)
    last_days: float  # days since the last visit
    views: float  # mean item views per session
    cart: float  # chance that a viewed item goes to the cart
    buy: float  # chance that a session with a cart ends in a purchase
    value: float  # mean order value, EUR
    device: str
    daypart: str
    focus: float = 0.85  # share of item views inside the favourite categories
    habit: float = 1.0  # share of sessions on `device` at `daypart` (the rest: anything)
    dwell: float = 20.0  # scale of the seconds spent on a page
    interests: int = 1  # favourite categories


EASY: dict[str, Persona] = {
    "high-value": Persona(9, 2, 6, 0.6, 0.8, 180.0, "desktop", "evening"),
    "casual": Persona(4, 10, 3, 0.3, 0.4, 45.0, "mobile", "afternoon"),
    "browsers": Persona(6, 4, 8, 0.05, 0.05, 20.0, "mobile", "night", dwell=8.0),
    "lapsed": Persona(2, 120, 3, 0.2, 0.2, 40.0, "tablet", "morning"),
}
_NOISY: dict[str, Any] = {"focus": 0.6, "habit": 0.75, "interests": 2}
HARD: dict[str, Persona] = {
    "high-value": Persona(9, 2, 6, 0.6, 0.8, 180.0, "desktop", "evening", **_NOISY),
    "loyal": Persona(8, 3, 5, 0.5, 0.7, 90.0, "mobile", "evening", **_NOISY),  # close to high-value
    "casual": Persona(4, 10, 3, 0.3, 0.4, 45.0, "mobile", "afternoon", **_NOISY),
    "deal-hunters": Persona(4, 8, 4, 0.45, 0.25, 30.0, "tablet", "afternoon", **_NOISY),  # close to casual
    "browsers": Persona(6, 4, 8, 0.05, 0.05, 20.0, "mobile", "night", dwell=8.0, **_NOISY),
    "lapsed": Persona(2, 120, 3, 0.2, 0.2, 40.0, "tablet", "morning", **_NOISY),
    "newcomers": Persona(1, 1, 4, 0.15, 0.1, 50.0, "desktop", "morning", **_NOISY),
}
HOURS = {"night": 2, "morning": 9, "afternoon": 14, "evening": 20}
DEVICES = ("mobile", "desktop", "tablet")
COUNTRIES = (("DE", 0.6), ("AT", 0.1), ("FR", 0.1), ("US", 0.1), ("NL", 0.1))


@dataclass
class Simulation:
    events: list[dict[str, Any]]
    planted: dict[str, str]  # visitor → persona
    favourite: dict[str, str]  # visitor → first favourite category


class _Log:
    """One visitor's events in the DESIGN.md shape."""

    def __init__(self, vid: str, now: float, device: str, country: str):
        self.id, self.now, self.device, self.country = vid, now, device, country
        self.events: list[dict[str, Any]] = []

    def add(self, etype: str, ts: float, item: dict[str, Any] | None = None, **extra: Any) -> None:
        part = extra.pop("daypart", None) or _daypart(ts)
        e: dict[str, Any] = {
            "event_id": f"{self.id}-{len(self.events)}",
            "visitor_id": self.id,
            "type": etype,
            "ts": round(min(ts, self.now - 1), 3),
            "context": {"device": extra.pop("device", None) or self.device, "country": self.country, "daypart": part},
        }
        if item is not None:
            e["item_id"] = item["item_id"]
            e["properties"] = {k: list(item.get(k) or [])[:10] for k in ("categories", "tags") if item.get(k)}
        e.update({k: v for k, v in extra.items() if v is not None})
        self.events.append(e)


def _daypart(ts: float) -> str:
    return daypart(datetime.fromtimestamp(ts, _TZ).hour)


def simulate(
    items: list[dict[str, Any]],
    visitors: int = 400,
    now: float = 1_793_500_000.0,
    seed: int = 0,
    personas: dict[str, Persona] | None = None,
    prefix: str = "v",
) -> Simulation:
    """Events of `visitors` shoppers, persona `k % len(personas)` for visitor k, sorted by time."""
    personas = personas or EASY
    rng = np.random.default_rng(seed)
    by_cat: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        for c in it.get("categories") or ["other"]:
            by_cat.setdefault(c, []).append(it)
    cats, names = sorted(by_cat), list(personas)
    countries = [c for c, _ in COUNTRIES]
    shares = [float(share) for _, share in COUNTRIES]
    events: list[dict[str, Any]] = []
    planted, favourite = {}, {}
    day0 = now - now % 86400
    for v in range(visitors):
        vid = f"{prefix}{v:04d}"
        name = names[v % len(names)]
        p = personas[name]
        likes = [cats[int(i)] for i in rng.choice(len(cats), size=min(p.interests, len(cats)), replace=False)]
        planted[vid], favourite[vid] = name, likes[0]
        log = _Log(vid, now, p.device, str(rng.choice(countries, p=shares)))
        for s in range(max(1, int(rng.poisson(p.sessions)))):
            habit = rng.random() < p.habit
            device = p.device if habit else DEVICES[int(rng.integers(len(DEVICES)))]
            part = p.daypart if habit else list(HOURS)[int(rng.integers(len(HOURS)))]
            days_ago = p.last_days + s * float(rng.uniform(1.0, 6.0))
            t = day0 - int(days_ago) * 86400 + HOURS[part] * 3600 + float(rng.uniform(0, 3000))
            ctx: dict[str, Any] = {"device": device, "daypart": part}
            log.add("page_view", t, **ctx)
            cart: list[dict[str, Any]] = []
            for _ in range(max(1, int(rng.poisson(p.views)))):
                fav = likes[int(rng.integers(len(likes)))] if rng.random() < p.focus else None
                pool = by_cat[fav or cats[int(rng.integers(len(cats)))]]
                item = pool[min(int(rng.exponential(len(pool) / 4)), len(pool) - 1)]
                t += float(rng.uniform(20, 120))
                log.add("item_view", t, item, **ctx)
                engagement = {"time_on_page": round(float(rng.gamma(2.0, p.dwell)), 1)}
                engagement["scroll_depth"] = round(float(rng.uniform(0.2, 1.0)), 2)
                log.add("engagement", t + 5, item, properties=engagement, **ctx)
                if rng.random() < p.cart:
                    cart.append(item)
                    log.add("add_to_cart", t + 10, item, quantity=1, value=item.get("price"), currency="EUR", **ctx)
            if cart and rng.random() < p.buy:
                value = round(float(rng.gamma(4.0, p.value / 4)), 2)
                log.add("purchase", t + 60, cart[0], value=value, currency="EUR", quantity=len(cart), **ctx)
        events.extend(log.events)
    events.sort(key=lambda e: e["ts"])
    return Simulation(events, planted, favourite)


def simulate_visitors(
    items: list[dict[str, Any]], now: float, visitors: int = 300, seed: int = 11
) -> list[dict[str, Any]]:
    """The demo's shop history: `visitors` shoppers of the `EASY` personas, plus the three scripted ones."""
    return simulate(items, visitors, now, seed, EASY, prefix="sim-").events + _scripted(items, now)


def _scripted(items: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    """Visitors whose histories put them in one behavioural segment each."""
    by_cat: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        for c in item.get("categories") or ["other"]:
            by_cat.setdefault(c, []).append(item)
    shoes, jackets = by_cat.get("shoes") or items, by_cat.get("jackets") or items
    v = _Log("demo-cart-abandoner", now, "desktop", "DE")
    v.add("page_view", now - 3 * 3600)
    v.add("item_view", now - 3 * 3600 + 30, jackets[0])
    v.add("add_to_cart", now - 3 * 3600 + 60, jackets[0], quantity=1, value=jackets[0].get("price"), currency="EUR")
    r = _Log("demo-returning", now, "mobile", "DE")
    for day in (9, 4, 1):
        r.add("page_view", now - day * 86400)
        r.add("item_view", now - day * 86400 + 40, items[day % len(items)])
    f = _Log("demo-shoe-fan", now, "desktop", "DE")
    for k in range(6):
        f.add("item_view", now - 7200 + k * 60, shoes[k % len(shoes)])
    return v.events + r.events + f.events


def write_events_file(events: list[dict[str, Any]], path: Path) -> Path:
    """Events as JSON lines sorted by time, `ts` as ISO 8601 (the trainers' `--events`)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(event_line(e) + "\n" for e in sorted(events, key=lambda e: e["ts"])), encoding="utf-8")
    tmp.replace(path)
    return path


async def write_events(store: Store, events: list[dict[str, Any]], events_path: Path | None, site: str = SITE) -> int:
    """Ingest through the store (idempotent) and write the JSON lines file; returns events stored."""
    stored = 0
    for start in range(0, len(events), 500):
        stored += len((await store.ingest(site, events[start : start + 500])).stored)
    if events_path is not None:
        write_events_file(events, events_path)
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
    items = read_item_rows(config.catalog_path).items if config.catalog_path and config.catalog_path.exists() else []
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
