# SPDX-License-Identifier: Apache-2.0
"""`GET /v1/email/{slot}`: e-mail-safe HTML for one visitor, through the normal decision path.

Checked as markup (no script, no class, every URL absolute, tables) and in headless Chromium with
every style switched off: the titles and links stay readable (with SLOTWISE_SCREENSHOTS=DIR the
page is saved there as email.png for a person to look at)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from slotwise.gateway.config.loader import load_config
from slotwise.gateway.demo.catalog import build_catalog
from slotwise.gateway.http.app import create_app
from slotwise.gateway.visitors.stores import build_store
from tests.gateway.conftest import DESKTOP_UA, minimal_config

ITEMS = build_catalog(4)
VIEWED = [ITEMS[0], ITEMS[5], ITEMS[9]]
SECRET = {"Authorization": "Bearer sk_shop"}
SLOTS = {
    "picks": {
        "variants": [
            {
                "id": "returning",
                "when": "events.item_view.within(30d) >= 1",
                "block": {
                    "type": "recommendations",
                    "strategy": "recently_viewed",
                    "count": 3,
                    "title": "Still thinking?",
                },
            }
        ],
        "default": {"type": "recommendations", "strategy": "popular", "count": 3, "title": "Popular now"},
    },
    "deal": {
        "variants": [],
        "default": {
            "type": "offer",
            "title": "10% off your next order",
            "code": "MAIL10",
            "url": "/checkout?code=MAIL10",
            "cta": "Use it now",
        },
    },
    "note": {
        "variants": [],
        "default": {
            "type": "html",
            "html": '<p class="x" onclick="steal()">Hello <a href="/account">your account</a></p>'
            '<script>alert(1)</script><link rel="stylesheet" href="/x.css">',
        },
    },
}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in ITEMS))
    data = minimal_config(store={"path": "store.db"}, catalog={"path": "items.jsonl"}, slots=SLOTS)
    path = tmp_path / "slotwise.yaml"
    path.write_text(yaml.safe_dump(data))
    now = time.time()
    events = [
        {"event_id": f"e{k}", "visitor_id": "ada", "type": "item_view", "item_id": it["item_id"], "ts": now - 60 * k}
        for k, it in enumerate(VIEWED)
    ]

    async def seed() -> None:
        store = await build_store(load_config(path))
        assert store is not None
        await store.ingest("shop", events)
        await store.close()

    asyncio.run(seed())
    with TestClient(create_app(load_config(path), path), headers={"User-Agent": DESKTOP_UA}) as c:
        yield c


def email(client: TestClient, slot: str, visitor: str = "ada", **params: str) -> str:
    r = client.get(f"/v1/email/{slot}", params={"site": "shop", "visitor_id": visitor, **params}, headers=SECRET)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html") and "no-store" in r.headers["cache-control"]
    return r.text


def assert_email_safe(html: str) -> None:
    assert "<script" not in html.lower() and "<link" not in html.lower() and "<style" not in html.lower()
    assert not re.search(r"\sclass=", html) and not re.search(r"\son\w+=", html)
    urls = re.findall(r'\s(?:href|src)="([^"]*)"', html)
    assert urls and all(u.startswith(("https://", "http://", "mailto:")) or u == "#" for u in urls), urls
    assert "<div" not in html  # table layout


def test_the_visitors_own_block_with_absolute_urls(client: TestClient) -> None:
    html = email(client, "picks")
    assert "Still thinking?" in html  # the variant for a visitor with views: the decision path ran
    for item in VIEWED:
        assert item["title"] in html
        assert f'href="https://shop.example{item["url"]}"' in html.replace("&amp;", "&")
    assert_email_safe(html)
    assert 'style="' in html and "<table" in html


def test_an_unknown_visitor_gets_the_default_and_base_url_is_honoured(client: TestClient) -> None:
    html = email(client, "picks", visitor="nobody", base_url="https://mail.shop.example/")
    assert "Popular now" in html and "https://mail.shop.example/demo?item=" in html
    assert_email_safe(html)


def test_editor_html_is_cleaned(client: TestClient) -> None:
    html = email(client, "note")
    assert_email_safe(html)
    assert 'href="https://shop.example/account"' in html and "steal" not in html and "alert" not in html


def test_errors(client: TestClient) -> None:
    def get(slot: str, params: dict[str, str], headers: dict[str, str] | None = None) -> tuple[int, str]:
        r = client.get(f"/v1/email/{slot}", params=params, headers=SECRET if headers is None else headers)
        return r.status_code, r.json()["error"]["code"]

    ok = {"site": "shop", "visitor_id": "ada"}
    assert get("picks", ok, {"X-Slotwise-Key": "pk_shop"}) == (401, "missing_key")
    assert get("picks", ok, {"Authorization": "Bearer pk_shop"}) == (403, "invalid_key")
    assert get("picks", {"site": "shop"}) == (400, "invalid_visitor_id")
    assert get("picks", {**ok, "visitor_id": "bad id!"}) == (400, "invalid_visitor_id")
    assert get("nope", ok) == (404, "unknown_slot")
    assert get("picks", {**ok, "base_url": "javascript:alert(1)"}) == (400, "invalid_base_url")
    assert get("picks", {"visitor_id": "ada"}) == (400, "invalid_request")


def test_readable_in_chromium_with_css_off(client: TestClient, tmp_path: Path, browser: Any) -> None:
    body = "".join(email(client, slot) for slot in ("picks", "deal", "note"))
    document = f"<!doctype html><html><head><meta charset='utf-8'></head><body>{body}</body></html>"
    page = browser.new_page(java_script_enabled=True)
    page.route("**/*", lambda route: route.abort())  # an e-mail client loads nothing by default
    page.set_content(document)
    page.evaluate(
        "() => { document.querySelectorAll('[style]').forEach(e => e.removeAttribute('style'));"
        " for (const s of document.styleSheets) s.disabled = true; }"
    )
    text = page.inner_text("body")
    for item in VIEWED:
        assert item["title"] in text
    assert "MAIL10" in text and "Use it now" in text and "your account" in text
    links = page.eval_on_selector_all(
        "a", "els => els.map(a => [a.href, a.innerText.trim(), a.getBoundingClientRect().width])"
    )
    readable = [(href, label) for href, label, width in links if label and width > 0]
    assert {label for _, label in readable} >= {*(i["title"] for i in VIEWED), "Use it now", "your account"}
    assert all(href.startswith("https://shop.example/") for href, _ in readable)
    shots = os.environ.get("SLOTWISE_SCREENSHOTS")
    target = Path(shots) if shots else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / "email.png"), full_page=True)


def test_the_visitors_stored_consent_decides(client: TestClient) -> None:
    r = client.put(
        "/v1/visitors/ada/consent",
        params={"site": "shop"},
        json={"level": "anonymous"},
        headers={"X-Slotwise-Key": "pk_shop"},
    )
    assert r.status_code == 200, r.text
    html = email(client, "picks")
    assert "Popular now" in html and "Still thinking?" not in html  # no profile any more
