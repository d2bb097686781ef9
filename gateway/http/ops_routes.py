# SPDX-License-Identifier: Apache-2.0
"""Routes for operators and pages, not per visitor: health, readiness, metrics, the client script."""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slotwise.gateway.http.errors import ApiError, JSONResponse
from slotwise.gateway.serving.runtime import Runtime

_CLIENT_JS: bytes | None = None


async def client_js(request: Request) -> Response:
    global _CLIENT_JS
    if _CLIENT_JS is None:
        _CLIENT_JS = resources.files("slotwise.gateway").joinpath("static/client.js").read_bytes()
    return Response(
        _CLIENT_JS,
        media_type="application/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    state = request.app.state
    problems = []
    if getattr(state, "runtime", None) is None:
        problems.append("configuration not loaded")
    for name in ("store", "models"):
        part = getattr(state.services, name, None) if getattr(state, "services", None) else None
        ready = getattr(part, "ready", True)
        if part is not None and not (ready() if callable(ready) else ready):
            problems.append(f"{name} not ready")
    if problems:
        raise ApiError(503, "not_ready", "; ".join(problems))
    runtime: Runtime = state.runtime
    return JSONResponse(
        {
            "status": "ready",
            "sites": len(runtime.config.sites),
            "slots": len(runtime.config.slots),
            "catalog_items": len(runtime.catalog),
        }
    )


async def metrics(request: Request) -> Response:
    from slotwise.gateway.ops.metrics import CONTENT_TYPE

    return Response(request.app.state.metrics.export(), media_type=CONTENT_TYPE)


ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/v1/client.js", client_js, methods=["GET"]),
]
