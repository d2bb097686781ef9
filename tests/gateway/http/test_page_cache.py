# SPDX-License-Identifier: Apache-2.0
"""The page cache never serves one visitor's or one context's response to another.

10,000 interleaved renders of varied visitors (new, known, with a profile, signed, no consent,
bots) and contexts go to two apps on the same configuration and store: one with the page cache,
one without it. Every response must be the same, byte for byte (new visitor ids and bandit draws
are made equal in both apps). The request clock is one fake clock for both, moving 0.05 s per
request across the end of the business hours, an hour change in several zones, a minute rule's
change and an offer's expiry.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import types
from pathlib import Path
from typing import Any

import httpx

from slotwise.gateway.config.loader import parse_config
from slotwise.gateway.context import request as request_context
from slotwise.gateway.demo.simulate import add_behaviour
from slotwise.gateway.demo.site import build_catalog, demo_config
from slotwise.gateway.http import render_routes
from slotwise.gateway.http.app import create_app
from slotwise.gateway.measure import exposures

from ..conftest import DESKTOP_UA, GOOGLEBOT_UA, IPHONE_UA, minimal_config


def _last_weekday_afternoon() -> float:
    """16:58:20 in Berlin (winter time) on the latest weekday before today: the store takes past events only."""
    day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(15, 58, 20), dt.UTC).timestamp()


START = _last_weekday_afternoon()
STEP = 0.05
EXPIRES = dt.datetime.fromtimestamp(START + 200, dt.UTC).isoformat()
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 14; SM-X910) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
)
PK = {"X-Slotwise-Key": "pk_demo"}
UAS = [DESKTOP_UA, IPHONE_UA, GOOGLEBOT_UA, ANDROID_TABLET, "curl/8.5.0", ""]
ZONES = ["Europe/Berlin", "Asia/Tokyo", "America/New_York", "Asia/Kolkata", "Nowhere/Else", None]
PAGES = [
    ["home-hero", "welcome", "recommendations", "offer"],
    ["home-hero", "welcome", "minute", "flash"],
    ["recommendations", "greeting", "nope", "home-hero"],
    ["welcome", "flash"],
    ["offer"],
]


def _config(tmp_path: Path, pages_size: int) -> Any:
    data = add_behaviour(demo_config(8080), str(tmp_path / "store.db"))
    data["cache"] = {"pages": {"size": pages_size, "ttl": 60}}
    data["slots"]["greeting"] = {"default": {"type": "welcome", "message": "Hello {{ visitor.id }}"}}
    data["slots"]["minute"] = {
        "variants": [{"id": "late", "when": "local.minute >= 59", "block": {"type": "banner", "title": "Late"}}],
        "default": {"type": "banner", "title": "Early"},
    }
    data["slots"]["flash"] = {
        "variants": [{"id": "flash", "block": {"type": "offer", "title": "Flash", "expires": EXPIRES}}],
        "default": {"type": "banner", "title": "No flash"},
    }
    data["slots"]["offer"]["variants"][-1]["experiment"]["traffic"] = 0.5
    return parse_config(data, base_dir=tmp_path)


def _requests(count: int, known: list[str]) -> list[tuple[dict[str, Any], dict[str, str]]]:
    rng = random.Random(15)
    out = []
    for _ in range(count):
        url = "https://shop.example/?utm_source=news" if rng.random() < 0.2 else "https://shop.example/"
        context: dict[str, Any] = {"url": url}
        if ua := rng.choice(UAS):
            context["user_agent"] = ua
        if tz := rng.choice(ZONES):
            context["timezone"] = tz
        if rng.random() < 0.3:
            context["referrer"] = rng.choice(["https://www.google.com/", "https://t.co/x", "https://shop.example/a"])
        if rng.random() < 0.2:
            context["item_id"] = f"sho-{rng.randint(1, 4):03d}"
        if rng.random() < 0.2:
            context["consent"] = rng.choice(["none", "anonymous", "full"])
        if rng.random() < 0.05:
            context["gpc"] = True
        if rng.random() < 0.1:
            context["language"] = rng.choice(["de-DE", "fr", "ja"])
        if rng.random() < 0.15:
            context["simulate"] = rng.choice([{"country": "US"}, {"country": "DE"}, {"hour": 23}, {"device": "mobile"}])
        body: dict[str, Any] = {
            "site": "demo",
            "slots": rng.choice(PAGES),
            "context": context,
        }
        who = rng.random()
        if who < 0.4:
            body["visitor_id"] = rng.choice(known)  # some have a profile
        elif who < 0.7:
            body["visitor_id"] = f"v-{rng.randint(1, 400)}"  # never seen
        if rng.random() < 0.05:
            body["debug"] = True
        headers = {"X-Slotwise-Key": "sk_demo" if rng.random() < 0.05 else "pk_demo"}
        if rng.random() < 0.1:
            headers["CF-IPCountry"] = rng.choice(["FR", "AT"])
        if rng.random() < 0.1:
            headers["Origin"] = "http://127.0.0.1:8080"
        out.append((body, headers))
    return out


def _profiles(known: list[str]) -> list[dict[str, Any]]:
    when = dt.datetime.fromtimestamp(START - 3600, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    events = []
    for n, vid in enumerate(known):
        for k, kind in enumerate(["page_view", "item_view", "add_to_cart"][: 1 + n % 3]):
            events.append(
                {
                    "event_id": f"e-{n}-{k}",
                    "visitor_id": vid,
                    "type": kind,
                    "ts": when,
                    "item_id": f"sho-{1 + n % 4:03d}",
                }
            )
    return events


async def _compare(tmp_path: Path, count: int) -> dict[str, int]:
    cached_app, plain_app = create_app(_config(tmp_path, 4096)), create_app(_config(tmp_path, 0))
    known = [f"k-{i}" for i in range(30)]
    seen = {"hits": 0, "new_ids": 0}
    async with cached_app.router.lifespan_context(cached_app), plain_app.router.lifespan_context(plain_app):
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")
            for app in (cached_app, plain_app)
        ]
        batch = {"site": "demo", "consent": "full", "events": _profiles(known)}
        sent = await clients[0].post("/v1/events", json=batch, headers={**PK, "User-Agent": DESKTOP_UA})
        assert len(sent.json()["accepted"]) == len(batch["events"]), sent.json()
        for i, (body, headers) in enumerate(_requests(count, known)):
            request_context.time = types.SimpleNamespace(time=lambda i=i: START + i * STEP)  # type: ignore[assignment]
            issued = f"{i:032x}"  # the same new visitor id in both apps
            render_routes.secrets = types.SimpleNamespace(token_hex=lambda n, v=issued: v)  # type: ignore[assignment]
            draw = (i * 0.6180339887) % 1.0  # the same bandit draw in both apps (the hero slot's bandit)
            random.Random.random = lambda self, d=draw: d  # type: ignore[method-assign]
            cached, plain = [await c.post("/v1/render", json=body, headers=headers) for c in clients]
            assert cached.status_code == plain.status_code, (i, body)
            assert cached.headers == plain.headers, (i, body)
            assert cached.content == plain.content, (i, body, cached.text, plain.text)
            seen["new_ids"] += cached.json().get("visitor_id") == issued
        for client in clients:
            await client.aclose()
        seen["hits"] = int(cached_app.state.metrics.cache_hits["pages"])
    return seen


def test_cached_pages_equal_uncached_renders_for_10000_interleaved_requests(tmp_path: Path, monkeypatch: Any) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps(i) + "\n" for i in build_catalog()), encoding="utf-8")
    monkeypatch.setattr(request_context, "time", request_context.time)  # both restored after the test
    monkeypatch.setattr(render_routes, "secrets", render_routes.secrets)
    monkeypatch.setattr(random.Random, "random", random.Random.random)
    monkeypatch.setattr(exposures, "FLUSH_EVERY", 3600.0)  # no served-count writes change the store mid-test
    seen = asyncio.run(_compare(tmp_path, 10_000))
    assert seen["hits"] > 1000  # the cache was really used, not bypassed
    assert seen["new_ids"] > 500


def _render_page(client: Any, url: str) -> None:
    body = {"site": "shop", "slots": ["hero"], "context": {"url": url, "consent": "none"}}
    assert client.post("/v1/render", json=body, headers={"X-Slotwise-Key": "pk_shop"}).status_code == 200


def test_the_page_cache_is_bounded_and_keeps_a_page_on_its_second_miss(make_client: Any) -> None:
    # The doorkeeper is direct-mapped: two keys whose hashes share a slot forget each other (by
    # design: one more render). Hashes of str vary per process, so 20 URLs share a slot in about
    # one run of six; such a set of URLs is retried with other ones, on a new app.
    for attempt in range(20):
        client = make_client(minimal_config(cache={"pages": {"size": 5, "ttl": 60}}))
        pages, hits = client.app.state.runtime.page_cache, client.app.state.metrics.cache_hits
        urls = [f"https://shop.example/{attempt}/{n}" for n in range(20)]
        for url in urls:  # 20 contexts (page URLs) seen once: none kept (a crawler's walk)
            _render_page(client, url)
        assert len(pages._cache) == 0
        if sum(1 for mark in pages._door if mark) == len(urls):
            break
    else:
        raise AssertionError("20 sets of 20 URLs each shared a doorkeeper slot")
    for url in urls:  # seen again: each one kept, the oldest evicted beyond 5
        _render_page(client, url)
    assert len(pages._cache) == 5 and hits["pages"] == 0
    _render_page(client, urls[-1])
    assert hits["pages"] == 1  # the newest survived
    _render_page(client, urls[0])
    assert hits["pages"] == 1  # the oldest went


def test_a_bandit_slot_is_drawn_anew_on_each_hit_of_its_page(make_client: Any) -> None:
    data = minimal_config(cache={"pages": {"size": 50, "ttl": 60}})
    arms = [{"name": n, "block": {"type": "banner", "title": f"Arm {n}"}} for n in ("a", "b")]
    data["slots"]["pick"] = {
        "variants": [{"id": "try", "bandit": {"key": "pick", "policy": "thompson", "reward": "click", "arms": arms}}],
        "default": {"type": "banner", "title": "Default"},
    }
    client = make_client(data)
    body = {"site": "shop", "slots": ["hero", "pick"], "context": {"url": "https://shop.example/"}}
    seen = set()
    for _ in range(40):
        blocks = client.post("/v1/render", json=body, headers={"X-Slotwise-Key": "pk_shop"}).json()["blocks"]
        assert list(blocks) == ["hero", "pick"] and "Default" in blocks["hero"]["html"]
        assert blocks["pick"]["experiment"]["bandit"] and blocks["pick"]["variant"] in ("try:a", "try:b")
        assert f"Arm {blocks['pick']['experiment']['arm']}" in blocks["pick"]["html"]
        seen.add(blocks["pick"]["experiment"]["arm"])
    assert seen == {"a", "b"}  # drawn on every view (both arms in 40 draws: all but certain)
    assert client.app.state.metrics.cache_hits["pages"] == 38  # kept on the second miss: the hero came from it
