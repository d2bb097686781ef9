# SPDX-License-Identifier: Apache-2.0
"""The personalization level widget of client.js in Chromium: it shows the visitor's level and
changes it (full, basic = consent anonymous, off = none) through `PUT /v1/visitors/{id}/consent`
with the publishable key; the gateway's stored consent follows and the slots render again.
With SLOTWISE_SCREENSHOTS=DIR the widget is saved there as level-widget.png."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import free_port, running_gateway
from tests.gateway.conftest import minimal_config

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>shop</title></head><body>
<div data-slotwise-slot="hero">fallback</div>
<div id="level" data-slotwise-widget="personalization" data-title="Your personalization"></div>
<script src="{base}/v1/client.js" data-site="shop" data-key="pk_shop"></script>
</body></html>"""


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    data = minimal_config(store={"path": "store.db"})
    # The shop's page is served (by the browser's router) on the gateway's own origin: Chromium
    # refuses a public-looking origin's page loading scripts from loopback.
    data["sites"]["shop"]["origins"] = [f"http://127.0.0.1:{port}"]
    config = tmp_path / "slotwise.yaml"
    config.write_text(yaml.safe_dump(data))
    with running_gateway(["serve", "--config", str(config)], port, tmp_path / "gw.log") as base:
        yield base


@pytest.fixture
def page(gateway: str, browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    pg = context.new_page()
    pg.route(
        f"{gateway}/shop",
        lambda route: route.fulfill(body=PAGE.format(base=gateway), content_type="text/html"),
    )
    yield pg


def stored_consent(gateway: str, visitor: str) -> Any:
    r = httpx.get(
        f"{gateway}/v1/visitors/{visitor}", params={"site": "shop"}, headers={"Authorization": "Bearer sk_shop"}
    )
    assert r.status_code == 200, r.text
    return r.json()["consent"]


def cookies(page: Any) -> dict[str, str]:
    return {c["name"]: c["value"] for c in page.context.cookies(page.url)}


def test_the_widget_shows_and_changes_the_level(page: Any, gateway: str, tmp_path: Path) -> None:
    page.goto(f"{gateway}/shop")
    page.wait_for_selector('[data-slotwise-slot="hero"][data-slotwise-state="ready"]')
    box = page.locator("#level fieldset")
    assert box.locator("legend").inner_text() == "Your personalization"
    labels = box.locator("label").all_inner_texts()
    assert [t.split(" \u2014 ")[0].strip() for t in labels] == ["Full", "Basic", "Off"]
    assert box.get_attribute("data-slotwise-level") == ""  # nothing chosen yet
    visitor = page.wait_for_function("() => window.Slotwise.visitorId()").json_value()
    assert visitor and stored_consent(gateway, visitor) is None

    page.check('#level input[value="basic"]')
    page.wait_for_selector('#level fieldset[data-slotwise-state="saved"]')
    assert stored_consent(gateway, visitor) == "anonymous"  # the gateway, not only the cookie
    assert cookies(page)["slotwise_consent"] == "anonymous"
    assert page.evaluate("() => window.Slotwise.level()") == "basic"

    page.reload()  # the choice is shown again on the next page
    page.wait_for_selector("#level fieldset")
    assert page.locator('#level input[value="basic"]').is_checked()
    shots = os.environ.get("SLOTWISE_SCREENSHOTS")
    target = Path(shots) if shots else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    page.locator("#level").screenshot(path=str(target / "level-widget.png"))

    page.check('#level input[value="off"]')
    page.wait_for_selector('#level fieldset[data-slotwise-state="saved"]')
    assert stored_consent(gateway, visitor) == "none"
    assert "slotwise_vid" not in cookies(page) and cookies(page)["slotwise_consent"] == "none"

    page.check('#level input[value="full"]')  # no identifier any more: the cookie alone says it
    page.wait_for_selector('#level fieldset[data-slotwise-state="saved"]')
    assert cookies(page)["slotwise_consent"] == "full"
    page.wait_for_selector('[data-slotwise-slot="hero"][data-slotwise-state="ready"]')
