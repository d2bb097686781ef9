# SPDX-License-Identifier: Apache-2.0
"""`GET /v1/email/{slot}?site=S&visitor_id=V`: one slot as e-mail-safe HTML (secret key).

For e-mail services merging personalized blocks into campaigns: the slot goes through the
normal decision path (segments, rules, experiments, models) for the named visitor, with the
visitor's stored consent, and is rendered by `blocks.email` (tables, inline CSS, absolute URLs
against `base_url` or the site's first origin, nothing that runs). Not counted as a served
exposure: whether the e-mail is opened is not known here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slotwise.gateway.blocks.caches import CountingCache
from slotwise.gateway.blocks.email import EmailRenderer, email_safe
from slotwise.gateway.blocks.page import render_page
from slotwise.gateway.context.request import resolve_context
from slotwise.gateway.http.admin_routes import admin_site
from slotwise.gateway.http.errors import ApiError
from slotwise.gateway.http.render_routes import load_env, slots_of, visitor_id_of
from slotwise.gateway.serving.runtime import Runtime

HEADERS = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


def email_runtime(state: Any) -> Runtime:
    """The live runtime with the e-mail renderer and its own block cache, rebuilt after a reload."""
    runtime: Runtime = state.runtime
    cached = getattr(state, "email_runtime", None)
    if cached is None or cached[0] is not runtime:
        cache = runtime.config.cache
        email = replace(
            runtime,
            renderer=EmailRenderer(runtime.config.gateway.templates_dir),
            block_cache=CountingCache("email_blocks", cache.blocks.size, cache.blocks.ttl, state.metrics),
        )
        state.email_runtime = cached = (runtime, email)
    return cached[1]


def base_url_of(raw: str | None, origins: tuple[str, ...]) -> str:
    candidates = [raw] if raw else [o for o in origins if o != "*"]
    if not candidates:
        raise ApiError(
            400, "missing_base_url", "give base_url (https://...) or an origin for the site: links must be absolute"
        )
    base = candidates[0]
    parts = urlsplit(base)
    if parts.scheme not in {"http", "https"} or not parts.netloc or len(base) > 2000:
        raise ApiError(400, "invalid_base_url", "base_url must be an absolute http(s) URL")
    return base if base.endswith("/") else base + "/"


async def email_block(request: Request) -> Response:
    state = request.app.state
    site = admin_site(request)
    query = request.query_params
    wanted = query.get("site")
    if not wanted:
        raise ApiError(400, "invalid_request", "the 'site' query parameter is required")
    if wanted != site.name:
        raise ApiError(403, "invalid_key", f"the key is not the secret key of site '{wanted[:100]}'")
    visitor_id = visitor_id_of(query.get("visitor_id"))
    if visitor_id is None:
        raise ApiError(400, "invalid_visitor_id", "visitor_id is required: the e-mail is for one visitor")
    runtime = email_runtime(state)
    slot = slots_of(runtime, [request.path_params["slot"]])[0][0]
    base = base_url_of(query.get("base_url"), site.origins)
    services = state.services
    store = services.store
    consent = await store.consent(site.name, visitor_id) if store is not None else None
    body: dict[str, Any] = {"consent": consent} if consent else {}
    if query.get("tz"):
        body["timezone"] = query["tz"]
    # No request headers: the caller is the e-mail service, not the visitor's browser.
    ctx = resolve_context(
        body_context=body, headers={}, peer=None, config=runtime.config, site=site, allow_simulation=False
    )
    known = visitor_id if ctx.consent.identifier_allowed else None  # consent none: nobody in particular
    env = await load_env(services, runtime, site, ctx, known)
    block = (await render_page(env, site, [slot], known, state.metrics))[slot.name]
    html = email_safe(block["html"], base)
    headers = {**HEADERS, "X-Slotwise-Variant": block["variant"]}
    return Response(html, media_type="text/html; charset=utf-8", headers=headers)


ROUTES = [Route("/v1/email/{slot}", email_block, methods=["GET"])]


def email_paths() -> dict[str, dict[str, Any]]:
    from slotwise.gateway.http.openapi import ADMIN, error_responses

    def query(name: str, description: str, required: bool = False) -> dict[str, Any]:
        return {
            "name": name,
            "in": "query",
            "required": required,
            "description": description,
            "schema": {"type": "string"},
        }

    return {
        "/v1/email/{slot}": {
            "get": {
                "summary": "One slot for one visitor as e-mail-safe HTML (tables, inline CSS, absolute URLs)",
                "security": ADMIN,
                "parameters": [
                    {"name": "slot", "in": "path", "required": True, "schema": {"type": "string"}},
                    query("site", "the site (its secret key authenticates)", True),
                    query("visitor_id", "the visitor the e-mail goes to", True),
                    query(
                        "base_url",
                        "absolute http(s) URL relative links resolve against (default: the site's first origin)",
                    ),
                    query("tz", "the visitor's IANA time zone (default: the site's)"),
                ],
                "responses": {
                    "200": {
                        "description": "The block's HTML",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    },
                    **error_responses(400, 401, 403, 404),
                },
            }
        }
    }
