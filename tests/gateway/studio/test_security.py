# SPDX-License-Identifier: Apache-2.0
"""Studio security: roles on every route, CSRF, session fixation, open redirects, XSS, CSP, keys."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from slotwise.gateway.studio.auth import COOKIE, safe_next
from tests.gateway.studio.conftest import PASSWORD, login, token_of

# (method, path, least role); every studio route but login and static files
ROUTES = [
    ("GET", "/studio/", "viewer"),
    ("GET", "/studio/slots", "viewer"),
    ("GET", "/studio/slots/hero", "viewer"),
    ("GET", "/studio/slots/hero/preview", "viewer"),
    ("GET", "/studio/segments", "viewer"),
    ("GET", "/studio/segments/check?rule=true", "viewer"),
    ("GET", "/studio/versions", "viewer"),
    ("GET", "/studio/experiments", "viewer"),
    ("POST", "/studio/experiments", "editor"),
    ("POST", "/studio/alerts/test", "editor"),
    ("GET", "/studio/kpis", "viewer"),
    ("GET", "/studio/bandits", "viewer"),
    ("GET", "/studio/models", "viewer"),
    ("POST", "/studio/models", "editor"),
    ("GET", "/studio/export.yaml", "viewer"),
    ("GET", "/studio/users", "admin"),
    ("GET", "/studio/audit", "admin"),
    ("POST", "/studio/logout", "viewer"),
    ("POST", "/studio/slots/hero/variants", "editor"),
    ("POST", "/studio/segments", "editor"),
    ("POST", "/studio/versions/1/rollback", "editor"),
    ("POST", "/studio/import", "editor"),
    ("POST", "/studio/users", "admin"),
]
ORDER = ["viewer", "editor", "admin"]


def test_the_route_table_covers_every_studio_route(app_client: Callable[[], TestClient]) -> None:
    (mount,) = [r for r in app_client().app.routes if getattr(r, "path", "") == "/studio"]  # type: ignore[attr-defined]
    mounted = {
        (m, "/studio" + r.path) for r in mount.routes for m in (getattr(r, "methods", None) or ()) if m != "HEAD"
    }
    mounted -= {("GET", "/studio/login"), ("POST", "/studio/login")}
    listed = {(m, p.split("?")[0].replace("/hero", "/{name}").replace("/1/", "/{number:int}/")) for m, p, _ in ROUTES}
    assert mounted == listed


def test_the_bare_studio_path_leads_to_the_overview(app_client: Callable[[], TestClient]) -> None:
    r = app_client().get("/studio", follow_redirects=True)
    assert r.url.path == "/studio/login" and r.status_code == 200


@pytest.mark.parametrize(("method", "path", "role"), ROUTES)
def test_anonymous_users_are_refused(app_client: Callable[[], TestClient], method: str, path: str, role: str) -> None:
    r = app_client().request(method, path, follow_redirects=False)
    if method == "GET":
        assert r.status_code == 303 and r.headers["location"].startswith("/studio/login?next=/studio")
    else:
        assert r.status_code == 401


@pytest.mark.parametrize(("method", "path", "role"), [r for r in ROUTES if r[2] != "viewer"])
def test_lower_roles_are_refused(as_role: Callable[[str], TestClient], method: str, path: str, role: str) -> None:
    for weaker in ORDER[: ORDER.index(role)]:
        client = as_role(weaker)
        csrf = token_of(client.get("/studio/").text)
        r = client.request(method, path, data={"csrf": csrf} if method == "POST" else None, follow_redirects=False)
        assert r.status_code == 403, (weaker, path)
        assert "needs the" in r.text


def test_every_form_needs_the_session_csrf_token(as_role: Callable[[str], TestClient], config_file: Path) -> None:
    client = as_role("admin")
    before = config_file.read_text()
    form = {"name": "night", "when": "local.hour >= 22", "etag": ""}
    for token in (None, "", "forged", token_of(as_role("editor").get("/studio/").text)):
        data = form if token is None else {**form, "csrf": token}
        r = client.post("/studio/segments", data=data, follow_redirects=False)
        assert r.status_code == 403 and "security token" in r.text
    for path in (
        "/studio/users",
        "/studio/import",
        "/studio/slots/hero/variants",
        "/studio/models",
        "/studio/alerts/test",
        "/studio/logout",
    ):
        assert client.post(path, data={"csrf": "forged"}, follow_redirects=False).status_code == 403
    assert config_file.read_text() == before
    assert client.get("/studio/").status_code == 200  # still logged in: the forged logout did nothing


def test_login_form_needs_its_own_token(app_client: Callable[[], TestClient]) -> None:
    client = app_client()
    r = client.post("/studio/login", data={"user": "admin", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403 and COOKIE not in r.cookies
    client.get("/studio/login")  # the cookie alone is not enough either
    r = client.post("/studio/login", data={"csrf": "guess", "user": "admin", "password": PASSWORD})
    assert r.status_code == 403


def plant(client: TestClient, value: str) -> None:
    client.cookies.clear()
    client.cookies.set(COOKIE, value, domain="127.0.0.1", path="/studio")


def test_login_issues_a_fresh_session_id(app_client: Callable[[], TestClient]) -> None:
    attacker = app_client()
    assert login(attacker, "viewer").status_code == 303
    planted = attacker.cookies[COOKIE]
    victim = app_client()
    plant(victim, planted)
    assert login(victim, "admin").status_code == 303
    assert victim.cookies[COOKIE] != planted
    assert victim.get("/studio/users").status_code == 200
    # the planted id was dropped at the victim's login: it grants nothing to the attacker
    assert attacker.get("/studio/users", follow_redirects=False).status_code == 303


def test_logout_ends_the_session_on_the_server(as_role: Callable[[str], TestClient]) -> None:
    client = as_role("editor")
    cookie = client.cookies[COOKIE]
    client.post("/studio/logout", data={"csrf": token_of(client.get("/studio/").text)})
    plant(client, cookie)
    assert client.get("/studio/", follow_redirects=False).status_code == 303


def test_a_tampered_cookie_is_ignored(as_role: Callable[[str], TestClient]) -> None:
    client = as_role("admin")
    value = client.cookies[COOKIE]
    plant(client, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert client.get("/studio/", follow_redirects=False).status_code == 303


def test_cookie_flags(app_client: Callable[[], TestClient], config_file: Path) -> None:
    r = login(app_client(), "viewer")
    header = r.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=strict" in header and "path=/studio" in header
    assert "secure" not in header  # loopback: plain http works for a developer
    remote = TestClient(app_client().app, base_url="https://studio.example")
    with remote:
        header = login(remote, "viewer").headers["set-cookie"].lower()
    assert "secure" in header


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/studio",
        "/\\evil.example",
        "javascript:alert(1)",
        "/studio\r\nSet-Cookie: x=1",
        "http:/studio",
        "/other",
    ],
)
def test_redirects_after_login_stay_in_the_studio(app_client: Callable[[], TestClient], target: str) -> None:
    r = login(app_client(), "viewer", next_=target)
    assert r.status_code == 303 and r.headers["location"] == "/studio/"


def test_redirect_to_a_studio_page_is_kept() -> None:
    assert safe_next(None) == safe_next("") == "/studio/"
    assert safe_next("/studio/slots/hero?device=mobile") == "/studio/slots/hero?device=mobile"


def test_login_is_rate_limited(app_client: Callable[[], TestClient]) -> None:
    client = app_client()
    for _ in range(5):
        assert login(client, "admin", "wrong password").status_code == 401
    r = login(client, "admin")
    assert r.status_code == 429 and COOKIE not in r.cookies
    assert login(app_client(), "editor").status_code == 429  # same address, other user: still limited


def test_unknown_user_and_wrong_password_read_the_same(app_client: Callable[[], TestClient]) -> None:
    a, b = login(app_client(), "nobody"), login(app_client(), "admin", "wrong password")
    assert a.status_code == b.status_code == 401
    assert "Wrong user name or password." in a.text and "Wrong user name or password." in b.text


def _pages(client: TestClient) -> dict[str, str]:
    paths = ["/studio/", "/studio/slots", "/studio/slots/hero", "/studio/segments", "/studio/versions"]
    paths += ["/studio/experiments", "/studio/kpis", "/studio/kpis?slot=hero", "/studio/bandits", "/studio/models"]
    paths += ["/studio/users", "/studio/audit", "/studio/slots/hero/preview", "/studio/export.yaml"]
    return {p: client.get(p).text for p in paths}


def test_strict_csp_and_no_inline_script_on_any_page(as_role: Callable[[str], TestClient]) -> None:
    client = as_role("admin")
    for path in [
        "/studio/",
        "/studio/slots/hero",
        "/studio/segments",
        "/studio/login",
        "/studio/kpis",
        "/studio/models",
    ]:
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", r.text)), path
        assert not re.search(r"\son\w+=", r.text), path  # no inline event handlers


def test_no_key_is_ever_sent_to_the_browser(as_role: Callable[[str], TestClient]) -> None:
    for path, text in _pages(as_role("admin")).items():
        assert "sk_shop" not in text and "pk_shop" not in text, path


XSS = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>"


def test_xss_payloads_are_escaped_on_every_page(as_role: Callable[[str], TestClient]) -> None:
    client = as_role("admin")
    csrf = token_of(client.get("/studio/").text)
    r = client.post(
        "/studio/segments",
        data={
            "csrf": csrf,
            "etag": "",
            "name": "evil",
            "when": f"page.path == '{XSS.replace(chr(39), '')}'",
            "description": XSS,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get("/studio/slots/hero").text
    etag = re.search(r'name="etag" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    fields = {"f_banner_title": XSS, "f_banner_text": XSS, "f_banner_cta": XSS, "f_banner_url": "/x"}
    r = client.post(
        "/studio/slots/hero/variants",
        data={"csrf": csrf, "etag": etag, "index": "new", "id": "x1", "when": "evil", "type": "banner", **fields},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    imported = client.post("/studio/import", data={"csrf": csrf, "yaml": f"slots: [{XSS}"})  # echoed on error
    assert imported.status_code == 422
    echoed = login(client, XSS, "wrong password", next_="/studio/" + XSS)  # the login form echoes the name
    pages = {
        **_pages(client),
        "login": echoed.text,
        "import": imported.text,
        "preview": client.get("/studio/slots/hero?segment=evil").text,
    }
    for path, text in pages.items():
        if path == "/studio/export.yaml":
            continue  # served as an attachment with a YAML type, never rendered as HTML
        assert "<script>alert(1)" not in text and "<img src=x" not in text, path
    assert "&lt;script&gt;" in pages["/studio/segments"]


def test_a_removed_user_loses_their_session_at_once(as_role: Callable[[str], TestClient]) -> None:
    editor, admin = as_role("editor"), as_role("admin")
    csrf = token_of(admin.get("/studio/users").text)
    own = admin.post("/studio/users", data={"csrf": csrf, "name": "admin", "action": "delete"})
    assert own.status_code == 422 and "your own account" in own.text
    r = admin.post("/studio/users", data={"csrf": csrf, "name": "editor", "action": "delete"}, follow_redirects=False)
    assert r.status_code == 303
    assert editor.get("/studio/", follow_redirects=False).status_code == 303
    assert "removed editor" in admin.get("/studio/audit").text
