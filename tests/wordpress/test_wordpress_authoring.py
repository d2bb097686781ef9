# SPDX-License-Identifier: Apache-2.0
"""Variants written in WordPress: a real editor (application password, the block editor's REST
API) publishes a post whose Slotwise block holds two variants and a default; the plugin sends
them to the real gateway, the page shows the right one in server mode and in Chromium in client
mode, a bad condition comes back to the post with its variant and column, and unpublishing or
deleting the post retires the slot."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from tests.wordpress import wpenv
from tests.wordpress.wpsite import GW_PORT, WP, Site, configure, dump_dom, get, slots_in, visitor_events

GATEWAY = f"http://127.0.0.1:{GW_PORT}"
SECRET = {"Authorization": f"Bearer {wpenv.SK}"}


def variant(name: str, text: str, when: str | None = None, default: bool = False) -> str:
    attrs: dict[str, Any] = {"name": name}
    if when is not None:
        attrs["when"] = when
    if default:
        attrs["isDefault"] = True
    return (
        f"<!-- wp:slotwise/variant {json.dumps(attrs)} -->\n"
        f"<!-- wp:paragraph -->\n<p>{text}</p>\n<!-- /wp:paragraph -->\n"
        "<!-- /wp:slotwise/variant -->"
    )


def content(key: str, mobile_when: str = "device.class == 'mobile'") -> str:
    inner = "\n".join(
        (
            variant("mobile", "Written for phones", mobile_when),
            variant("desktop", "Written for desktops", "device.class == 'desktop'"),
            variant("default", "Written for everyone else", default=True),
        )
    )
    intro = "<!-- wp:paragraph -->\n<p>Authored intro.</p>\n<!-- /wp:paragraph -->\n"
    return f'{intro}<!-- wp:slotwise/slot {{"key":"{key}"}} -->\n{inner}\n<!-- /wp:slotwise/slot -->'


def split_content(key: str) -> str:
    """A slot that is an experiment split: arms a and b, and the control (its default variant)."""
    inner = "\n".join(
        (variant("a", "Arm A text"), variant("b", "Arm B text"), variant("default", "Control", default=True))
    )
    return f'<!-- wp:slotwise/slot {{"key":"{key}","split":true}} -->\n{inner}\n<!-- /wp:slotwise/slot -->'


def gateway_slot(name: str) -> dict[str, Any] | None:
    config = httpx.get(f"{GATEWAY}/v1/admin/config", headers=SECRET, timeout=10).json()
    return next((s for s in config["slots"] if s["name"] == name), None)


@pytest.fixture(scope="module")
def editor() -> tuple[str, str]:
    return ("sw-editor", wpenv.user_password("sw-editor", "editor"))


def posts(auth: tuple[str, str], path: str = "", **body: Any) -> httpx.Response:
    return httpx.post(f"{WP}/?rest_route=/wp/v2/posts{path}", auth=auth, json=body, timeout=60)


def test_an_editor_publishes_two_variants_and_each_device_sees_its_own(site: Site, editor: tuple[str, str]) -> None:
    configure(GW_PORT, "server")
    made = posts(editor, title="Authored variants", status="publish", content=content("e2e1"))
    assert made.status_code == 201, made.text
    post = made.json()
    name = f"wp-{post['id']}-e2e1"
    try:
        assert post["meta"]["_slotwise_errors"] == [] and post["meta"]["_slotwise_slots"] == [name], post["meta"]
        slot = gateway_slot(name)
        assert slot is not None and [v["id"] for v in slot["variants"]] == ["mobile", "desktop"], slot
        url = f"{WP}/?p={post['id']}"
        phone, desktop = get(url, wpenv.MOBILE_UA).text, get(url, wpenv.DESKTOP_UA).text
        assert slots_in(phone)[name] == {"state": "ready", "variant": "mobile"}, slots_in(phone)
        assert slots_in(desktop)[name] == {"state": "ready", "variant": "desktop"}
        assert "Written for phones" in phone and "Written for desktops" not in phone
        assert "Written for desktops" in desktop and "Written for phones" not in desktop
        assert "Written for everyone else" not in phone + desktop
        configure(GW_PORT, "client")
        raw = get(url).text
        # Client mode: the default variant is in the page as the fallback, for every visitor.
        assert slots_in(raw)[name]["state"] == "pending" and "Written for everyone else" in raw
        assert "Written for phones" not in raw and wpenv.SK not in raw
        dom_m = dump_dom(url, site.tmp / "chrome-auth-m", wpenv.MOBILE_UA)
        dom_d = dump_dom(url, site.tmp / "chrome-auth-d", wpenv.DESKTOP_UA)
        assert slots_in(dom_m)[name] == {"state": "ready", "variant": "mobile"}, slots_in(dom_m)
        assert slots_in(dom_d)[name] == {"state": "ready", "variant": "desktop"}, slots_in(dom_d)
        assert "Written for phones" in dom_m and "Written for desktops" in dom_d
    finally:
        configure(GW_PORT, "server")
        httpx.delete(f"{WP}/?rest_route=/wp/v2/posts/{post['id']}&force=true", auth=editor, timeout=60)
    assert gateway_slot(name) is None, "deleting the post retires its slot"


def test_a_bad_condition_is_reported_on_its_variant_and_the_last_good_version_keeps_serving(
    site: Site, editor: tuple[str, str]
) -> None:
    configure(GW_PORT, "server")
    post = posts(editor, title="Authored, then broken", status="publish", content=content("e2e2")).json()
    name = f"wp-{post['id']}-e2e2"
    try:
        broken = posts(editor, f"/{post['id']}", content=content("e2e2", "device.clas == 'mobile'"))
        assert broken.status_code == 200, broken.text
        errors = broken.json()["meta"]["_slotwise_errors"]
        assert errors == [
            {
                "slot": name,
                "variant": "mobile",
                "field": "when",
                "column": 1,
                "message": "unknown name 'device.clas' at column 1",
            }
        ], errors
        assert broken.json()["meta"]["_slotwise_slots"] == [name]
        page = get(f"{WP}/?p={post['id']}", wpenv.MOBILE_UA).text
        assert slots_in(page)[name]["variant"] == "mobile", "the gateway kept the version it accepted"
        fixed = posts(editor, f"/{post['id']}", content=content("e2e2"))
        assert fixed.json()["meta"]["_slotwise_errors"] == []
        draft = posts(editor, f"/{post['id']}", status="draft")
        assert draft.status_code == 200 and draft.json()["meta"]["_slotwise_slots"] == []
        assert gateway_slot(name) is None, "unpublishing retires the slot"
        again = posts(editor, f"/{post['id']}", status="publish")
        assert again.json()["meta"]["_slotwise_slots"] == [name] and gateway_slot(name) is not None
        trashed = httpx.delete(f"{WP}/?rest_route=/wp/v2/posts/{post['id']}", auth=editor, timeout=60)
        assert trashed.status_code == 200 and trashed.json()["status"] == "trash", trashed.text
        assert gateway_slot(name) is None, "trashing retires the slot"
    finally:
        httpx.delete(f"{WP}/?rest_route=/wp/v2/posts/{post['id']}&force=true", auth=editor, timeout=60)


def test_the_condition_picker_lists_the_gateways_names(site: Site, editor: tuple[str, str]) -> None:
    configure(GW_PORT, "server")
    r = httpx.get(f"{WP}/?rest_route=/slotwise/v1/names", auth=editor, timeout=30)
    assert r.status_code == 200, r.text
    assert {"name": "mobile", "description": "phones"} in r.json()["segments"]
    assert {"device.class", "local.hour", "geo.country", "referrer.host", "utm.source"} <= {
        n["name"] for n in r.json()["names"]
    }
    assert wpenv.SK not in r.text
    assert httpx.get(f"{WP}/?rest_route=/slotwise/v1/names", timeout=30).status_code == 401


def test_an_experiment_split_is_served_with_its_arm_in_the_markup(site: Site, editor: tuple[str, str]) -> None:
    """Server-rendered blocks carry experiment and arm, which client.js puts on impressions."""
    configure(GW_PORT, "server")
    post = posts(editor, title="Authored split", status="publish", content=split_content("e2e3")).json()
    name = f"wp-{post['id']}-e2e3"
    try:
        assert post["meta"]["_slotwise_errors"] == [], post["meta"]
        page = get(f"{WP}/?p={post['id']}").text
        tag = re.search(rf'<div[^>]*data-slotwise-slot="{name}"[^>]*>', page)
        assert tag, page[-2000:]
        assert f'data-slotwise-experiment="{name}"' in tag.group(0)
        arm = re.search(r'data-slotwise-arm="([ab])"', tag.group(0))
        assert arm and f"Arm {arm.group(1).upper()} text" in page, tag.group(0)
    finally:
        httpx.delete(f"{WP}/?rest_route=/wp/v2/posts/{post['id']}&force=true", auth=editor, timeout=60)


def test_server_rendered_split_sends_its_impression_through_client_js(
    site: Site, editor: tuple[str, str], browser: Any
) -> None:
    """With `impressions` on, client.js runs on server-rendered pages: the impression carries the
    experiment and arm from the markup, and the page view is counted once (by client.js)."""
    configure(GW_PORT, "server")
    wpenv.set_options(impressions=True)
    post = posts(editor, title="Split with impressions", status="publish", content=split_content("e2e4")).json()
    name = f"wp-{post['id']}-e2e4"
    try:
        page = browser.new_page(user_agent=wpenv.DESKTOP_UA)
        page.goto(f"{WP}/?p={post['id']}")
        page.wait_for_function("() => window.Slotwise && window.Slotwise.version", timeout=30_000)
        arm = page.get_attribute(f'[data-slotwise-slot="{name}"]', "data-slotwise-arm")
        page.wait_for_timeout(2500)  # half visible for one continuous second, then the batch
        page.evaluate("() => window.Slotwise.flush()")
        vid = next(c["value"] for c in page.context.cookies() if c["name"] == "slotwise_vid")
        page.close()
        events = visitor_events(vid, 2)
        # The gateway logs its own "served" exposure at render; the viewable one is client.js's.
        impressions = [e for e in events if e["type"] == "impression" and e["properties"].get("kind") != "served"]
        assert arm in {"a", "b"} and len(impressions) == 1, events
        props = impressions[0]["properties"]
        assert (props["slot"], props["experiment"], props["arm"]) == (name, name, arm), props
        assert [e["type"] for e in events].count("item_view") + [e["type"] for e in events].count("page_view") == 1
    finally:
        wpenv.set_options(impressions=False)
        httpx.delete(f"{WP}/?rest_route=/wp/v2/posts/{post['id']}&force=true", auth=editor, timeout=60)
