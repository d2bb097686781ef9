# SPDX-License-Identifier: Apache-2.0
"""Passwords (argon2), signed session cookies, CSRF tokens, login rate limit, safe redirects.

A session is a server-side record (user, role, CSRF token) named by a random id; the cookie
carries that id signed with the studio's secret (itsdangerous), HttpOnly, SameSite=Strict and
Secure unless the request came to a loopback host. Login always issues a fresh id, so an id
planted before login is worthless (no fixation). Forms carry the session's CSRF token; the
login form, before any session, carries a token bound to a short-lived signed cookie.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import defaultdict, deque
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from slotwise.gateway.studio.store import ROLES, StudioStore, User

COOKIE = "slotwise_studio"
LOGIN_COOKIE = "slotwise_studio_login"
SESSION_TTL = 8 * 3600
_HASHER = PasswordHasher()
_DUMMY = _HASHER.hash("not a password")  # verify against it for unknown users: same timing


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValueError("password must have at least 8 characters")
    return _HASHER.hash(password)


def check_password(user: User | None, password: str) -> bool:
    try:
        return _HASHER.verify(user.password_hash if user else _DUMMY, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def add_user(store: StudioStore, name: str, role: str, password: str) -> User:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise ValueError(f"user name {name[:64]!r}: 1-64 letters, digits or . _ - @")
    user = User(name, role, hash_password(password))
    store.put_user(user)
    return user


def role_at_least(role: str, needed: str) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


class LoginLimiter:
    """At most `limit` failed logins per client address and per user name in `window` seconds."""

    def __init__(self, limit: int = 5, window: float = 300.0):
        self.limit, self.window = limit, window
        self.failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self.failures[key]
        while q and q[0] < now - self.window:
            q.popleft()
        return q

    def blocked(self, keys: list[str], now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return any(len(self._recent(k, now)) >= self.limit for k in keys)

    def failed(self, keys: list[str]) -> None:
        for k in keys:
            self.failures[k].append(time.time())

    def succeeded(self, keys: list[str]) -> None:
        for k in keys:
            self.failures.pop(k, None)


def secure_cookie(request: Request) -> bool:
    host = (request.url.hostname or "").lower()
    return host not in {"127.0.0.1", "localhost", "::1", "testserver"}


class Sessions:
    def __init__(self, store: StudioStore):
        self.store = store
        self.signer = URLSafeTimedSerializer(store.secret(), salt="slotwise-studio-session")
        self.login_signer = URLSafeTimedSerializer(store.secret(), salt="slotwise-studio-login")

    def current(self, request: Request) -> dict[str, Any] | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            sid = self.signer.loads(raw, max_age=SESSION_TTL)
        except BadSignature:
            return None
        data = self.store.session(str(sid))
        if data is None:
            return None
        user = self.store.get_user(data["user"])
        if user is None:  # removed since login
            return None
        return {**data, "sid": sid, "role": user.role}

    def start(self, response: Response, request: Request, user: User) -> None:
        old = self.current(request)
        if old is not None:
            self.store.drop_session(old["sid"])
        sid = self.store.new_session({"user": user.name, "csrf": secrets.token_urlsafe(32)}, SESSION_TTL)
        response.set_cookie(
            COOKIE,
            self.signer.dumps(sid),
            max_age=int(SESSION_TTL),
            path="/studio",
            httponly=True,
            samesite="strict",
            secure=secure_cookie(request),
        )
        response.delete_cookie(LOGIN_COOKIE, path="/studio")

    def end(self, response: Response, request: Request) -> None:
        old = self.current(request)
        if old is not None:
            self.store.drop_session(old["sid"])
        response.delete_cookie(COOKIE, path="/studio")

    def login_page(self, request: Request, render: Any) -> Response:
        """`render(token)` builds the login page; its response carries the matching signed cookie
        (double submit: a cross-site form can neither read the token nor set the cookie)."""
        token = secrets.token_urlsafe(32)
        response: Response = render(token)
        response.set_cookie(
            LOGIN_COOKIE,
            self.login_signer.dumps(token),
            max_age=1800,
            path="/studio",
            httponly=True,
            samesite="strict",
            secure=secure_cookie(request),
        )
        return response

    def login_token_ok(self, request: Request, sent: str) -> bool:
        try:
            expected = self.login_signer.loads(request.cookies.get(LOGIN_COOKIE, ""), max_age=1800)
        except BadSignature:
            return False
        return bool(sent) and hmac.compare_digest(str(expected), sent)


def csrf_ok(session: dict[str, Any], sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(str(session["csrf"]), str(sent))


def safe_next(target: str | None) -> str:
    """Only a path inside the studio: never another host, scheme or protocol-relative URL."""
    if (
        not target
        or not target.startswith("/studio")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
    ):
        return "/studio/"
    return target
