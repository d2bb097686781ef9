# SPDX-License-Identifier: Apache-2.0
"""Admin routes (secret key as `Authorization: Bearer <key>`): debug context, config, reload."""

from __future__ import annotations

import base64
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from slotwise.gateway.config.loader import SiteConfig
from slotwise.gateway.context.request import resolve_context
from slotwise.gateway.http.errors import ApiError, JSONResponse
from slotwise.gateway.http.keys import same_secret
from slotwise.gateway.http.render_routes import _query_context, headers_of, peer_of
from slotwise.gateway.rules.expr import describe_names
from slotwise.gateway.serving.reload import reload_config
from slotwise.gateway.serving.runtime import Runtime


def admin_site(request: Request) -> SiteConfig:
    runtime: Runtime = request.app.state.runtime
    auth = request.headers.get("authorization", "")
    scheme, _, key = auth.partition(" ")
    key = key.strip()
    if scheme.lower() == "basic" and key:
        # Basic stays accepted for scripts of the retired /admin page: the password is the key.
        try:
            key = base64.b64decode(key, validate=True).decode().partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            key = ""
    elif scheme.lower() != "bearer":
        key = ""
    if not key:
        # No WWW-Authenticate: a browser must not prompt for the secret key (people use /studio).
        raise ApiError(401, "missing_key", "admin routes need 'Authorization: Bearer <secret key>'")
    for site in runtime.config.sites.values():
        if same_secret(key, site.secret_key):
            return site
    raise ApiError(403, "invalid_key", "not a secret key of any site")


async def debug_context(request: Request) -> Response:
    """How the gateway resolved this request's context: device, geo and its source, time zone, consent."""
    site = admin_site(request)
    runtime: Runtime = request.app.state.runtime
    ctx = resolve_context(
        body_context=_query_context(request.query_params),
        headers=headers_of(request),
        peer=peer_of(request),
        config=runtime.config,
        site=site,
        allow_simulation=False,
    )
    peer = peer_of(request)
    trusted = any(_in(peer, net) for net in runtime.config.trusted_proxies)
    return JSONResponse(
        {
            "site": site.name,
            "context": ctx.describe(),
            "peer_is_trusted_proxy": trusted,
            "geo_headers_configured": list(runtime.config.geo.country_headers),
        }
    )


def _in(addr: str | None, net: Any) -> bool:
    import ipaddress

    try:
        return addr is not None and ipaddress.ip_address(addr) in net
    except ValueError:
        return False


async def config_summary(request: Request) -> Response:
    site = admin_site(request)
    runtime: Runtime = request.app.state.runtime
    cfg = runtime.config
    return JSONResponse(
        {
            "site": site.name,
            "slots": [
                {
                    "name": s.name,
                    "description": s.description,
                    "default": s.default["type"],
                    "variants": [
                        {
                            "id": v.id,
                            "when": v.when.source if v.when else None,
                            "experiment": v.experiment.key if v.experiment else None,
                        }
                        for v in s.variants
                    ],
                }
                for s in cfg.slots.values()
            ],
            "segments": [
                {"name": s.name, "when": s.rule.source, "description": s.description} for s in cfg.segments.values()
            ],
            "names": describe_names(),
            "catalog_items": len(runtime.catalog),
        }
    )


async def reload(request: Request) -> Response:
    admin_site(request)
    result = await reload_config(request.app)
    if not result.ok:
        raise ApiError(422, "invalid_config", "; ".join(result.errors[:20]))
    runtime: Runtime = request.app.state.runtime
    return JSONResponse(
        {
            "status": "reloaded",
            "slots": len(runtime.config.slots),
            "catalog_items": len(runtime.catalog),
            "applied": result.applied,
        }
    )


async def reload_models(request: Request) -> Response:
    """Load new model bundle versions now; a refused bundle is listed and the old one serves."""
    admin_site(request)
    registry = getattr(request.app.state.services, "models", None)
    if registry is None:
        raise ApiError(404, "no_models", "no model registry: set models.dir in the configuration")
    report = await registry.areload()
    return JSONResponse({**report, "bundles": registry.list()})


async def dashboard(request: Request) -> Response:
    """The old admin page is retired: people use the studio (accounts, roles, no key in the
    browser); scripts keep the JSON admin API under /v1/admin with the secret key."""
    return RedirectResponse("/studio/", status_code=301)


ROUTES = [
    Route("/admin", dashboard, methods=["GET"]),
    Route("/v1/admin/debug/context", debug_context, methods=["GET"]),
    Route("/v1/admin/config", config_summary, methods=["GET"]),
    Route("/v1/admin/reload", reload, methods=["POST"]),
    Route("/v1/admin/models/reload", reload_models, methods=["POST"]),
]
