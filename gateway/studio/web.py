# SPDX-License-Identifier: Apache-2.0
"""Shared page plumbing: templates (autoescaped), the security headers, access checks, forms."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slotwise.gateway.studio import changes
from slotwise.gateway.studio.auth import LoginLimiter, Sessions, csrf_ok, role_at_least
from slotwise.gateway.studio.store import StudioStore, open_studio_store

HERE = Path(__file__).parent
FORM_LIMIT = 512 * 1024  # a form larger than this is refused with a message, not parsed
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_ENV = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))
_ENV.filters["when"] = lambda ts: time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(ts)))


class Denied(Exception):
    def __init__(self, response: Response):
        self.response = response


class SecurityHeaders:
    """Every /studio response gets the CSP and friends; a `Denied` becomes its response."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/studio"):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                extra = [
                    (k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.lower().encode() not in have
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def ensure_studio(state: Any) -> StudioStore:
    """The app's studio store, sessions and login limiter, opened on first use."""
    if getattr(state, "studio_store", None) is None:
        state.studio_store = open_studio_store(state.runtime.config, state.config_path)
        state.studio_sessions = Sessions(state.studio_store)
        state.studio_limiter = LoginLimiter()
    return state.studio_store  # type: ignore[no-any-return]


def studio(request: Request) -> StudioStore:
    return ensure_studio(request.app.state)


def sessions(request: Request) -> Sessions:
    studio(request)
    return request.app.state.studio_sessions  # type: ignore[no-any-return]


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    values.setdefault("session", getattr(request.state, "studio_session", None))
    values.setdefault("path", request.url.path)
    return HTMLResponse(_ENV.get_template(template).render(**values), status_code=status)


def fragment(name: str, **values: Any) -> str:
    return _ENV.get_template(name).render(**values)


def require(request: Request, role: str = "viewer") -> dict[str, Any]:
    """The session of a user with at least `role`; otherwise the login page or a 403."""
    session = sessions(request).current(request)
    if session is None:
        if request.method == "GET":
            target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="/")
            raise Denied(RedirectResponse(f"/studio/login?next={target}", status_code=303))
        raise Denied(HTMLResponse("login required", status_code=401))
    request.state.studio_session = session
    if not role_at_least(session["role"], role):
        raise Denied(page(request, "denied.html", 403, needed=role))
    return session


async def read_form(request: Request, session: dict[str, Any] | None) -> dict[str, str]:
    """The urlencoded form within FORM_LIMIT, its CSRF token checked against the session."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > FORM_LIMIT:
        raise Denied(_too_large(request))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            raise Denied(_too_large(request))
    try:
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=500))
    except (UnicodeDecodeError, ValueError):
        raise Denied(HTMLResponse("the form could not be read", status_code=400)) from None
    if session is not None and not csrf_ok(session, form.get("csrf")):
        raise Denied(page(request, "denied.html", 403, needed=None, csrf=True))
    return form


def _too_large(request: Request) -> HTMLResponse:
    return page(request, "error.html", 413, errors=[f"the form is over {FORM_LIMIT // 1024} KB; nothing was saved"])


def audit(request: Request, session: dict[str, Any], action: str, detail: str) -> None:
    studio(request).audit(session["user"], action, detail)


async def save_change(
    request: Request,
    session: dict[str, Any],
    message: str,
    data: dict[str, Any],
    done: str,
    refused: Callable[[list[str]], Awaitable[Response]],
) -> Response:
    """A form's edit of the configuration saved as the session's user (`changes.apply`): then a
    redirect to the page `done`; or, refused, `refused(errors)`, the form again with the errors."""
    outcome = await changes.apply(request.app, studio(request), session["user"], message, data)
    if not outcome.ok:
        return await refused(outcome.errors)
    return RedirectResponse(done, status_code=303)
