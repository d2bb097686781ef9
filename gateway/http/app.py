# SPDX-License-Identifier: Apache-2.0
"""The Starlette application: routes, error handling, CORS preflight, lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slotwise.gateway.alerts.alerter import start_alerter, stop_alerter
from slotwise.gateway.config.loader import Config
from slotwise.gateway.config.registries import install_defaults
from slotwise.gateway.http import admin_routes as admin
from slotwise.gateway.http import authoring_routes, bandit_routes, email_routes, measure_routes, openapi, ops_routes
from slotwise.gateway.http import event_routes as eventroutes
from slotwise.gateway.http import render_routes as api
from slotwise.gateway.http.errors import ApiError, error_response
from slotwise.gateway.ops.metrics import Metrics
from slotwise.gateway.serving.reload import reload_config
from slotwise.gateway.serving.retrain_schedule import start_schedule
from slotwise.gateway.serving.runtime import build_runtime, settle_heap
from slotwise.gateway.serving.services import Services, build_services, close_services
from slotwise.gateway.serving.sync import file_sha, start_sync
from slotwise.gateway.studio.follow import start_follower
from slotwise.gateway.studio.pages import routes as studio_routes
from slotwise.gateway.studio.web import SecurityHeaders

log = logging.getLogger("slotwise")


def _route_label(path: str) -> str:
    """A bounded label for metrics: route templates, never raw ids."""
    parts = path.split("/")
    if path.startswith("/v1/slots/") and len(parts) > 3:
        return "/v1/slots/{slot}/fragment"
    if path.startswith("/v1/visitors/") and len(parts) > 3:
        return "/v1/visitors/{id}" + ("/consent" if path.endswith("/consent") else "")
    if path.startswith("/v1/admin/"):
        return "/v1/admin"
    if path.startswith("/studio"):
        return "/studio"
    return path if path in KNOWN_PATHS else "other"


KNOWN_PATHS = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/v1/render",
    "/v1/slots",
    "/v1/client.js",
    "/v1/events",
    "/admin",
    "/demo",
}


class GatewayMiddleware:
    """Counts requests per route and status (POST /v1/render: `Gateway` does), and answers CORS
    preflights for /v1/ routes (each route then checks the request's origin against its own
    site's origins)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        counter = state.metrics.requests
        label = _route_label(scope["path"])
        if scope["method"] == "OPTIONS" and scope["path"].startswith("/v1/"):
            headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
            origin = headers.get("origin")
            sites = state.runtime.config.sites.values()
            allowed = origin is not None and any(origin in s.origins or "*" in s.origins for s in sites)
            out = {"Vary": "Origin"}
            if allowed and origin is not None:
                out.update(
                    {
                        "Access-Control-Allow-Origin": origin,
                        "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
                        "Access-Control-Allow-Headers": "Content-Type, X-Slotwise-Key, Authorization",
                        "Access-Control-Max-Age": "600",
                    }
                )
            status = 204 if allowed else 403
            counter[(label, str(status))] += 1
            await Response(status_code=status, headers=out)(scope, receive, send)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                counter[(label, str(message["status"]))] += 1
            await send(message)

        await self.app(scope, receive, counting_send)


class AppState(State):
    """`app.state` whose attributes are also plain ones: Starlette's `State` answers every read
    in Python (`__getattr__` over its dict, about 20 times a plain attribute's cost), and a render
    reads `app.state` seven times. Its dict stays as Starlette's (items, iteration, `len`)."""

    def __setattr__(self, key: str, value: Any) -> None:
        super().__setattr__(key, value)
        object.__setattr__(self, key, value)

    def __delattr__(self, key: str) -> None:
        super().__delattr__(key)
        object.__delattr__(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, key, value)

    def __delitem__(self, key: str) -> None:
        delattr(self, key)


class Gateway(Starlette):
    """The app: Starlette's, except that POST /v1/render goes straight to its handler. Starlette's
    own call, its error middleware and ours (a closure per request to count the status) cost
    about a tenth of a cached render; `render_direct` answers every error itself and says which
    status it sent, counted here as the middleware would."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/render" and scope["method"] == "POST":
            scope["app"] = self
            status = await api.render_direct(scope, receive, send)
            if status is not None:
                self.state.metrics.requests[("/v1/render", str(status))] += 1
            return
        await super().__call__(scope, receive, send)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    return error_response(
        exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail), dict(exc.headers or {})
    )


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path)
    return error_response(500, "internal_error", "internal error")


def _reload_soon(app: Starlette) -> None:
    """SIGHUP: reload in a task (it may open a store); the reference keeps the task alive."""
    app.state.reload_task = asyncio.get_running_loop().create_task(reload_config(app))


def create_app(
    config: Config, config_path: str | Path | None = None, extra_routes: list[Any] | None = None
) -> Starlette:
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.services = await build_services(config)
        app.state.sync = await start_sync(app, app.state.services.store)  # replicas on one Redis
        app.state.retrain = start_schedule(app, config.retrain)  # off unless retrain.every is set
        alerter = app.state.alerter = await start_alerter(app, app.state.services.store)  # off the render path
        follower = app.state.follower = await start_follower(app)  # studio versions saved by any replica
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
            # SIGHUP reloads the configuration (only possible when serving from the main thread).
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, _reload_soon, app)
        settle_heap()  # the startup's objects out of the collector's way (serving/runtime.py)
        try:
            yield
        finally:
            await stop_alerter(alerter)  # this lifespan's own (tests run several on one app)
            if follower is not None:
                await follower.close()
            if app.state.retrain is not None:
                await app.state.retrain.close()
            if app.state.sync is not None:
                await app.state.sync.close()
            served = getattr(app.state, "served_counter", None)
            if served is not None:  # its last second of counts, while the store is open
                await served.close(app.state.services.store)
            await close_services(app.state.services)
            if getattr(app.state, "studio_store", None) is not None:
                app.state.studio_store.close()

    install_defaults()  # expression names and strategies, from explicit lists
    routes = [
        *api.ROUTES,
        *ops_routes.ROUTES,
        *eventroutes.ROUTES,
        *admin.ROUTES,
        *authoring_routes.ROUTES,
        *measure_routes.ROUTES,
        *bandit_routes.ROUTES,
        *email_routes.ROUTES,
        openapi.openapi_route(
            [
                openapi.CORE_PATHS,
                openapi.EVENT_PATHS,
                openapi.ADMIN_PATHS,
                measure_routes.measure_paths(),
                bandit_routes.bandit_paths(),
                email_routes.email_paths(),
            ]
        ),
        *(extra_routes or []),
        *studio_routes(),
    ]
    app = Gateway(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _server_error},
    )
    app.state = AppState()
    app.state.metrics = metrics
    app.state.config_path = Path(config_path) if config_path else config.source
    app.state.config_sha = file_sha(app.state.config_path)  # what serves now (studio versions compare)
    app.state.runtime = build_runtime(config, metrics)
    app.state.services = Services()  # replaced by the lifespan's services
    app.add_middleware(SecurityHeaders)  # CSP and friends on /studio pages
    app.add_middleware(GatewayMiddleware)
    return app
