# SPDX-License-Identifier: Apache-2.0
"""One page's placeholders rendered in process, through the same path as `POST /v1/render`
(context resolution, consent, visitor id, profile load, `render_page`), and the visitor cookie."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any

from slotwise.gateway.blocks.page import HTML_JSON, render_page
from slotwise.gateway.context.request import RequestContext, resolve_context
from slotwise.gateway.http.render_routes import VISITOR_ID, assign_visitor, load_env, stored_visitor
from slotwise.gateway.serving.runtime import Runtime

log = logging.getLogger("slotwise.edge")

VISITOR_COOKIE = "slotwise_vid"  # the cookie client.js keeps: one visitor whichever path renders
CONSENT_COOKIE = "slotwise_consent"
CONSENT_LEVELS = ("none", "anonymous", "full")
YEAR = 31536000


def parse_cookies(header: str | None) -> dict[str, str]:
    if not header:
        return {}
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


@dataclass
class Visit:
    """What the page request says about the visitor, settled before any byte is sent."""

    ctx: RequestContext
    visitor_id: str | None
    set_cookie: str | None  # a Set-Cookie value, or None
    stored_id: str | None  # the id to load a profile for: None when this visit minted it


def prepare_visit(
    runtime: Runtime, site_name: str, headers: dict[str, str], peer: str | None, url: str, secure: bool
) -> Visit:
    """Context, consent and visitor id of one page request; the cookie to set (a new id only
    when consent allows an identifier and no GPC; an old id is expired when consent is none)."""
    site = runtime.config.sites[site_name]
    cookies = parse_cookies(headers.get("cookie"))
    consent = cookies.get(CONSENT_COOKIE)
    body: dict[str, Any] = {"url": url}
    if headers.get("referer"):
        body["referrer"] = headers["referer"]
    if consent in CONSENT_LEVELS:
        body["consent"] = consent
    ctx = resolve_context(
        body_context=body, headers=headers, peer=peer, config=runtime.config, site=site, allow_simulation=False
    )
    known = cookies.get(VISITOR_COOKIE)
    known = known if known and VISITOR_ID.match(known) else None
    visitor_id = assign_visitor(known, ctx, site)
    attrs = "; Path=/; SameSite=Lax" + ("; Secure" if secure else "")
    set_cookie = None
    if visitor_id and visitor_id != known and not ctx.consent.gpc:
        set_cookie = f"{VISITOR_COOKIE}={visitor_id}; Max-Age={YEAR}{attrs}"
    elif known and not ctx.consent.identifier_allowed:
        set_cookie = f"{VISITOR_COOKIE}=; Max-Age=0{attrs}"
    return Visit(ctx, visitor_id, set_cookie, stored_visitor(visitor_id, known))


async def render_slots(
    state: Any, site_name: str, visit: Visit, names: list[str], item_id: str | None, budget: float
) -> dict[str, dict[str, Any]]:
    """Blocks by slot name; {} when no name is a configured slot, the budget is spent or the
    render fails (the page then keeps every fallback)."""
    runtime: Runtime = state.runtime
    config = runtime.config
    slots = [config.slots[n] for n in names if n in config.slots][: config.gateway.max_slots]
    if not slots:
        return {}
    site = config.sites[site_name]
    started = time.perf_counter()
    ctx = visit.ctx
    if item_id and ctx.item_id is None:
        ctx = dataclasses.replace(ctx, item_id=str(item_id)[:200])
    try:
        async with asyncio.timeout(budget):
            env = await load_env(state.services, runtime, site, ctx, visit.stored_id)
            blocks = await render_page(env, site, slots, visit.visitor_id, state.metrics)
    except TimeoutError:
        log.warning("edge render over its %.0f ms budget: fallbacks kept", budget * 1000)
        return {}
    except Exception:
        log.exception("edge render failed: fallbacks kept")
        return {}
    state.metrics.render_seconds.observe(time.perf_counter() - started)
    for block in blocks.values():
        block.pop(HTML_JSON, None)
    return blocks
