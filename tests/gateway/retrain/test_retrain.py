# SPDX-License-Identifier: Apache-2.0
"""`slotwise retrain` on real stores: promotes a better model, refuses a worse one (trained on
shuffled labels), skips without enough new data, keeps the live one when the candidate fails
(with an alert), rolls back with one command; two apps on one Redis store both swap."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from slotwise.gateway.cli import main as cli
from slotwise.gateway.config.loader import load_config
from slotwise.gateway.demo.catalog import build_catalog
from slotwise.gateway.demo.simulate import simulate
from slotwise.gateway.ops.alerts import Alert, add_alert_hook
from slotwise.gateway.recommend import bundle_versions as bv
from slotwise.gateway.visitors.stores import build_store
from slotwise.models.data import events_to_interactions
from slotwise.models.train_recommender import train_recommender
from tests.gateway.conftest import minimal_config

ITEMS = build_catalog(8)
EVENTS = simulate(ITEMS, visitors=300, seed=3).events
TS = sorted(e["ts"] for e in EVENTS)
MID, LATE = TS[len(TS) // 2], TS[int(len(TS) * 0.8)]


def shuffled(events: list[dict[str, Any]], seed: int = 1) -> list[dict[str, Any]]:
    """The same events with every item replaced by a random one: no signal left."""
    rng = random.Random(seed)
    ids = [i["item_id"] for i in ITEMS]
    return [dict(e, item_id=rng.choice(ids)) if e.get("item_id") else e for e in events]


def live_bundle(models: Path, version: str, events: list[dict[str, Any]]) -> None:
    train_recommender(events_to_interactions(events), ITEMS, models / "recommender" / version, progress=lambda m: None)
    m = json.loads((models / "recommender" / version / "manifest.json").read_text())
    m["version"] = version
    (models / "recommender" / version / "manifest.json").write_text(json.dumps(m))


def setup(tmp: Path, stored: list[dict[str, Any]], store: dict[str, Any] | None = None, **retrain: Any) -> Path:
    (tmp / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in ITEMS))
    data = minimal_config(
        store=store or {"path": "store.db"},
        models={"dir": "models", "watch_seconds": 0},
        catalog={"path": "items.jsonl"},
        retrain={"min_new_events": 100, "margin": 0.02, "keep": 3, **retrain},
    )
    path = tmp / "slotwise.yaml"
    path.write_text(yaml.safe_dump(data))
    asyncio.run(_ingest(path, stored))
    return path


async def _ingest(path: Path, events: list[dict[str, Any]]) -> None:
    store = await build_store(load_config(path))
    assert store is not None
    for k in range(0, len(events), 500):
        await store.ingest("shop", events[k : k + 500])
    await store.close()


def run(config: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = cli(["retrain", "--config", str(config), *args])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else {}


def test_promotes_a_better_candidate_and_rolls_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    live_bundle(tmp_path / "models", "00000000T000000Z-0001", shuffled([e for e in EVENTS if e["ts"] <= MID]))
    config = setup(tmp_path, EVENTS)
    code, outcome = run(config, capsys=capsys)
    assert code == 0 and outcome["status"] == "promoted", outcome
    assert outcome["candidate_score"] > outcome["live_score"] * 1.02
    new = outcome["version"]
    assert bv.live_version(tmp_path / "models", "recommender") == tmp_path / "models" / "recommender" / new
    card = (tmp_path / "models" / "recommender" / new / "model_card.md").read_text()
    assert f"{outcome['candidate_score']:.4f}" in card and f"{outcome['live_score']:.4f}" in card
    assert "at least the live score" in card
    last = json.loads((tmp_path / "models" / "recommender" / "retrain-last.json").read_text())
    assert last["status"] == "promoted" and bv.retrain_runs(tmp_path / "models", "recommender")[0] == last
    assert not list((tmp_path / "models" / "recommender" / ".staging").iterdir())  # nothing left behind
    # one command rolls back, and the registry of a running gateway follows
    code, back = run(config, "--rollback", capsys=capsys)
    assert code == 0 and back["version"] == "00000000T000000Z-0001" and back["previous"] == new
    assert cli(["models", "list", "--config", str(config)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {v["version"]: v["live"] for v in listed["versions"]} == {new: False, "00000000T000000Z-0001": True}
    assert [h["action"] for h in listed["history"]] == ["promote", "rollback"]
    assert cli(["models", "promote", "nope", "--config", str(config)]) == 2
    assert "no version 'nope'" in capsys.readouterr().err
    assert cli(["models", "list", "--bundle", "../etc", "--config", str(config)]) == 2
    assert "a bundle name is" in capsys.readouterr().err
    # fewer new events since the promoted version's watermark than asked for: nothing is trained
    assert cli(["models", "promote", new, "--config", str(config)]) == 0
    capsys.readouterr()
    data = yaml.safe_load(config.read_text())
    data["retrain"]["min_new_events"] = 100_000
    config.write_text(yaml.safe_dump(data))
    code, skipped = run(config, capsys=capsys)
    assert code == 0 and skipped["status"] == "skipped" and "fewer than 100000" in skipped["reason"]
    assert skipped["live_version"] == new


def test_refuses_a_worse_candidate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    live_bundle(tmp_path / "models", "00000000T000000Z-0001", [e for e in EVENTS if e["ts"] <= MID])
    # what a candidate trains on (up to the holdout cut) has its labels shuffled; the holdout is real
    stored = shuffled([e for e in EVENTS if e["ts"] <= LATE]) + [e for e in EVENTS if e["ts"] > LATE]
    config = setup(tmp_path, stored)
    code, outcome = run(config, capsys=capsys)
    assert code == 0 and outcome["status"] == "refused", outcome
    assert outcome["candidate_score"] < outcome["live_score"]
    assert "below the live score" in outcome["reason"]
    assert [v.version for v in bv.list_versions(tmp_path / "models", "recommender")] == ["00000000T000000Z-0001"]


def test_a_failing_candidate_keeps_the_live_bundle_and_alerts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live_bundle(tmp_path / "models", "00000000T000000Z-0001", [e for e in EVENTS if e["ts"] <= MID])
    page_views = [e for e in EVENTS if e["type"] == "page_view" and e["ts"] > MID]  # no item interactions
    config = setup(tmp_path, page_views)
    alerts: list[Alert] = []
    remove = add_alert_hook(alerts.append)
    try:
        code, outcome = run(config, capsys=capsys)
    finally:
        remove()
    assert code == 1 and outcome["status"] == "failed"
    assert "no item interactions" in outcome["reason"] and "keeps serving" in outcome["reason"]
    assert [a.kind for a in alerts] == ["retrain_failed"]
    assert bv.live_version(tmp_path / "models", "recommender").name == "00000000T000000Z-0001"  # type: ignore[union-attr]


def test_two_apps_on_one_redis_store_both_swap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("needs Redis on 127.0.0.1:6379")
    from slotwise.gateway.http.app import create_app

    prefix = f"swtest-retrain-{uuid.uuid4().hex[:8]}:"
    live_bundle(tmp_path / "models", "00000000T000000Z-0001", shuffled([e for e in EVENTS if e["ts"] <= MID]))
    config = setup(tmp_path, EVENTS, {"backend": "redis", "url": "redis://127.0.0.1:6379/0", "prefix": prefix})
    apps = [create_app(load_config(config), config) for _ in range(2)]
    with TestClient(apps[0]), TestClient(apps[1]):

        def versions() -> list[str]:
            return [app.state.services.models.get("recommender").version for app in apps]

        assert versions() == ["00000000T000000Z-0001"] * 2
        _, outcome = run(config, capsys=capsys)
        assert outcome["status"] == "promoted", outcome
        deadline = time.monotonic() + 5
        while versions() != [outcome["version"]] * 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert versions() == [outcome["version"]] * 2  # no watch: the sync message did it
        run(config, "--rollback", capsys=capsys)
        deadline = time.monotonic() + 5
        while versions() != ["00000000T000000Z-0001"] * 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert versions() == ["00000000T000000Z-0001"] * 2
    r = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    keys = list(r.scan_iter(match=prefix + "*", count=1000))
    if keys:
        r.delete(*keys)


def test_the_serve_schedule_runs_it_in_a_subprocess_and_swaps(tmp_path: Path) -> None:
    from slotwise.gateway.http.app import create_app
    from slotwise.gateway.serving.retrain_schedule import RetrainSchedule

    live_bundle(tmp_path / "models", "00000000T000000Z-0001", shuffled([e for e in EVENTS if e["ts"] <= MID]))
    config = setup(tmp_path, EVENTS)
    app = create_app(load_config(config), config)
    with TestClient(app) as client:
        assert app.state.retrain is None  # off by default
        schedule = RetrainSchedule(app, 3600, 600)
        outcome = client.portal.call(schedule.run_once)  # type: ignore[union-attr]
        assert outcome["status"] == "promoted"
        assert app.state.services.models.get("recommender").version == outcome["version"]
        metrics = client.get("/metrics").text
        assert 'slotwise_retrain_runs_total{result="promoted"} 1.0' in metrics
        # a candidate that does not finish in time: the live bundle keeps serving, the gateway alerts
        data = yaml.safe_load(config.read_text())
        data["retrain"].update(timeout=0.01, min_new_events=0)
        config.write_text(yaml.safe_dump(data))
        failed = client.portal.call(schedule.run_once)  # type: ignore[union-attr]
        assert failed["status"] == "failed" and "longer than retrain.timeout" in failed["reason"], failed
        assert app.state.services.models.get("recommender").version == outcome["version"]
        metrics = client.get("/metrics").text
        assert 'slotwise_alerts_total{kind="retrain_failed"} 1.0' in metrics
        assert 'slotwise_retrain_runs_total{result="failed"} 1.0' in metrics


def test_the_schedule_is_on_with_every(tmp_path: Path) -> None:
    from slotwise.gateway.http.app import create_app

    config = setup(tmp_path, EVENTS[:10], every="24h")
    app = create_app(load_config(config), config)
    with TestClient(app):
        assert app.state.retrain is not None and app.state.retrain.every == 86400


def test_a_propensity_bundle_is_retrained_and_scored_on_later_sessions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = setup(tmp_path, EVENTS, bundle="propensity", kind="propensity", holdout_share=0.3)
    code, first = run(config, capsys=capsys)
    assert code == 0 and first["status"] == "promoted", first  # no live bundle yet
    assert first["metric"] == "auc" and 0.5 < first["candidate_score"] <= 1.0 and first["live_score"] is None
    card = (tmp_path / "models" / "propensity" / first["version"] / "model_card.md").read_text()
    assert "sessions starting after that cut" in card and "| auc |" in card
    code, second = run(config, "--force", capsys=capsys)  # same data: the watermark is the first cut
    assert code == 0 and second["live_version"] == first["version"]
    cand, live = second["candidate_score"], second["live_score"]
    assert (second["status"] == "promoted") == (cand > live and cand >= live * 1.02), second
