# SPDX-License-Identifier: Apache-2.0
"""Simulated visits through a real gateway over HTTP: one render call, then client.js's events.

Each shopper asks `POST /v1/render` for the page's slots (device, hour, weekday and country
through the demo site's `context.simulate`), answers what it got with the hidden rates of
`shoppers.py`, and sends the events the browser client would: `page_view`, one `impression` per
block with `slot`, `variant` and, for experiments and bandits, `experiment`, `arm` and
`propensity`, `click`s with the same properties, `add_to_cart` and a `purchase` with its value.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np

from slotwise.gateway.demo.shoppers import (
    Behaviour,
    Page,
    Shopper,
    bandit_arm,
    behave,
    conversion_chance,
    oracle_chance,
)

ITEM = re.compile(r'data-slotwise-item="([^"]+)"')
HERO, RECS = "home-hero", "recommendations"
BOT_AGENT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
AGENTS = {  # a browser's user agent per device class (httpx's own would be taken for a bot)
    "mobile": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "tablet": "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "desktop": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
}


class GatewayError(RuntimeError):
    """The gateway refused or failed a call; the message says which and why."""


@dataclass(frozen=True)
class Target:
    url: str
    site: str
    publishable_key: str
    secret_key: str


@dataclass
class Visit:
    """One visit's record: what was shown, what the truth says, what the shopper did."""

    index: int
    shopper: Shopper
    arm: str  # the experiment arm the gateway reported ("holdout", or an arm name)
    page: Page
    chance: float  # hidden conversion chance of the page shown
    chance_default: float  # ... of the default blocks (the holdout's page)
    chance_best: float  # ... of the best page for this shopper
    behaviour: Behaviour
    events: int
    bandit: dict[str, Any] | None = None


def _ts(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def _call(client: httpx.AsyncClient, method: str, target: Target, path: str, **kwargs: Any) -> dict[str, Any]:
    """The JSON of the gateway's 200 answer; GatewayError when the request fails or the status is another."""
    try:
        r = await client.request(method, target.url + path, **kwargs)
    except httpx.HTTPError as exc:
        raise GatewayError(f"{method} {target.url}{path} failed: {exc}") from None
    if r.status_code != 200:
        raise GatewayError(f"{method} {path} answered {r.status_code}: {r.text[:300]}")
    payload: dict[str, Any] = r.json()
    return payload


async def _post(client: httpx.AsyncClient, target: Target, path: str, body: dict[str, Any]) -> dict[str, Any]:
    return await _call(client, "POST", target, path, json=body, headers={"X-Slotwise-Key": target.publishable_key})


def page_of(blocks: dict[str, Any]) -> Page:
    hero = blocks.get(HERO) or {}
    recs = blocks.get(RECS) or {}
    return Page(str(hero.get("variant", "default")), tuple(ITEM.findall(str(recs.get("html", "")))))


async def default_page(client: httpx.AsyncClient, target: Target, slots: Sequence[str]) -> Page:
    """The holdout's page (every slot's default block): what a crawler is shown, which never
    enters an experiment and builds no profile."""
    body = {"site": target.site, "slots": list(slots), "context": {"user_agent": BOT_AGENT, "consent": "none"}}
    return page_of((await _post(client, target, "/v1/render", body))["blocks"])


def _properties(block: dict[str, Any], slot: str) -> dict[str, Any]:
    props: dict[str, Any] = {"slot": slot, "variant": block.get("variant")}
    exp = block.get("experiment") or {}
    if exp.get("key"):
        props["experiment"], props["arm"] = exp["key"], exp["arm"]
    propensity = exp.get("propensity") or block.get("propensity")
    if propensity:
        props["propensity"] = propensity
    return props


def visit_events(
    shopper: Shopper, blocks: dict[str, Any], did: Behaviour, now: float, tag: str
) -> list[dict[str, Any]]:
    """The events client.js would send for this visit, in order, with deterministic ids."""
    events: list[dict[str, Any]] = []
    t = now

    def add(etype: str, **fields: Any) -> None:
        nonlocal t
        t += 1.0
        event = {"event_id": f"{tag}-{shopper.visitor_id}-{len(events)}", "visitor_id": shopper.visitor_id}
        context = {"url": "https://shop.example/", "user_agent": AGENTS[shopper.device]}
        events.append({**event, "type": etype, "ts": _ts(t), "context": context, **fields})

    add("page_view")
    for slot, block in blocks.items():
        add("impression", properties=_properties(block, slot))
    if did.hero_click and HERO in blocks:
        add("click", properties=_properties(blocks[HERO], HERO))
    for item in did.item_clicks:
        add("click", item_id=item, properties=_properties(blocks[RECS], RECS))
    for item in did.carted:
        add("add_to_cart", item_id=item, quantity=1, currency="EUR")
    if did.order_value is not None:
        add("purchase", value=did.order_value, currency="EUR", quantity=max(1, len(did.carted)))
    return events


@dataclass(frozen=True)
class Plan:
    """One run's settings: the target, the slots, the experiment key, the seed."""

    target: Target
    slots: tuple[str, ...]
    experiment: str
    seed: int
    planted: float | None = None
    concurrency: int = 4


async def run_visit(
    client: httpx.AsyncClient,
    plan: Plan,
    index: int,
    shopper: Shopper,
    prices: dict[str, float],
    default: Page,
) -> Visit:
    simulated: dict[str, Any] = {"device": shopper.device, "hour": shopper.hour, "weekday": shopper.weekday}
    simulated["country"] = shopper.country
    context = {
        "user_agent": AGENTS[shopper.device],
        "timezone": "Europe/Berlin",
        "url": "https://shop.example/",
        "simulate": simulated,
    }
    body = {"site": plan.target.site, "visitor_id": shopper.visitor_id, "slots": list(plan.slots), "context": context}
    blocks: dict[str, Any] = (await _post(client, plan.target, "/v1/render", body))["blocks"]
    arms = {
        b["experiment"]["arm"] for b in blocks.values() if (b.get("experiment") or {}).get("key") == plan.experiment
    }
    arm = arms.pop() if len(arms) == 1 else ("mixed" if arms else "none")
    page = page_of(blocks)
    treated = arm not in ("holdout", "none")
    rng = np.random.default_rng([plan.seed, 2, index])
    did = behave(shopper, page, prices, rng, plan.planted, treated)
    events = visit_events(shopper, blocks, did, time.time(), f"sim{plan.seed}")
    answer = await _post(client, plan.target, "/v1/events", {"site": plan.target.site, "events": events})
    if answer.get("rejected"):
        raise GatewayError(f"the gateway rejected simulated events: {str(answer['rejected'])[:300]}")
    hero = (blocks.get(HERO) or {}).get("experiment") or {}
    bandit = None
    if hero.get("bandit") and bandit_arm(page.hero) is not None:
        bandit = {
            "key": hero["key"],
            "arm": hero["arm"],
            "propensity": hero.get("propensity"),
            "clicked": did.hero_click,
        }
    return Visit(
        index,
        shopper,
        arm,
        page,
        conversion_chance(shopper, page, plan.planted, treated),
        conversion_chance(shopper, default, plan.planted, False),
        oracle_chance(shopper, max(len(page.items), len(default.items)), plan.planted),
        did,
        len(events),
        bandit,
    )


async def run_visits(plan: Plan, shoppers: list[Shopper], prices: dict[str, float]) -> tuple[list[Visit], Page]:
    """Every shopper's visit, `concurrency` at a time; the records come back in visitor order."""
    limits = httpx.Limits(max_connections=plan.concurrency)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        default = await default_page(client, plan.target, plan.slots)
        gate = asyncio.Semaphore(plan.concurrency)

        async def one(i: int, shopper: Shopper) -> Visit:
            async with gate:
                return await run_visit(client, plan, i, shopper, prices, default)

        visits = await asyncio.gather(*(one(i, s) for i, s in enumerate(shoppers)))
    return list(visits), default


async def _admin(target: Target, path: str, params: dict[str, str]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {target.secret_key}"}
    async with httpx.AsyncClient(timeout=30.0) as client:
        return await _call(client, "GET", target, path, params={"site": target.site, **params}, headers=headers)


async def fetch_results(target: Target, key: str, control: str = "holdout") -> dict[str, Any]:
    """The results API's answer for the experiment, compared with the holdout."""
    return await _admin(target, f"/v1/admin/experiments/{key}/results", {"control": control, "engine": "frequentist"})


async def fetch_bandit(target: Target, key: str) -> dict[str, Any]:
    """What the gateway's bandit has learned: per arm its probability, pulls and rewards."""
    return await _admin(target, f"/v1/admin/bandits/{key}", {})
