# SPDX-License-Identifier: Apache-2.0
"""Public routes: render, fragment, slot list."""

from __future__ import annotations

import logging
import math
import re
import secrets
import time
from collections.abc import Mapping
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from slotwise.gateway.blocks.page import (
    HTML_JSON,
    LIVE_SLOTS,
    SEGMENTS_BOUND,
    SLOT_BOUND,
    encode_page,
    render_page,
    wrap_fragment,
)
from slotwise.gateway.blocks.page_cache import page_key
from slotwise.gateway.config.loader import SiteConfig, Slot
from slotwise.gateway.context.request import RequestContext, resolve_context
from slotwise.gateway.http.errors import ApiError, JSONResponse, error_response
from slotwise.gateway.http.keys import same_secret
from slotwise.gateway.http.schemas import RenderRequest, load_json, parse_body
from slotwise.gateway.measure.exposures import count_served
from slotwise.gateway.rules.expr import Env
from slotwise.gateway.serving.runtime import Runtime
from slotwise.gateway.visitors.signing import sign_visitor, verify_visitor

VISITOR_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
RENDER_ORDER = ("site", "slots", "context", "visitor_id", "debug")  # which field's error a client sees first
PERSONALIZED = {"Cache-Control": "private, no-store", "Vary": "Origin"}
log = logging.getLogger("slotwise")


async def read_body(request: Request, limit: int) -> bytes:
    """The raw request body, within `limit` bytes (413 beyond it)."""
    return await receive_body(request.receive, request.headers.get("content-length"), limit)


async def receive_body(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The body from the ASGI channel, within `limit` bytes (413 beyond it, before reading
    when Content-Length already says so); `ClientDisconnect` if the client went away."""
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise ApiError(413, "body_too_large", f"request body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "body_too_large", f"request body over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def site_first(
    headers: Mapping[str, str], runtime: Runtime, raw: bytes, error: ApiError, body_key: bool = False
) -> ApiError:
    """A body that failed validation: its site, key and origin errors still come first (the slow
    path). `headers`: the request's, by lower-case name."""
    if error.code == "invalid_json":
        return error
    try:
        data = load_json(raw)
    except ApiError:
        return error
    if not isinstance(data, dict):
        return error
    site, _ = authorize(
        runtime,
        data.get("site"),
        headers.get("x-slotwise-key") or (_text(data.get("key")) if body_key else None),
    )
    cors_for(headers.get("origin"), site)
    return error


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def site_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise ApiError(400, "invalid_request", "'site' must be a non-empty string")
    return name


# For an unknown site: keys nobody knows, so the same checks run and fail as for a wrong key.
STAND_IN = SiteConfig("", f"pk_{secrets.token_urlsafe(24)}", f"sk_{secrets.token_urlsafe(24)}", origins=("*",))


def authorize(runtime: Runtime, name: Any, key: str | None) -> tuple[SiteConfig, bool]:
    """The site and whether `key` is its secret key. An unknown site answers exactly as a wrong
    key does (403 `invalid_key`, after the same comparisons), so site names cannot be listed."""
    name = site_name(name)
    site = runtime.config.sites.get(name, STAND_IN)
    return site, check_key(site, key, name)


def check_key(site: SiteConfig, key: str | None, name: str | None = None) -> bool:
    """Publishable or secret key of `site` (named `name` in the request); True for the secret key."""
    if not key:
        raise ApiError(401, "missing_key", "send the site's publishable key in X-Slotwise-Key")
    if same_secret(key, site.secret_key):
        return True
    if same_secret(key, site.publishable_key):
        return False
    raise ApiError(403, "invalid_key", f"key is not valid for site '{(name or site.name)[:100]}'")


def cors_headers(request: Request, site: SiteConfig) -> dict[str, str]:
    return cors_for(request.headers.get("origin"), site)


def cors_for(origin: str | None, site: SiteConfig) -> dict[str, str]:
    """The CORS header for a request from `origin` (none without one); 403 for an origin not allowed."""
    if origin is None:
        return {}
    if origin in site.origins or "*" in site.origins:
        return {"Access-Control-Allow-Origin": origin}
    raise ApiError(403, "origin_not_allowed", f"origin {origin[:200]} is not allowed for site '{site.name}'")


def visitor_id_of(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not VISITOR_ID.match(raw):
        raise ApiError(400, "invalid_visitor_id", "visitor_id must be 1-128 characters of A-Z a-z 0-9 _ . : -")
    return raw


def slots_of(runtime: Runtime, raw: Any) -> tuple[list[Slot], list[str]]:
    """The known slots asked for, and the unknown names. Only when none is known is it a 404:
    a page that still names a slot removed from the configuration keeps its other slots."""
    if not isinstance(raw, list) or not raw or not all([isinstance(s, str) for s in raw]):
        raise ApiError(400, "invalid_request", "'slots' must be a non-empty list of slot names")
    config = runtime.config
    limit = config.gateway.max_slots
    names = list(dict.fromkeys(raw))
    if len(names) > limit:
        raise ApiError(422, "too_many_slots", f"at most {limit} slots per request, got {len(names)}")
    by_name = config.slots
    known, unknown = [], []
    for n in names:
        slot = by_name.get(n)
        if slot is None:
            unknown.append(n)
        else:
            known.append(slot)
    if not known:
        raise ApiError(404, "unknown_slot", f"unknown slot '{unknown[0][:100]}'")
    return known, unknown


def headers_of(request: Request) -> dict[str, str]:
    return scope_headers(request.scope)


def scope_headers(scope: Scope) -> dict[str, str]:
    """Request headers as a plain dict with lower-case names (one pass, cheap look-ups);
    repeated headers are joined with commas, as HTTP defines (X-Forwarded-For may repeat)."""
    out: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def peer_of(request: Request) -> str | None:
    return request.client.host if request.client else None


def scope_peer(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


async def build_env(
    request: Request, runtime: Runtime, site: SiteConfig, ctx: RequestContext, visitor_id: str | None
) -> Env:
    return await load_env(request.app.state.services, runtime, site, ctx, visitor_id)


async def load_env(
    services: Any, runtime: Runtime, site: SiteConfig, ctx: RequestContext, visitor_id: str | None
) -> Env:
    """The evaluation env; the profile is loaded only with full consent, no GPC, not for bots."""
    env = Env(ctx, site=site, runtime=runtime, services=services)
    store = services.store
    if store is not None and visitor_id and ctx.consent.profiling_allowed and not ctx.device.is_bot:
        env.profile, env.attributes = await store.load_for_render(site.name, visitor_id)
    return env


def stored_visitor(assigned: str | None, sent: Any) -> str | None:
    """The id to load a profile for: None when this request minted it (none was sent, or an
    unsigned or forged one was replaced), since nothing is stored under a new id. A first visit
    so skips the store's look-up."""
    return assigned if assigned is not None and assigned == sent else None


def assign_visitor(raw: Any, ctx: RequestContext, site: SiteConfig | None = None) -> str | None:
    """The request's visitor id, or a new one (signed when the site has `visitor_secrets`).
    Where `require_signed_visitor` is set, an unsigned or forged id is replaced by a new one:
    that request gets context-only personalization and never the claimed visitor's data."""
    visitor_id = visitor_id_of(raw)
    if not ctx.consent.identifier_allowed or ctx.device.is_bot:
        return None
    if site is None or not site.visitor_secrets:
        return visitor_id or secrets.token_hex(16)
    if visitor_id and (not site.require_signed_visitor or verify_visitor(site.name, site.visitor_secrets, visitor_id)):
        return visitor_id
    return sign_visitor(site.name, site.visitor_secrets[0])


async def render(request: Request) -> Response:
    """POST /v1/render through the router (the app normally answers it first, with
    `render_direct`): the same answer."""
    raw = await read_body(request, request.app.state.runtime.config.gateway.max_body_bytes)
    headers, content = await render_raw(request.app.state, scope_headers(request.scope), peer_of(request), raw)
    return Response(content, media_type="application/json", headers=headers)


async def render_raw(
    state: Any, headers: Mapping[str, str], peer: str | None, raw: bytes
) -> tuple[dict[str, str], bytes]:
    """A render: the response headers and JSON body for the request body `raw`; `headers` are
    the request's by lower-case name. Raises `ApiError` for the client's mistakes."""
    runtime: Runtime = state.runtime
    meter = state.metrics
    started = time.perf_counter()
    try:
        body = parse_body(RenderRequest, raw, RENDER_ORDER)
    except ApiError as exc:
        raise site_first(headers, runtime, raw, exc) from None
    site, is_secret = authorize(runtime, body.site, headers.get("x-slotwise-key"))
    cors = cors_for(headers.get("origin"), site)
    slots, unknown = slots_of(runtime, body.slots)
    ctx = resolve_context(
        body_context=body.context,
        headers=headers,
        peer=peer,
        config=runtime.config,
        site=site,
        allow_simulation=site.allow_simulation or is_secret,
    )
    visitor_id = assign_visitor(body.visitor_id, ctx, site)
    env = await load_env(state.services, runtime, site, ctx, stored_visitor(visitor_id, body.visitor_id))
    debug = body.debug and is_secret
    pages = runtime.page_cache
    key = None
    if pages.enabled and not debug and env.profile is None and not env.attributes:
        key = page_key(site.name, [*(s.name for s in slots), *unknown], ctx, visitor_id is None)
        cached = pages.get(key, ctx.now)
        if cached is not None:
            live: dict[str, dict[str, Any]] = {}
            if cached.live:
                again = [s for s in slots if s.name in cached.live]
                live = await render_page(env, site, again, visitor_id, meter, cached.segments)
            count_served(state, site.name, {**cached.blocks, **live} if live else cached.blocks, ctx, visitor_id)
            meter.slot_outcomes["ok"] += len(cached.blocks)
            content = cached.encode(visitor_id, ctx.now, live)
            meter.render_seconds.observe(time.perf_counter() - started)
            return ({**PERSONALIZED, **cors} if cors else PERSONALIZED), content
    blocks = await render_page(env, site, slots, visitor_id, meter)
    count_served(state, site.name, blocks, ctx, visitor_id)
    head: dict[str, Any] = {"visitor_id": visitor_id}
    if unknown:
        head["errors"] = {
            name[:100]: {"code": "unknown_slot", "message": f"unknown slot '{name[:100]}'"} for name in unknown
        }
    if debug:
        head["context"] = ctx.describe()
    kept = {name: dict(block) for name, block in blocks.items()} if key is not None else blocks
    content = encode_page(head, blocks)
    if key is not None:
        holes = env.memo.get(LIVE_SLOTS, ())
        bounds = {name: env.memo[(SLOT_BOUND, name)] for name in blocks if name not in holes}
        valid_until = min([env.memo.get(SEGMENTS_BOUND, math.inf), *(b for b, _ in bounds.values())])
        live = {name: kept[name] for name in holes}
        segments = next(iter(blocks.values()))["segments"] if blocks else []
        pages.put(key, head, kept, bounds, live, segments, valid_until, ctx.now, content)
    meter.render_seconds.observe(time.perf_counter() - started)
    return ({**PERSONALIZED, **cors} if cors else PERSONALIZED), content


_JSON_TYPE = (b"content-type", b"application/json")
_PERSONALIZED_RAW = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in PERSONALIZED.items()]


async def render_direct(scope: Scope, receive: Receive, send: Send) -> int | None:
    """POST /v1/render called straight from the app (`Gateway.__call__`), on the ASGI messages:
    the router, the middlewares and Starlette's Request and Response have nothing to do for it
    and cost about a fifth of a cached render. Errors get the same answers as through the
    router. Returns the status answered (None when the client went away first)."""
    state = scope["app"].state
    headers = scope_headers(scope)
    try:
        raw = await receive_body(receive, headers.get("content-length"), state.runtime.config.gateway.max_body_bytes)
        out, content = await render_raw(state, headers, scope_peer(scope), raw)
    except ClientDisconnect:
        return None  # nobody to answer
    except ApiError as exc:
        await exc.response()(scope, receive, send)
        return exc.status
    except Exception:
        log.exception("unhandled error on /v1/render")
        await error_response(500, "internal_error", "internal error")(scope, receive, send)
        return 500
    raw_headers = [(b"content-length", str(len(content)).encode()), _JSON_TYPE]
    if out is PERSONALIZED:  # no CORS header: the usual case, encoded once
        raw_headers += _PERSONALIZED_RAW
    else:
        raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in out.items()]
    await send({"type": "http.response.start", "status": 200, "headers": raw_headers})
    await send({"type": "http.response.body", "body": content})
    return 200


def _query_context(query: Mapping[str, str]) -> dict[str, Any]:
    keys = {
        "tz": "timezone",
        "url": "url",
        "ref": "referrer",
        "item_id": "item_id",
        "consent": "consent",
        "lang": "language",
    }
    return {target: query[src] for src, target in keys.items() if query.get(src)}


async def fragment(request: Request) -> Response:
    """One slot as text/html, for simple fetches and ESI (key in header or `key` parameter)."""
    state = request.app.state
    runtime: Runtime = state.runtime
    query = request.query_params
    site, is_secret = authorize(runtime, query.get("site"), request.headers.get("x-slotwise-key") or query.get("key"))
    headers = cors_headers(request, site)
    slot = slots_of(runtime, [request.path_params["slot"]])[0][0]
    ctx = resolve_context(
        body_context=_query_context(query),
        headers=headers_of(request),
        peer=peer_of(request),
        config=runtime.config,
        site=site,
        allow_simulation=is_secret,
    )
    visitor_id = assign_visitor(query.get("visitor_id"), ctx, site)
    env = await build_env(request, runtime, site, ctx, stored_visitor(visitor_id, query.get("visitor_id")))
    block = (await render_page(env, site, [slot], visitor_id, state.metrics))[slot.name]
    count_served(state, site.name, {slot.name: block}, ctx, visitor_id)
    block.pop(HTML_JSON, None)
    headers.update(
        {
            "Cache-Control": f"private, max-age={block['ttl']}",
            "Vary": "Origin, User-Agent, Sec-CH-UA-Mobile, Accept-Language, Cookie",
            "X-Slotwise-Variant": block["variant"],
        }
    )
    if visitor_id:
        headers["X-Slotwise-Visitor"] = visitor_id
    return Response(wrap_fragment(slot.name, block), media_type="text/html; charset=utf-8", headers=headers)


async def list_slots(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    query = request.query_params
    site, _ = authorize(runtime, query.get("site"), request.headers.get("x-slotwise-key") or query.get("key"))
    slots = [
        {"name": s.name, "description": s.description, "type": s.default["type"]} for s in runtime.config.slots.values()
    ]
    return JSONResponse({"slots": slots}, headers=cors_headers(request, site))


ROUTES = [
    Route("/v1/render", render, methods=["POST"]),
    Route("/v1/slots", list_slots, methods=["GET"]),
    Route("/v1/slots/{slot}/fragment", fragment, methods=["GET"]),
]
