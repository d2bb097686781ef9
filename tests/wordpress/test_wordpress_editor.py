# SPDX-License-Identifier: Apache-2.0
"""The plugin's editor and admin side in a real WordPress, and the defects found on real sites
(images, pages without slots, wpautop, a down gateway in client mode, preview rights)."""

from __future__ import annotations

import json
import re

import httpx

from tests.wordpress import wpenv
from tests.wordpress.wpsite import DOWN_PORT, GW_PORT, WP, Site, configure, dump_dom, events_posted, get, slots_in


def test_editor_routes_require_a_logged_in_editor(site: Site) -> None:
    for method, route in (("GET", "/slotwise/v1/slots"), ("POST", "/slotwise/v1/preview")):
        r = httpx.request(method, f"{WP}/?rest_route={route}", json={"slot": "home-hero"}, timeout=30)
        assert r.status_code == 401, r.text


def test_editor_routes_list_slots_and_preview_a_sample_context(site: Site) -> None:
    configure(GW_PORT, "server")
    auth = ("admin", wpenv.app_password())
    slots = httpx.get(f"{WP}/?rest_route=/slotwise/v1/slots", auth=auth, timeout=30)
    assert slots.status_code == 200, slots.text
    assert {s["name"] for s in slots.json()["slots"]} == {"home-hero", "welcome", "recommendations"}
    previews = {}
    for device in ("mobile", "desktop"):
        r = httpx.post(
            f"{WP}/?rest_route=/slotwise/v1/preview",
            auth=auth,
            timeout=30,
            json={"slot": "home-hero", "device": device, "hour": 23, "weekday": "sat"},
        )
        assert r.status_code == 200, r.text
        previews[device] = r.json()
        assert wpenv.SK not in r.text
    # The sample context is simulated by the gateway, which only the secret key allows here.
    assert previews["mobile"]["variant"] == "mobile" and "Hello phone visitor" in previews["mobile"]["html"]
    assert previews["desktop"]["variant"] == "default"
    bad = httpx.post(f"{WP}/?rest_route=/slotwise/v1/preview", auth=auth, timeout=30, json={"slot": "<x>"})
    assert bad.status_code == 400


def test_connection_check_reports_health_and_failure(site: Site) -> None:
    code = "$h = (new Slotwise_Gateway())->health(); echo wp_json_encode($h);"
    configure(GW_PORT, "server")
    ok = json.loads(wpenv.php_eval(code))
    assert ok["ok"] is True and "3 slot(s)" in ok["message"]
    configure(DOWN_PORT, "server")
    try:
        down = json.loads(wpenv.php_eval(code))
    finally:
        configure(GW_PORT, "server")
    assert down["ok"] is False and f"127.0.0.1:{DOWN_PORT}" in down["message"]


def test_settings_page_has_nonces_and_never_prints_the_secret(site: Site) -> None:
    configure(GW_PORT, "server")
    page = wpenv.php_eval(
        'require_once ABSPATH . "wp-admin/includes/admin.php"; wp_set_current_user(1);'
        'set_current_screen("settings_page_slotwise");'
        "Slotwise_Admin::render();",
        admin=True,
    )
    assert 'name="slotwise_settings[gateway_url]"' in page and f'value="http://127.0.0.1:{GW_PORT}"' in page
    assert "name='option_page' value='slotwise'" in page and 'name="_wpnonce"' in page  # settings form
    assert 'name="action" value="slotwise_test"' in page and page.count('name="_wpnonce"') == 2
    assert wpenv.SK not in page and "(stored; leave empty to keep)" in page
    nobody = wpenv.php_eval('wp_set_current_user(0); Slotwise_Admin::render(); echo "end";', admin=True)
    assert nobody == "end"  # no capability, no page


def test_server_mode_keeps_the_gateways_data_images(site: Site) -> None:
    """Defect 9: kses dropped `data:` (each view then asked WordPress for /image/svg+xml,...)."""
    configure(GW_PORT, "server")
    page = get(site.url("slotwise-block"), wpenv.DESKTOP_UA).text
    assert f'src="{wpenv.HERO_IMAGE}"' in page, re.findall(r"<img[^>]*>", page)
    assert 'src="image/svg+xml' not in page
    auth = ("admin", wpenv.app_password())
    r = httpx.post(
        f"{WP}/?rest_route=/slotwise/v1/preview", auth=auth, timeout=30, json={"slot": "home-hero", "device": "desktop"}
    )
    assert r.status_code == 200 and f'src="{wpenv.HERO_IMAGE}"' in r.json()["html"], r.text


def test_server_mode_leaves_pages_without_slots_alone(site: Site) -> None:
    """Defect 10: no cookie, no private caching headers, no event on a page with no slot."""
    configure(GW_PORT, "server")
    before = events_posted()
    plain = get(site.url("slotwise-none"))
    assert plain.status_code == 200 and "Nothing personalized here." in plain.text
    assert "slotwise_vid" not in plain.headers.get("set-cookie", "")
    assert "private" not in plain.headers.get("cache-control", "")
    assert "User-Agent" not in plain.headers.get("vary", "")
    assert "slotwise" not in plain.headers.get("server-timing", "")
    assert events_posted() == before
    with_slots = get(site.url("slotwise-block"))
    assert "slotwise_vid" in with_slots.headers.get("set-cookie", "")
    assert "private" in with_slots.headers["cache-control"]
    assert events_posted() > before, "the page with slots still counts its view"


def test_classic_shortcode_survives_wpautop(site: Site) -> None:
    """Defect 11: the div came out as `<div ...></p><p>...</p><p></div>` after wpautop."""
    for mode, state in (("server", "ready"), ("client", "pending")):
        configure(GW_PORT, mode)
        try:
            page = get(site.url("slotwise-classic")).text
        finally:
            configure(GW_PORT, "server")
        m = re.search(r'(.{0,12})<div class="slotwise-slot slotwise-shortcode"[^>]*>(.*?)</div>(.{0,12})', page, re.S)
        assert m, page[-3000:]
        assert not m.group(1).rstrip().endswith("<p>") and not m.group(3).lstrip().startswith("</p>"), m.group(0)
        assert f'data-slotwise-state="{state}"' in m.group(0)
        inner = m.group(2).strip()
        assert not inner.startswith("</p>") and not inner.endswith("<p>"), inner
        if mode == "client":
            assert "<p>Classic fallback</p>" in inner and "<p>Second paragraph</p>" in inner
        assert "<p>Classic intro.</p>" in page and "<p>Classic outro.</p>" in page


def test_client_mode_with_the_gateway_down_settles_on_the_fallback(site: Site) -> None:
    """Defect 12: with no gateway, client.js never loads; the page's own timer settles the slots."""
    configure(DOWN_PORT, "client")
    try:
        dom = dump_dom(site.url("slotwise-block"), site.tmp / "chrome-down", wpenv.DESKTOP_UA)
    finally:
        configure(GW_PORT, "server")
    states = {name: s["state"] for name, s in slots_in(dom).items()}
    assert states == {"home-hero": "fallback", "welcome": "fallback", "recommendations": "fallback"}, states
    assert "Fallback hero" in dom


def test_only_editors_preview_with_the_secret_key(site: Site) -> None:
    """Defect 14: the simulated (secret-key) preview needs edit_others_posts, not edit_posts."""
    configure(GW_PORT, "server")
    body = {"slot": "home-hero", "device": "mobile"}
    answers = {}
    for login, role in (("sw-contributor", "contributor"), ("sw-editor", "editor")):
        auth = (login, wpenv.user_password(login, role))
        r = httpx.post(f"{WP}/?rest_route=/slotwise/v1/preview", auth=auth, timeout=30, json=body)
        assert r.status_code == 200, (role, r.text)
        answers[role] = r.json()
    assert answers["contributor"]["simulated"] is False
    assert answers["editor"]["simulated"] is True and answers["editor"]["variant"] == "mobile"


def test_no_php_warnings_from_the_plugin(site: Site) -> None:
    # Runs last (this file sorts last in the folder): every request since the site started had WP_DEBUG on.
    get(site.url("slotwise-block"))
    assert wpenv.plugin_log_lines(site.log_start) == []
