# SPDX-License-Identifier: Apache-2.0
"""A small simulated store with planted visitor segments, for tests, benchmarks and the demo.

Each visitor belongs to one planted group (how often, when and how much they buy, on which
device) and prefers one or two categories, so a model trained on the events can be checked
against what was planted: segments by adjusted Rand index, recommendations by category.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

CATEGORIES = ("shoes", "shirts", "jackets", "books", "kitchen", "games")
ADJECTIVES = ("classic", "light", "urban", "bold", "soft", "smart", "daily", "trail")
# name: (sessions, days since last visit, views per session, cart rate, buy rate, value, device, daypart)
GROUPS: dict[str, tuple[float, float, float, float, float, float, str, str]] = {
    "high-value": (9, 2, 6, 0.6, 0.8, 180.0, "desktop", "evening"),
    "casual": (4, 10, 3, 0.3, 0.4, 45.0, "mobile", "afternoon"),
    "browsers": (6, 4, 8, 0.05, 0.05, 20.0, "mobile", "night"),
    "lapsed": (2, 120, 3, 0.2, 0.2, 40.0, "tablet", "morning"),
}
HOURS = {"night": 2, "morning": 9, "afternoon": 14, "evening": 20}


def catalog(per_category: int = 20, seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    items = []
    for cat in CATEGORIES:
        for n in range(per_category):
            adj = ADJECTIVES[int(rng.integers(len(ADJECTIVES)))]
            items.append(
                {
                    "item_id": f"{cat}-{n:03d}",
                    "title": f"{adj.title()} {cat[:-1] if cat.endswith('s') else cat} {n}",
                    "url": f"/p/{cat}-{n:03d}",
                    "image": f"/img/{cat}-{n:03d}.jpg",
                    "price": round(float(rng.uniform(10, 200)), 2),
                    "categories": [cat],
                    "tags": [adj],
                    "text": f"{adj} {cat} for every day",
                }
            )
    return items


def _ts(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def simulate(
    items: list[dict[str, Any]], visitors: int = 400, now: float = 1_793_500_000.0, seed: int = 0
) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, str]]:
    """(events, visitor → planted group, visitor → favourite category)."""
    rng = np.random.default_rng(seed)
    by_cat: dict[str, list[str]] = {}
    for it in items:
        by_cat.setdefault(it["categories"][0], []).append(it["item_id"])
    cats = sorted(by_cat)
    names = list(GROUPS)
    events: list[dict[str, Any]] = []
    planted, favourite = {}, {}
    day0 = now - now % 86400
    for v in range(visitors):
        vid = f"v{v:05d}"
        group = names[v % len(names)]
        sessions, last_days, views, cart_p, buy_p, value, device, part = GROUPS[group]
        fav = cats[int(rng.integers(len(cats)))]
        planted[vid], favourite[vid] = group, fav
        n_sessions = max(1, int(rng.poisson(sessions)))
        for s in range(n_sessions):
            days_ago = last_days + s * float(rng.uniform(1.0, 6.0))
            start = day0 - int(days_ago) * 86400 + HOURS[part] * 3600 + float(rng.uniform(0, 3000))
            t = start
            ctx = {"device": device, "daypart": part}
            cart = []
            for _ in range(max(1, int(rng.poisson(views)))):
                pool = by_cat[fav] if rng.random() < 0.85 else by_cat[cats[int(rng.integers(len(cats)))]]
                item = pool[min(int(rng.exponential(len(pool) / 4)), len(pool) - 1)]
                t += float(rng.uniform(20, 120))
                events.append({"visitor_id": vid, "type": "item_view", "item_id": item, "ts": t, "context": ctx})
                events.append(
                    {
                        "visitor_id": vid,
                        "type": "engagement",
                        "ts": t + 5,
                        "context": ctx,
                        "properties": {
                            "time_on_page": float(rng.gamma(2.0, 20 if group != "browsers" else 8)),
                            "scroll_depth": float(rng.uniform(0.2, 1.0)),
                        },
                    }
                )
                if rng.random() < cart_p:
                    cart.append(item)
                    events.append(
                        {"visitor_id": vid, "type": "add_to_cart", "item_id": item, "ts": t + 10, "context": ctx}
                    )
            if cart and rng.random() < buy_p:
                events.append(
                    {
                        "visitor_id": vid,
                        "type": "purchase",
                        "item_id": cart[0],
                        "ts": t + 60,
                        "value": round(float(rng.gamma(4.0, value / 4)), 2),
                        "currency": "EUR",
                        "context": ctx,
                    }
                )
    events.sort(key=lambda e: e["ts"])
    for n, ev in enumerate(events):
        ev["event_id"] = f"e{n:07d}"
    return events, planted, favourite


def write_events(events: list[dict[str, Any]], path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for ev in events:
            fh.write(json.dumps({**ev, "ts": _ts(float(ev["ts"]))}, separators=(",", ":")) + "\n")
    return path


def write_items(items: list[dict[str, Any]], path: Path) -> Path:
    path.write_text("".join(json.dumps(it) + "\n" for it in items), encoding="utf-8")
    return path
