# SPDX-License-Identifier: Apache-2.0
"""The block editor itself (WordPress 6.1's, in Chromium through Playwright) with the plugin's
plain-JS blocks: a post with authored variants loads without "invalid block" errors, the
gateway's error shows on its variant, and a slot written in the editor (the "Write variants"
button, its template, a condition set as the sidebar would) is saved and published."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import launched_chromium
from tests.wordpress import wpenv
from tests.wordpress.test_wordpress_authoring import content, posts
from tests.wordpress.wpsite import GW_PORT, WP, Site, configure

LOGIN = "sw-editor"


@pytest.fixture(scope="module")
def editor_page(site: Site) -> Iterator[tuple[Any, tuple[str, str]]]:
    auth = (LOGIN, wpenv.user_password(LOGIN, "editor"))
    password = secrets.token_hex(12)
    wpenv.php_eval(f'wp_set_password("{password}", get_user_by("login", "{LOGIN}")->ID); echo "ok";')
    with launched_chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{WP}/wp-login.php")
        page.fill("#user_login", LOGIN)
        page.fill("#user_pass", password)
        page.click("#wp-submit")
        page.wait_for_url("**/wp-admin/**", timeout=60_000)
        yield page, auth


def open_editor(page: Any, post_id: int) -> None:
    page.goto(f"{WP}/wp-admin/post.php?post={post_id}&action=edit")
    page.wait_for_function(
        "() => window.wp && wp.data && wp.data.select('core/block-editor').getBlocks().length > 0", timeout=90_000
    )


SLOTS_JS = """() => wp.data.select('core/block-editor').getBlocks().filter(b => b.name === 'slotwise/slot').map(b => ({
    valid: b.isValid, key: b.attributes.key,
    variants: b.innerBlocks.map(v => [v.name, v.isValid, v.attributes.name, v.attributes.isDefault || false])}))"""


def test_authored_variants_load_valid_and_the_gateways_error_shows_on_its_variant(
    editor_page: tuple[Any, tuple[str, str]],
) -> None:
    page, auth = editor_page
    configure(GW_PORT, "server")
    post = posts(auth, title="Editor check", status="publish", content=content("ed1", "device.clas == 'mobile'")).json()
    try:
        assert post["meta"]["_slotwise_errors"][0]["variant"] == "mobile"
        open_editor(page, post["id"])
        slots = page.evaluate(SLOTS_JS)
        assert slots == [
            {
                "valid": True,
                "key": "ed1",
                "variants": [
                    ["slotwise/variant", True, "mobile", False],
                    ["slotwise/variant", True, "desktop", False],
                    ["slotwise/variant", True, "default", True],
                ],
            }
        ], slots
        notices = page.locator(".slotwise-variant-editor .components-notice")
        notices.first.wait_for(timeout=30_000)
        per_variant = page.evaluate(
            """() => [...document.querySelectorAll('.slotwise-variant-editor')].map(v =>
                [v.querySelector('.slotwise-variant-title').textContent,
                 [...v.querySelectorAll('.components-notice__content')].map(n => n.textContent.trim())])"""
        )
        assert [n for _, n in per_variant] == [
            ["Condition, column 1: unknown name 'device.clas' at column 1"],
            [],
            [],
        ], per_variant
    finally:
        httpx.delete(f"{WP}/?rest_route=/wp/v2/posts/{post['id']}&force=true", auth=auth, timeout=60)


def test_a_slot_written_in_the_editor_is_saved_and_published(editor_page: tuple[Any, tuple[str, str]]) -> None:
    page, auth = editor_page
    configure(GW_PORT, "server")
    post = posts(
        auth,
        title="Written in the editor",
        status="publish",
        content="<!-- wp:paragraph --><p>x</p><!-- /wp:paragraph -->",
    ).json()
    try:
        open_editor(page, post["id"])
        page.evaluate(
            "() => wp.data.dispatch('core/block-editor').insertBlocks(wp.blocks.createBlock('slotwise/slot'))"
        )
        page.get_by_role("button", name="Write variants").click()
        page.wait_for_function(
            "() => { const s = wp.data.select('core/block-editor').getBlocks().find(b => b.name === 'slotwise/slot');"
            " return s && s.attributes.key && s.innerBlocks.length === 2; }",
            timeout=30_000,
        )
        # Content for each variant, as typing would give (the variants start with a paragraph).
        page.evaluate(
            """() => {
            const s = wp.data.select('core/block-editor').getBlocks().find(b => b.name === 'slotwise/slot');
            const d = wp.data.dispatch('core/block-editor');
            s.innerBlocks.forEach((v, i) => d.replaceInnerBlocks(v.clientId,
                [wp.blocks.createBlock('core/paragraph', {content: i ? 'Editor default' : 'Editor phones'})]));
            wp.data.dispatch('core/editor').savePost();
        }"""
        )
        page.wait_for_function(
            "() => !wp.data.select('core/editor').isSavingPost() && !wp.data.select('core/editor').isEditedPostDirty()",
            timeout=60_000,
        )
        saved = httpx.get(f"{WP}/?rest_route=/wp/v2/posts/{post['id']}&context=edit", auth=auth, timeout=60).json()
        key = json.loads(saved["content"]["raw"].split("<!-- wp:slotwise/slot ", 1)[1].split(" -->", 1)[0])["key"]
        name = f"wp-{post['id']}-{key}"
        assert saved["meta"]["_slotwise_errors"] == [] and saved["meta"]["_slotwise_slots"] == [name], saved["meta"]
        page_html = httpx.get(f"{WP}/?p={post['id']}", headers={"User-Agent": wpenv.MOBILE_UA}, timeout=30).text
        assert "Editor phones" in page_html and f'data-slotwise-slot="{name}"' in page_html
        desktop = httpx.get(f"{WP}/?p={post['id']}", headers={"User-Agent": wpenv.DESKTOP_UA}, timeout=30).text
        assert "Editor default" in desktop and "Editor phones" not in desktop
    finally:
        httpx.delete(f"{WP}/?rest_route=/wp/v2/posts/{post['id']}&force=true", auth=auth, timeout=60)
