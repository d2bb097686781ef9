# SPDX-License-Identifier: Apache-2.0
"""Done when: the demo's hero runs as a bandit, and in a real headless Chromium (Playwright over
Debian's chromium) clicks on one arm move that arm's probability within seconds, as the admin
route `GET /v1/admin/bandits/hero-season` shows.

Each page view is the demo page with client.js: the hero's arm comes from the bandit, client.js
sends the viewable impression (with its propensity) and, for the `denim` arm only, a click on
the banner's link. The gateway is the real `slotwise demo` process with its SQLite store."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port, running_gateway

SECRET = {"Authorization": "Bearer sk_demo"}
# Desktop on a Saturday afternoon: none of the hero's rules match, so the bandit decides.
PAGE = "/demo?device=desktop&hour=16&weekday=sat"
FAVOURITE = "denim"


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    args = ["demo", "--data", str(tmp_path / "demo"), "--log-level", "warning"]
    with running_gateway(args, port, tmp_path / "demo.log", ready="/readyz") as base:
        yield base


def arms(base: str) -> dict[str, dict[str, Any]]:
    r = httpx.get(f"{base}/v1/admin/bandits/hero-season?site=demo", headers=SECRET, timeout=10)
    assert r.status_code == 200, r.text
    return {a["name"]: a for a in r.json()["arms"]}


def view(page: Any, base: str) -> str:
    """One page view: wait for the hero, let it be seen, click it if it shows the favourite arm."""
    page.goto(base + PAGE)
    hero = page.wait_for_selector('[data-slotwise-slot="home-hero"][data-slotwise-experiment="hero-season"]',
                                  timeout=15_000)  # fmt: skip
    arm = str(hero.get_attribute("data-slotwise-arm"))
    assert float(str(hero.get_attribute("data-slotwise-propensity"))) > 0
    page.wait_for_timeout(1400)  # client.js queues the impression after one visible second
    if arm == FAVOURITE:
        hero.query_selector("a").click()  # client.js tracks it and flushes the queue
    page.evaluate("window.Slotwise.flush()")
    page.wait_for_timeout(100)
    return arm


def test_clicks_on_one_arm_move_its_probability_within_seconds(demo: str, browser: Any) -> None:
    start = arms(demo)
    assert set(start) == {"colours", "denim", "sneakers"}
    assert start[FAVOURITE]["probability"] == pytest.approx(1 / 3, abs=0.05) and start[FAVOURITE]["pulls"] == 0
    context = browser.new_context()
    # Clicks stay on the page (a real visitor would leave; the beacon is what matters here).
    context.add_init_script("document.addEventListener('click', function (e) { e.preventDefault(); }, true);")
    page = context.new_page()
    shown: list[str] = []
    for _ in range(30):
        shown.append(view(page, demo))
        if shown.count(FAVOURITE) >= 4 and len(shown) >= 8:
            break
    context.close()
    assert shown.count(FAVOURITE) >= 3, shown
    last_event = time.monotonic()
    while True:
        now = arms(demo)
        if now[FAVOURITE]["probability"] > 0.6 and sum(a["pulls"] for a in now.values()) == len(shown):
            break
        assert time.monotonic() - last_event < 10, (shown, now)
        time.sleep(0.2)
    assert time.monotonic() - last_event < 10  # within seconds of the last event
    assert now[FAVOURITE]["reward_sum"] == now[FAVOURITE]["pulls"] == shown.count(FAVOURITE)
    assert all(now[a]["reward_sum"] == 0 for a in now if a != FAVOURITE)
    assert now[FAVOURITE]["clicks"] == shown.count(FAVOURITE)
