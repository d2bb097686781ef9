# SPDX-License-Identifier: Apache-2.0
"""The studio in a real browser (Playwright driving Debian's chromium, no browser download):
log in, create a segment with live validation, add a variant and see it in the live preview,
roll the change back. With SLOTWISE_SCREENSHOTS=DIR it saves a screenshot of each page there
(how docs/studio.md's pictures are made)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from slotwise.gateway.config.loader import load_config
from slotwise.gateway.demo.site import prepare_data
from slotwise.gateway.studio.auth import add_user
from slotwise.gateway.studio.store import open_studio_store
from tests.conftest import free_port, running_gateway
from tests.gateway.studio.conftest import exposure_events

PASSWORD = "browser test password"


@contextmanager
def serving_for_ada(config_path: Path, port: int, log: Path) -> Iterator[str]:
    """`slotwise serve` on `config_path` with the editor `ada` (password PASSWORD); its base URL."""
    store = open_studio_store(load_config(config_path), config_path)
    add_user(store, "ada", "editor", PASSWORD)
    store.close()
    with running_gateway(["serve", "--config", str(config_path)], port, log) as base:
        yield base


def watched_page(browser: Any, height: int) -> tuple[Any, list[str]]:
    """A desktop-wide page, and the list its console errors and uncaught exceptions go to."""
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": height})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def log_in_as_ada(page: Any) -> None:
    """On the studio's login form: submit ada's name and password."""
    page.fill("input[name=user]", "ada")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    config_path = prepare_data(tmp_path / "data", port)
    with serving_for_ada(config_path, port, tmp_path / "gateway.log") as base:
        yield base, config_path


def _drive_experiment(gateway: str, key: str) -> None:
    """Visitors who see the demo's offer experiment; a quarter of them buy."""
    headers = {"X-Slotwise-Key": key, "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"}
    with httpx.Client(base_url=gateway, headers=headers) as http:
        for i in range(120):
            visitor = f"shopper{i}"
            body = {"site": "demo", "visitor_id": visitor, "slots": ["offer"], "context": {"consent": "full"}}
            block = http.post("/v1/render", json=body).json()["blocks"]["offer"]
            exp = block["experiment"]
            if not exp or not exp.get("arm"):
                continue
            events = exposure_events(visitor, "offer", block, time.time() - 120, 40.0 + i % 9 if i % 4 == 0 else None)
            assert http.post("/v1/events", json={"site": "demo", "events": events}).status_code == 200


def _shot(page: Any, name: str) -> None:
    folder = os.environ.get("SLOTWISE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_log_in_segment_variant_preview_and_roll_back(gateway: tuple[str, Path], browser: Any) -> None:
    from playwright.sync_api import expect

    gateway, config_path = gateway  # type: ignore[assignment]
    key = load_config(config_path).sites["demo"].publishable_key

    page, errors = watched_page(browser, 860)
    page.goto(gateway + "/studio/segments")
    expect(page).to_have_url(gateway + "/studio/login?next=/studio/segments")
    _shot(page, "login")
    log_in_as_ada(page)
    expect(page).to_have_url(gateway + "/studio/segments")

    form = page.locator("#new-segment")
    form.locator("input[name=name]").fill("night-owls")
    rule = form.locator("input[name=when]")
    rule.fill("local.hour >= ")
    expect(form.locator(".rule-status")).to_contain_text("at column 15")
    rule.fill("local.hour >= 22 or local.hour < 5")
    expect(form.locator(".rule-status")).to_contain_text("valid")
    _shot(page, "segments")
    form.locator("button").click()
    expect(page.locator("table")).to_contain_text("night-owls")

    page.goto(gateway + "/studio/slots/home-hero")
    add = page.locator("#add-variant")
    add.locator("input[name=id]").fill("owl-banner")
    add.locator("input[name=when]").fill("night-owls")
    add.locator("select[name=position]").select_option("first")
    add.locator("select[name=type]").select_option("banner")
    add.locator("input[name=f_banner_title]").fill("Late-night deals for owls")
    add.locator("button").click()
    expect(page.locator("ol.variants")).to_contain_text("owl-banner")

    preview = page.locator("form.preview-form")
    preview.locator("select[name=segment]").select_option("night-owls")
    preview.locator("select[name=device]").select_option("desktop")
    frame = page.frame_locator("iframe.preview-frame")
    expect(page.locator("#preview .variant-id")).to_have_text("owl-banner")
    expect(frame.locator("body")).to_contain_text("Late-night deals for owls")
    preview.locator("input[name=hour]").fill("12")
    preview.locator("select[name=segment]").select_option("")
    expect(page.locator("#preview .variant-id")).not_to_have_text("owl-banner")
    preview.locator("input[name=hour]").fill("23")
    expect(page.locator("#preview .variant-id")).to_have_text("owl-banner")
    _shot(page, "slot")

    _drive_experiment(gateway, key)
    page.goto(gateway + "/studio/experiments")
    expect(page.locator("main")).to_contain_text("offer-2026")
    expect(page.locator("svg.ci").first).to_be_visible()
    _shot(page, "experiments")
    page.goto(gateway + "/studio/versions")
    _shot(page, "versions")
    page.locator("form.inline button").first.click()  # roll back to the version before the variant
    expect(page.locator("ol.versions")).to_contain_text("roll back to")
    page.goto(gateway + "/studio/slots/home-hero")
    expect(page.locator("ol.variants")).not_to_contain_text("owl-banner")

    for device in ("mobile", "desktop") * 10:  # some traffic for the overview's figures
        body = {"site": "demo", "slots": ["home-hero", "offer"], "context": {"simulate": {"device": device}}}
        assert httpx.post(gateway + "/v1/render", json=body, headers={"X-Slotwise-Key": key}).status_code == 200
    page.goto(gateway + "/studio/")
    expect(page.locator(".tile .n").first).to_have_text(re.compile(r"^[1-9]\d*$"))
    _shot(page, "overview")
    phone = browser.new_page(viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state())
    phone.goto(gateway + "/studio/slots/home-hero")
    _shot(phone, "slot-phone")
    assert errors == []  # no CSP violation, no script error
