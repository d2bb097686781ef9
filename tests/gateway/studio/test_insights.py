# SPDX-License-Identifier: Apache-2.0
"""KPI, bandit and model pages, and the cumulative lift on the experiments page, over real
events in a real SQLite store and real bundle directories."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from slotwise.gateway.config.loader import load_config
from slotwise.gateway.studio.auth import add_user
from slotwise.gateway.studio.store import open_studio_store
from slotwise.gateway.visitors.events import format_ts
from tests.gateway.alerts.receivers import Hook, webhook_receiver
from tests.gateway.conftest import DESKTOP_UA, minimal_config
from tests.gateway.studio.conftest import PASSWORD, token_of

KEY = {"X-Slotwise-Key": "pk_shop", "User-Agent": DESKTOP_UA}
XSS = "<script>alert(1)</script>"


def banner(title: str) -> dict[str, Any]:
    return {"type": "banner", "title": title}


@pytest.fixture
def hook() -> Iterator[Hook]:
    with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture
def config_file(tmp_path: Path, hook: Hook) -> Path:
    """The studio's usual configuration plus an experiment, a bandit, two model versions, alerts."""
    data = minimal_config(store={"backend": "sqlite", "path": "visitors.db"})
    rule = {"name": "hero-ctr", "kind": "kpi", "metric": "ctr", "slot": "hero", "below": 0.5, "min_volume": 10}
    data["alerts"] = {"every_seconds": 3600, "webhooks": [{"url": hook.url}], "rules": [rule]}
    data["slots"]["offer"] = {
        "default": banner("None"),
        "variants": [
            {"id": "exp", "experiment": {"key": "offer-x", "arms": [{"name": n, "block": banner(n)} for n in "AB"]}}
        ],
    }
    data["slots"]["promo"] = {
        "default": banner("None"),
        "variants": [
            {
                "id": "colour",
                "bandit": {"policy": "thompson", "arms": [{"name": n, "block": banner(n)} for n in ("red", "blue")]},
            }
        ],
    }
    models = tmp_path / "models"
    for version, ndcg in (("v1", 0.21), ("v2", 0.25)):
        bundle = models / "recs" / version
        bundle.mkdir(parents=True)
        manifest = {
            "kind": "recommender",
            "created_at": f"2026-11-0{version[1]}T00:00:00Z",
            "metrics": {"ndcg@10": ndcg},
        }
        (bundle / "manifest.json").write_text(json.dumps(manifest))
        (bundle / "model_card.md").write_text(f"# Model card: recs {version}\n\nndcg@10 {ndcg} {XSS}\n")
    (models / "recs" / "LIVE").write_text("v1\n")
    record = {"scores": {"candidate": {"recall@10": 0.31, "note": "x"}}, "why": f"candidate recall@10 0.31 {XSS}"}
    (models / "recs" / "v3").mkdir()
    (models / "recs" / "v3" / "manifest.json").write_text(json.dumps({"kind": "recommender"}))
    (models / "recs" / "v3" / "retrain.json").write_text(json.dumps(record))  # as `slotwise retrain` writes
    data["models"] = {"dir": "models", "watch_seconds": 0}
    path = tmp_path / "slotwise.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    store = open_studio_store(load_config(path), path)
    for role in ("viewer", "editor", "admin"):
        add_user(store, role, role, PASSWORD)
    store.close()
    return path


def post(client: TestClient, slot: str, variant: str, etype: str, n: int, **props: str) -> None:
    events = [
        {
            "event_id": uuid.uuid4().hex,
            "visitor_id": f"v{i}",
            "type": etype,
            "ts": format_ts(time.time() - 5),
            "properties": {"slot": slot, "variant": variant, **props},
        }
        for i in range(n)
    ]
    r = client.post("/v1/events", json={"site": "shop", "events": events}, headers=KEY)
    assert r.status_code == 200 and not r.json()["rejected"], r.text


def plots(html: str) -> list[dict[str, Any]]:
    import html as htmllib

    return [json.loads(htmllib.unescape(raw)) for raw in re.findall(r'data-plot="([^"]*)"', html)]


def test_the_kpi_page_plots_ctr_per_variant(as_role: Callable[[str], TestClient]) -> None:
    client = as_role("viewer")
    post(client, "hero", "m", "impression", 20)
    post(client, "hero", "m", "click", 5)
    post(client, "hero", "default", "impression", 10)
    r = client.get("/studio/kpis?slot=hero&metric=ctr&days=7")
    assert r.status_code == 200
    (plot,) = plots(r.text)
    assert len(plot["x"]) == 7 and plot["unit"] == "%"
    lines = {s["label"]: s["values"] for s in plot["series"]}
    assert lines["m"][-1] == pytest.approx(25.0) and lines["default"][-1] == pytest.approx(0.0)
    assert lines["m"][:-1] == [None] * 6  # no data on earlier days: gaps, not zeros
    every = plots(client.get("/studio/kpis?metric=impressions").text)[0]
    assert {s["label"]: s["values"][-1] for s in every["series"]}["hero"] == 30
    # Names in events come from browsers: shown as text, in the table and in the plot's data.
    post(client, "hero", XSS, "impression", 1)
    hostile = client.get("/studio/kpis?slot=hero").text
    assert "<script>alert(1)" not in hostile and "&lt;script&gt;alert(1)" in hostile
    assert XSS in {s["label"] for s in plots(hostile)[0]["series"]}
    # Unknown choices fall back to the defaults instead of failing.
    assert client.get("/studio/kpis?slot=nope&metric=%3Cx%3E&days=-1&site=zz").status_code == 200


def test_the_experiments_page_plots_the_cumulative_lift(as_role: Callable[[str], TestClient]) -> None:
    client = as_role("viewer")
    for arm, clicks in (("A", 2), ("B", 4)):
        post(client, "offer", f"exp:{arm}", "impression", 20, experiment="offer-x", arm=arm)
        post(client, "offer", f"exp:{arm}", "click", clicks, experiment="offer-x", arm=arm)
    r = client.get("/studio/experiments")
    assert r.status_code == 200 and "Cumulative lift over time" in r.text
    (plot,) = plots(r.text)
    lines = {s["label"]: s["values"] for s in plot["series"]}
    assert lines["B vs A: ctr"][-1] == pytest.approx(100.0)  # 20 % against 10 %


def test_the_bandits_page_shows_probabilities_now_and_shares_over_time(as_role: Callable[[str], TestClient]) -> None:
    client = as_role("viewer")
    post(client, "promo", "colour:red", "impression", 30, experiment="promo", arm="red")
    post(client, "promo", "colour:blue", "impression", 10, experiment="promo", arm="blue")
    post(client, "promo", "colour:red", "click", 9, experiment="promo", arm="red")
    r = client.get("/studio/bandits")
    assert r.status_code == 200 and "<code>promo</code>" in r.text
    assert re.search(r"<td>red</td><td><meter min=\"0\" max=\"1\" value=\"[0-9.]+\"></meter>", r.text)
    share, reward = plots(r.text)
    assert {s["label"]: s["values"][-1] for s in share["series"]} == {"red": 75.0, "blue": 25.0}
    assert {s["label"]: s["values"][-1] for s in reward["series"]} == {"red": 30.0, "blue": 0.0}


def test_models_are_listed_promoted_and_rolled_back(as_role: Callable[[str], TestClient], config_file: Path) -> None:
    live = config_file.parent / "models" / "recs" / "LIVE"
    viewer, editor = as_role("viewer"), as_role("editor")
    page = viewer.get("/studio/models").text
    assert "ndcg@10" in page and "0.25" in page and "Model card of v2" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page  # the card is text
    assert "Promote</button>" not in page  # a viewer sees no forms
    assert "<code>recall@10</code> 0.31" in page and "candidate recall@10 0.31 &lt;script&gt;" in page
    csrf = token_of(editor.get("/studio/models").text)
    form = {"csrf": csrf, "bundle": "recs", "action": "promote", "version": "v2"}
    r = editor.post("/studio/models", data=form, follow_redirects=False)
    assert r.status_code == 303 and live.read_text().strip() == "v2"
    assert "Roll back to v1" in editor.get("/studio/models").text
    r = editor.post("/studio/models", data={**form, "action": "rollback"}, follow_redirects=False)
    assert r.status_code == 303 and live.read_text().strip() == "v1"
    audit = as_role("admin").get("/studio/audit").text
    assert "promote recs to v2 (was v1)" in audit and "rollback recs to v1 (was v2)" in audit
    for bad, status in (({"version": "v9"}, 422), ({"bundle": XSS}, 404), ({"action": "drop"}, 400)):
        r = editor.post("/studio/models", data={**form, **bad})
        assert r.status_code == status and "<script>alert(1)" not in r.text
    assert live.read_text().strip() == "v1"


def test_the_overview_shows_firing_alerts_and_sends_a_test_alert(
    as_role: Callable[[str], TestClient], hook: Hook
) -> None:
    viewer, editor = as_role("viewer"), as_role("editor")
    assert "No alert is firing (1 rule, judged every 3600 s)" in viewer.get("/studio/").text
    post(viewer, "hero", "m", "impression", 20)
    post(viewer, "hero", "m", "click", 2)
    viewer.portal.call(viewer.app.state.alerter.evaluate)  # type: ignore[attr-defined,union-attr]
    page = viewer.get("/studio/").text
    assert '<li class="firing"><strong>hero-ctr</strong>' in page and "ctr of hero is 0.1" in page
    assert "Send a test alert" not in page  # viewers read, editors send
    csrf = token_of(editor.get("/studio/").text)
    r = editor.post("/studio/alerts/test", data={"csrf": csrf})
    assert r.status_code == 200 and "test alert sent" in r.text
    assert hook.states() == [("hero-ctr", "firing"), ("test", "test")]
    assert "test alert to 1 channel(s)" in as_role("admin").get("/studio/audit").text
