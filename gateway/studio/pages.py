# SPDX-License-Identifier: Apache-2.0
"""Studio routes: login, overview, versions and rollback, YAML export/import, users, audit."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from slotwise.gateway.config.loader import ConfigError
from slotwise.gateway.studio import changes
from slotwise.gateway.studio.auth import add_user, check_password, safe_next
from slotwise.gateway.studio.store import ROLES
from slotwise.gateway.studio.web import HERE, Denied, audit, page, read_form, require, sessions, studio

Handler = Callable[[Request], Awaitable[Response]]


def view(fn: Handler) -> Handler:
    @functools.wraps(fn)
    async def run(request: Request) -> Response:
        try:
            return await fn(request)
        except Denied as exc:
            return exc.response
        except ConfigError as exc:
            return page(request, "error.html", 409, errors=exc.errors)

    return run


@view
async def login_form(request: Request) -> Response:
    target = safe_next(request.query_params.get("next"))
    return sessions(request).login_page(request, lambda t: page(request, "login.html", login_token=t, next=target))


@view
async def login(request: Request) -> Response:
    form = await read_form(request, None)
    auth = sessions(request)
    target = safe_next(form.get("next"))
    name = form.get("user", "")[:64]
    keys = [f"ip:{request.client.host if request.client else '-'}", f"user:{name}"]
    limiter = request.app.state.studio_limiter
    error = None
    if not auth.login_token_ok(request, form.get("csrf", "")):
        error, status = "The form expired; please try again.", 403
    elif limiter.blocked(keys):
        error, status = "Too many failed logins; wait a few minutes.", 429
    else:
        user = studio(request).get_user(name)
        if check_password(user, form.get("password", "")) and user is not None:
            limiter.succeeded(keys)
            response = RedirectResponse(target, status_code=303)
            auth.start(response, request, user)
            studio(request).audit(user.name, "login", "")
            return response
        limiter.failed(keys)
        error, status = "Wrong user name or password.", 401
    return auth.login_page(
        request,
        lambda t: page(request, "login.html", status, login_token=t, error=error, next=target, user=name),
    )


@view
async def logout(request: Request) -> Response:
    session = require(request)
    await read_form(request, session)
    response = RedirectResponse("/studio/login", status_code=303)
    sessions(request).end(response, request)
    return response


def _slot_stats(request: Request) -> list[dict[str, Any]]:
    metrics = request.app.state.metrics
    fallbacks: dict[str, float] = {}
    for family in metrics.fallbacks.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                slot = sample.labels["slot"]
                fallbacks[slot] = fallbacks.get(slot, 0) + sample.value
    runtime = request.app.state.runtime
    return [
        {"name": name, "variants": len(slot.variants), "fallbacks": int(fallbacks.get(name, 0))}
        for name, slot in runtime.config.slots.items()
    ]


def _latency(request: Request) -> dict[str, Any]:
    """Render-time histogram and its p99 (upper bucket bound), from the app's metrics."""
    buckets = request.app.state.metrics.render_seconds.cumulative()
    total = buckets[-1][1] if buckets else 0
    p99 = next((le for le, count in buckets if total and count >= 0.99 * total), None)
    finite = [b for b in buckets if b[0] != float("inf")]  # JSON has no Infinity
    return {"total": int(total), "p99_ms": None if p99 in (None, float("inf")) else p99 * 1000, "buckets": finite}


def _alerts(request: Request) -> dict[str, Any]:
    """What fires now and the latest notices, from this process's alerter."""
    settings = getattr(request.app.state.runtime.config, "alerts", None)
    alerter = getattr(request.app.state, "alerter", None)
    if settings is None or alerter is None:
        return {"configured": False}
    firing = sorted(alerter.firing.values(), key=lambda a: a.name)
    recent = list(reversed(alerter.recent))[:10]
    return {
        "configured": True,
        "firing": firing,
        "recent": recent,
        "rules": len(settings.rules),
        "every": settings.every_seconds,
    }


@view
async def overview(request: Request) -> Response:
    return await _overview(request)


async def _overview(request: Request, tested: dict[str, str | None] | None = None) -> Response:
    session = require(request)
    metrics = request.app.state.metrics
    return page(
        request,
        "overview.html",
        csrf=session["csrf"],
        tested=tested,
        alerts=_alerts(request),
        slots=_slot_stats(request),
        latency=_latency(request),
        outcomes=dict(sorted(metrics.slot_outcomes.items())),
        versions=studio(request).versions(5),
    )


@view
async def test_alert(request: Request) -> Response:
    """A test alert to every channel of the `alerts` section; the overview shows each result."""
    session = require(request, "editor")
    await read_form(request, session)
    alerter = getattr(request.app.state, "alerter", None)
    results = await alerter.test() if alerter is not None else {}
    audit(request, session, "alerts", f"test alert to {len(results)} channel(s)")
    return await _overview(request, results)


@view
async def versions(request: Request) -> Response:
    session = require(request)
    return page(request, "versions.html", versions=studio(request).versions(50), csrf=session["csrf"])


@view
async def rollback(request: Request) -> Response:
    session = require(request, "editor")
    form = await read_form(request, session)
    number = int(request.path_params["number"])
    outcome = await changes.rollback(request.app, studio(request), session["user"], number)
    if not outcome.ok:
        return page(request, "error.html", 422, errors=outcome.errors)
    return RedirectResponse(safe_next(form.get("next") or "/studio/versions"), status_code=303)


@view
async def export_yaml(request: Request) -> Response:
    session = require(request)
    audit(request, session, "export", "segments and slots")
    text = changes.export_text(request.app)
    headers = {"Content-Disposition": 'attachment; filename="slotwise-studio.yaml"'}
    return Response(text, media_type="application/yaml; charset=utf-8", headers=headers)


@view
async def import_yaml(request: Request) -> Response:
    session = require(request, "editor")
    form = await read_form(request, session)
    data, errors = changes.import_data(request.app, form.get("yaml", ""))
    if data is not None:
        outcome = await changes.apply(request.app, studio(request), session["user"], "import YAML", data)
        if outcome.ok:
            return RedirectResponse("/studio/versions", status_code=303)
        errors = outcome.errors
    return page(
        request,
        "versions.html",
        422,
        versions=studio(request).versions(50),
        csrf=session["csrf"],
        errors=errors,
        yaml=form.get("yaml", ""),
    )


def _user_change(request: Request, session: dict[str, Any], form: dict[str, str]) -> str | None:
    """Add, change or remove a user; the error message, or None when done (and audited)."""
    name = form.get("name", "")
    if form.get("action") == "delete":
        if name == session["user"]:
            return "you cannot remove your own account"
        if not studio(request).delete_user(name):
            return f"no user {name[:64]!r}"
        audit(request, session, "user", f"removed {name}")
        return None
    try:
        add_user(studio(request), name, form.get("role", ""), form.get("password", ""))
    except ValueError as exc:
        return str(exc)
    audit(request, session, "user", f"set {name} as {form['role']}")
    return None


@view
async def users(request: Request) -> Response:
    session = require(request, "admin")
    errors: list[str] = []
    if request.method == "POST":
        error = _user_change(request, session, await read_form(request, session))
        if error is None:
            return RedirectResponse("/studio/users", status_code=303)
        errors.append(error)
    return page(
        request,
        "users.html",
        422 if errors else 200,
        users=studio(request).users(),
        roles=ROLES,
        csrf=session["csrf"],
        errors=errors,
    )


@view
async def audit_page(request: Request) -> Response:
    require(request, "admin")
    return page(request, "audit.html", rows=studio(request).audit_log(200))


def routes() -> list[Any]:
    """One mount: the studio is a web app for people, not part of the HTTP API (nor its OpenAPI).
    `/studio` itself redirects to `/studio/`."""
    from slotwise.gateway.studio import experiments, insights, models, segments, slots

    inner = [
        Route("/", overview, methods=["GET"]),
        Route("/alerts/test", test_alert, methods=["POST"]),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/versions", versions, methods=["GET"]),
        Route("/versions/{number:int}/rollback", rollback, methods=["POST"]),
        Route("/export.yaml", export_yaml, methods=["GET"]),
        Route("/import", import_yaml, methods=["POST"]),
        Route("/users", users, methods=["GET", "POST"]),
        Route("/audit", audit_page, methods=["GET"]),
        *slots.ROUTES,
        *segments.ROUTES,
        *experiments.ROUTES,
        *insights.ROUTES,
        *models.ROUTES,
        Mount("/static", StaticFiles(directory=HERE / "static"), name="studio-static"),
    ]
    return [Mount("/studio", routes=inner)]
