# SPDX-License-Identifier: Apache-2.0
"""Event ingestion and visitor rights: POST /v1/events, GET/DELETE /v1/visitors/{id}, consent.

Validation is per event: the response lists accepted event_ids (retries of known ones
included, counted once) and rejected ones with a reason; one bad event never drops the good.
Without profiling consent (level below `full`, or `Sec-GPC: 1`) and for bots, events are
acknowledged but not kept (`ignored`), so no profile is ever built for them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slotwise.gateway.common.jsoncodec import loads
from slotwise.gateway.config.loader import SiteConfig
from slotwise.gateway.context.classify import classify_event
from slotwise.gateway.context.geo import client_address
from slotwise.gateway.context.request import resolve_context
from slotwise.gateway.http.errors import ApiError, JSONResponse
from slotwise.gateway.http.keys import same_secret
from slotwise.gateway.http.render_routes import (
    STAND_IN,
    authorize,
    check_key,
    cors_headers,
    peer_of,
    read_body,
    site_first,
    site_name,
    visitor_id_of,
)
from slotwise.gateway.http.schemas import ConsentRequest, EventsRequest, body_error, parse_body
from slotwise.gateway.measure.exposures import aggregates_allowed, refusal
from slotwise.gateway.ops.ratelimit import RateLimiter, RedisRateLimiter, limiter_for
from slotwise.gateway.serving.runtime import Runtime
from slotwise.gateway.visitors.events import Invalid, Limits, event_line, safe_text, validate_event
from slotwise.gateway.visitors.ingest import BatchResult, Origin, ingest_batch
from slotwise.gateway.visitors.signing import verify_visitor
from slotwise.gateway.visitors.stores import Store, StoreSettings

EXPIRE_EVERY = 3600.0
Limiter = RateLimiter | RedisRateLimiter
EVENTS_ORDER = ("site", "events", "key", "consent", "context", "segments")
log = logging.getLogger("slotwise.events")


def _store(request: Request) -> tuple[Store, StoreSettings]:
    store = getattr(request.app.state.services, "store", None)
    if store is None:
        raise ApiError(503, "store_disabled", "events and profiles are off (no 'store' configured)")
    return store, getattr(store, "settings", None) or StoreSettings()


def _limiters(request: Request, settings: StoreSettings) -> tuple[Limiter, Limiter]:
    state = request.app.state
    lim = getattr(state, "event_limiters", None)
    if lim is None:
        store = state.services.store  # a Redis store shares the limits between replicas
        lim = (
            limiter_for(store, "visitor", settings.rate_limit["visitor_per_minute"]),
            limiter_for(store, "client", settings.rate_limit["client_per_minute"]),
        )
        state.event_limiters = lim
    return lim


async def post_events(request: Request) -> Response:
    state = request.app.state
    runtime: Runtime = state.runtime
    store, settings = _store(request)
    raw = await read_body(request, settings.max_batch_bytes)
    try:
        body = _parse(raw)
    except ApiError as exc:
        raise site_first(request.headers, runtime, raw, exc, body_key=True) from None
    site, _ = authorize(runtime, body.site, request.headers.get("x-slotwise-key") or body.key)
    headers = cors_headers(request, site)
    raw_events = body.events
    if len(raw_events) > settings.max_batch:
        raise ApiError(413, "too_many_events", f"at most {settings.max_batch} events per batch, got {len(raw_events)}")
    _, client_limit = _limiters(request, settings)
    client = client_address(peer_of(request), request.headers, runtime.config.trusted_proxies)
    wait = await client_limit.atake(f"{site.name}|{client}", max(1, len(raw_events)))
    if wait:
        raise ApiError(
            429, "rate_limited", "too many events from this client", {"Retry-After": str(int(wait) + 1), **headers}
        )
    ctx = resolve_context(
        body_context={**body.context, **({"consent": body.consent} if body.consent is not None else {})},
        headers=request.headers,
        peer=peer_of(request),
        config=runtime.config,
        site=site,
        allow_simulation=False,
    )
    now = time.time()
    limits = Limits(max_future_s=settings.max_future_seconds, retention_days=settings.retention_days)
    rejected: list[dict[str, Any]] = []
    # (index, event, origin); a valid event's id is safe to echo as it is.
    checked: list[tuple[int, dict[str, Any], Origin]] = []
    batch_ua = _str(body.context.get("user_agent")) or request.headers.get("user-agent")
    mobile_hint = request.headers.get("sec-ch-ua-mobile")
    # An event's origin depends only on the three context values of `_origin_key`: one per batch, mostly.
    origins: dict[tuple[str | None, str | None, bool], Origin] = {}
    for index, raw_event in enumerate(raw_events):
        try:
            event = validate_event(raw_event, now, limits)
            reason = refusal(event)
            if (
                reason is None
                and site.require_signed_visitor
                and not verify_visitor(site.name, site.visitor_secrets, event["visitor_id"])
            ):
                reason = "'visitor_id' is not signed for this site"
        except Invalid as exc:
            reason = str(exc)
        if reason is not None:
            event_id = raw_event.get("event_id") if isinstance(raw_event, dict) else None
            shown = safe_text(event_id[:128]) if isinstance(event_id, str) else None
            rejected.append({"index": index, "event_id": shown, "reason": reason})
            continue
        # Each event by its own context (a relaying server's batch), the request's otherwise.
        own = raw_event.get("context")
        key = _origin_key(own)
        origin = origins.get(key)
        if origin is None:
            verdict = classify_event(
                own, user_agent=batch_ua, consent=ctx.consent.level, gpc=ctx.consent.gpc, mobile_hint=mobile_hint
            )
            aggregates = aggregates_allowed(verdict.consent, verdict.device is None)
            origin = origins[key] = Origin(verdict.device, ctx.geo.country, verdict.ignored, aggregates)
        checked.append((index, event, origin))
    # One round trip for the whole batch when the limit is shared through Redis; events that are
    # acknowledged without being kept (bots, no consent) do not use up the visitor's limit.
    visitor_limit, _ = _limiters(request, settings)
    limited = [f"{site.name}|{e['visitor_id']}" for _, e, origin in checked if origin.ignored_reason is None]
    waits = iter(await visitor_limit.atake_many(limited))
    batch: list[tuple[dict[str, Any], Origin]] = []
    for index, event, origin in checked:
        if origin.ignored_reason is None and next(waits):
            reason = "rate limit for this visitor; retry later"
            rejected.append({"index": index, "event_id": event["event_id"], "reason": reason})
        else:
            batch.append((event, origin))
    rejected.sort(key=lambda r: r["index"])
    result = BatchResult()
    if batch:
        try:
            result = await ingest_batch(store, runtime, site, batch)
        except Exception as exc:
            # Nothing of this batch was acknowledged: the client keeps it and retries.
            store.outage.failed(exc)
            raise ApiError(
                503,
                "store_unavailable",
                "the event store is unavailable; retry the batch",
                {"Retry-After": "1", **headers},
            ) from None
        store.outage.succeeded()
        _maybe_expire(request, store, now)
    accepted, duplicates = result.accepted, result.duplicates
    payload: dict[str, Any] = {"accepted": accepted, "duplicates": duplicates, "rejected": rejected}
    if result.ignored:
        payload["ignored"] = {
            "event_ids": list(result.ignored),
            "reason": "; ".join(dict.fromkeys(result.ignored.values())),
        }
    if body.segments and accepted:
        kept = set(accepted)
        visitors = {e["visitor_id"] for e, _ in batch if e["event_id"] in kept}
        payload["segments"] = await _memberships(store, runtime, site, ctx, visitors)
    return JSONResponse(payload, headers=headers)


async def _memberships(
    store: Store, runtime: Runtime, site: SiteConfig, ctx: Any, visitors: set[str]
) -> dict[str, list[str]]:
    """Rule segments of each visitor right after the batch (opt-in: `"segments": true`),
    so a browser can update the page at once, without another render call."""
    from slotwise.gateway.blocks.page import memberships
    from slotwise.gateway.rules.expr import Env

    out = {}
    for visitor in sorted(visitors)[:100]:
        profile, attributes = await store.load_for_render(site.name, visitor)
        env = Env(ctx, site=site, runtime=runtime, profile=profile, attributes=attributes)
        out[visitor] = memberships(env)
    return out


def _parse(raw: bytes) -> EventsRequest:
    """The body decoded once by the JSON codec (orjson: about twice as fast as pydantic's
    parser on a batch) and checked by the model. A body the codec refuses, or with so many
    brackets that it might nest deeper than `parse_body` allows (orjson reads 1024 levels, the
    standard library fewer), takes `parse_body`, whose errors name what is wrong."""
    if raw.count(b"[") + raw.count(b"{") >= 900:
        return parse_body(EventsRequest, raw, EVENTS_ORDER)
    try:
        data = loads(raw)
    except Exception:
        return parse_body(EventsRequest, raw, EVENTS_ORDER)
    try:
        return EventsRequest.model_validate(data)
    except ValidationError as exc:
        raise body_error(exc, EVENTS_ORDER) from None


def _origin_key(context: Any) -> tuple[str | None, str | None, bool]:
    """What `classify_event` reads of an event's own context: its user agent, consent and GPC."""
    if not isinstance(context, dict):
        return None, None, False
    ua, consent = context.get("user_agent"), context.get("consent")
    return _str(ua), _str(consent), context.get("gpc") is True


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _maybe_expire(request: Request, store: Store, now: float) -> None:
    state = request.app.state
    if now - getattr(state, "events_last_expire", 0.0) < EXPIRE_EVERY:
        return
    state.events_last_expire = now

    async def expire() -> None:
        try:
            await store.expire(now)
        except Exception:  # e.g. the store closed during shutdown: retried in an hour
            log.warning("event retention run failed", exc_info=True)

    state.events_expire_task = asyncio.get_running_loop().create_task(expire())  # keep a reference


# --- visitor rights ---------------------------------------------------------------------------


def visitor_token(site: SiteConfig, visitor_id: str, ttl: float = 3600.0, now: float | None = None) -> str:
    """A token that lets the visitor read or erase their own data (signed with the secret key)."""
    expires = int((time.time() if now is None else now) + ttl)
    sig = hmac.new(
        site.secret_key.encode(), f"{site.name}\x00{visitor_id}\x00{expires}".encode(), hashlib.sha256
    ).hexdigest()
    return f"{expires}.{sig}"


def _token_ok(site: SiteConfig, visitor_id: str, token: str) -> bool:
    expires, _, sig = token.partition(".")
    if not expires.isdigit() or int(expires) < time.time():
        return False
    want = hmac.new(
        site.secret_key.encode(), f"{site.name}\x00{visitor_id}\x00{expires}".encode(), hashlib.sha256
    ).hexdigest()
    return same_secret(sig, want)


def _visitor_auth(request: Request, allow_publishable: bool = False) -> tuple[SiteConfig, str, dict[str, str]]:
    runtime: Runtime = request.app.state.runtime
    name = site_name(request.query_params.get("site"))
    visitor_id = visitor_id_of(request.path_params["visitor_id"])
    assert visitor_id is not None
    auth = request.headers.get("authorization", "")
    bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else None
    key = bearer or request.headers.get("x-slotwise-key")
    token = request.headers.get("x-slotwise-visitor-token") or request.query_params.get("token")
    # An unknown site runs the same checks (and fails them) as a wrong key: names cannot be listed.
    site = runtime.config.sites.get(name, STAND_IN)
    if (
        (key and same_secret(key, site.secret_key))
        or (token and _token_ok(site, visitor_id, token))
        or (allow_publishable and key and not check_key(site, key, name))
    ):
        return site, visitor_id, cors_headers(request, site)
    if not key and not token:
        raise ApiError(401, "missing_key", "send the secret key (Authorization: Bearer) or a visitor token")
    raise ApiError(403, "forbidden", "the key or visitor token is not valid for this visitor")


async def get_visitor(request: Request) -> Response:
    store, _ = _store(request)
    site, visitor_id, headers = _visitor_auth(request)
    profile, attributes = await store.load_for_render(site.name, visitor_id)
    events = await store.events(site.name, visitor_id)
    return JSONResponse(
        {
            "site": site.name,
            "visitor_id": visitor_id,
            "consent": await store.consent(site.name, visitor_id),
            "profile": profile.describe(time.time()) if profile else None,
            "attributes": attributes,
            "events": [json.loads(event_line(e)) for e in events],
            "experiments": _assignments(request.app.state.runtime, visitor_id),
        },
        headers={"Cache-Control": "private, no-store", **headers},
    )


def _assignments(runtime: Runtime, visitor_id: str) -> dict[str, str]:
    """Experiment arms, computed from the visitor id (never stored, so nothing to erase)."""
    from slotwise.gateway.decisions.experiments import assign

    out = {}
    for slot in runtime.config.slots.values():
        for variant in slot.variants:
            if variant.experiment is not None:
                arm = assign(variant.experiment, visitor_id)
                out[variant.experiment.key] = arm.name if arm else "holdout"
    return out


async def delete_visitor(request: Request) -> Response:
    store, _ = _store(request)
    site, visitor_id, headers = _visitor_auth(request)
    erased = await store.erase(site.name, visitor_id)
    return JSONResponse(
        {"site": site.name, "visitor_id": visitor_id, "erased": True, "events": erased}, headers=headers
    )


async def put_consent(request: Request) -> Response:
    """Consent from the site's banner (publishable key) or the visitor's own token."""
    store, _ = _store(request)
    site, visitor_id, headers = _visitor_auth(request, allow_publishable=True)
    level = parse_body(ConsentRequest, await read_body(request, 4096), ("level",)).level
    await store.set_consent(site.name, visitor_id, level)
    return JSONResponse(
        {"site": site.name, "visitor_id": visitor_id, "level": level, "profiling": level == "full"}, headers=headers
    )


ROUTES = [
    Route("/v1/events", post_events, methods=["POST"]),
    Route("/v1/visitors/{visitor_id}", get_visitor, methods=["GET"]),
    Route("/v1/visitors/{visitor_id}", delete_visitor, methods=["DELETE"]),
    Route("/v1/visitors/{visitor_id}/consent", put_consent, methods=["PUT"]),
]
