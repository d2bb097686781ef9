# SPDX-License-Identifier: Apache-2.0
"""The studio's KPI, bandit, model and alert pages in a real browser (Playwright driving Debian's
chromium): an alert fires to a local webhook and shows on the overview, a test alert is sent
from it, the plots render with data, a model version is promoted. With SLOTWISE_SCREENSHOTS=DIR
it saves a screenshot of each page there (docs/studio.md's pictures)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from slotwise.gateway.config.loader import load_config
from slotwise.gateway.demo.site import prepare_data
from slotwise.gateway.visitors.events import format_ts
from tests.conftest import free_port
from tests.gateway.alerts.receivers import Hook, webhook_receiver
from tests.gateway.studio.test_browser import _drive_experiment, _shot, log_in_as_ada, serving_for_ada, watched_page

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def _bundles(models: Path) -> None:
    """Two real versions of a recommender bundle (trained on the demo catalog), v1 live."""
    pytest.importorskip("sklearn")
    from slotwise.gateway.demo.catalog import build_catalog
    from slotwise.gateway.demo.simulate import simulate
    from slotwise.models.data import events_to_interactions
    from slotwise.models.train_recommender import train_recommender

    items = build_catalog(8)
    interactions = events_to_interactions(simulate(items, visitors=60, seed=1).events)
    for version, lam in (("v1", 50.0), ("v2", 10.0)):
        out = models / "recs" / version
        train_recommender(interactions, items, out, lam=lam, content_weight=0.05, progress=lambda m: None)
        (out / "model_card.md").write_text(f"# Model card: recs {version}\n\nTrained on the demo catalog, lam {lam}.\n")
    (models / "recs" / "LIVE").write_text("v1\n")


@pytest.fixture
def hook() -> Iterator[Hook]:
    with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture
def gateway(tmp_path: Path, hook: Hook) -> Iterator[tuple[str, Path]]:
    port = free_port()
    config_path = prepare_data(tmp_path / "data", port)
    data = yaml.safe_load(config_path.read_text())
    data["alerts"] = {
        "every_seconds": 1,
        "webhooks": [{"url": hook.url}],
        # A p99 over 10 µs: fires as soon as pages are rendered (a real p99, a low bar).
        "rules": [{"name": "slow-renders", "kind": "render_p99", "above_ms": 0.01, "min_renders": 5}],
    }
    config_path.write_text(yaml.safe_dump(data, sort_keys=False))
    _bundles(config_path.parent / data["models"]["dir"])
    with serving_for_ada(config_path, port, tmp_path / "gateway.log") as base:
        yield base, config_path


def _traffic(base: str, key: str) -> None:
    """Pages rendered (for the alert) and the hero bandit's arms seen and clicked (for its plots)."""
    seen = 0
    headers = {"X-Slotwise-Key": key, "User-Agent": UA}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
        for i in range(40):
            visitor = f"reader{i}"
            context = {"consent": "full", "simulate": {"device": "desktop", "hour": 21}}  # after office hours
            body = {"site": "demo", "visitor_id": visitor, "slots": ["home-hero"], "context": context}
            block = http.post("/v1/render", json=body).json()["blocks"]["home-hero"]
            exp = block.get("experiment") or {}
            if not exp.get("bandit"):
                continue
            props = {"slot": "home-hero", "variant": block["variant"], "experiment": exp["key"], "arm": exp["arm"]}
            props["propensity"] = exp["propensity"]
            events = [
                {
                    "event_id": f"{visitor}-i",
                    "visitor_id": visitor,
                    "type": "impression",
                    "ts": format_ts(time.time() - 60),
                    "properties": props,
                }
            ]
            if exp["arm"] == "denim" or i % 5 == 0:
                events.append(
                    {
                        "event_id": f"{visitor}-c",
                        "visitor_id": visitor,
                        "type": "click",
                        "ts": format_ts(time.time() - 50),
                        "properties": props,
                    }
                )
            assert http.post("/v1/events", json={"site": "demo", "events": events}).status_code == 200
            seen += 1
    assert seen >= 20, seen


def test_alerts_kpis_bandits_and_models_in_the_browser(gateway: tuple[str, Path], browser: Any, hook: Hook) -> None:
    from playwright.sync_api import expect

    base, config_path = gateway
    key = load_config(config_path).sites["demo"].publishable_key
    page, errors = watched_page(browser, 900)
    page.goto(base + "/studio/login")
    log_in_as_ada(page)
    expect(page).to_have_url(base + "/studio/")

    _traffic(base, key)
    _drive_experiment(base, key)
    deadline = time.monotonic() + 15  # judged every second, off the render path
    while not hook.bodies and time.monotonic() < deadline:
        time.sleep(0.1)
    assert hook.states() == [("slow-renders", "firing")], hook.bodies
    assert hook.bodies[0]["text"].startswith(":rotating_light: [slotwise] FIRING slow-renders: render p99")
    page.goto(base + "/studio/")
    expect(page.locator("#alerts li.firing")).to_contain_text("slow-renders")
    page.locator("#alerts button").click()  # "Send a test alert"
    expect(page.locator("#alerts .test-results")).to_contain_text("test alert sent")
    assert hook.states() == [("slow-renders", "firing"), ("test", "test")]  # no repeat of the firing
    _shot(page, "overview-alerts")

    page.goto(base + "/studio/kpis?slot=home-hero&metric=impressions&days=14")
    expect(page.locator("#kpi-plot .uplot")).to_be_visible()
    expect(page.locator("main table.kpi-lines")).to_contain_text("season:denim")
    _shot(page, "kpis")

    page.goto(base + "/studio/bandits")
    expect(page.locator("main")).to_contain_text("hero-season")
    expect(page.locator(".series-plot .uplot").first).to_be_visible()
    _shot(page, "bandits")

    page.goto(base + "/studio/experiments")
    expect(page.locator("main")).to_contain_text("Cumulative lift over time")
    expect(page.locator(".series-plot .uplot").first).to_be_visible()
    _shot(page, "experiments-lift")

    page.goto(base + "/studio/models")
    expect(page.locator("main")).to_contain_text("Model card of v2")
    page.locator("form.inline button", has_text="Promote").first.click()
    expect(page.locator("main tr", has_text="v2").first).to_contain_text("live")
    assert (config_path.parent / "models" / "recs" / "LIVE").read_text().strip() == "v2"
    _shot(page, "models")
    assert errors == []  # no CSP violation, no script error
