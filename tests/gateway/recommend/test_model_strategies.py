# SPDX-License-Identifier: Apache-2.0
"""ONNX strategies and model names, on real bundles, a real catalog and real profiles."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from slotwise.gateway.demo.catalog import build_catalog, write_items
from slotwise.gateway.demo.simulate import simulate, write_events_file
from slotwise.gateway.recommend.bundles import ModelRegistry
from slotwise.gateway.recommend.catalog import Catalog
from slotwise.gateway.recommend.strategies import STRATEGIES
from slotwise.gateway.rules.expr import NAMES, Env, compile_expr
from slotwise.gateway.visitors.features import profiles_from_events
from slotwise.gateway.visitors.profiles import Profile
from slotwise.models.cli import main
from slotwise.models.data import with_categories

NOW = 1_793_500_000.0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("world")
    items = build_catalog(12)
    sim = simulate(items, visitors=200, seed=4, now=NOW)
    events, planted, fav = sim.events, sim.planted, sim.favourite
    ipath, epath = write_items(items, d / "items.jsonl"), write_events_file(events, d / "events.jsonl")
    for kind in ("recommender", "segments", "propensity"):
        common = ["train", kind, "--events", str(epath), "--items", str(ipath), "--out", str(d / "models" / kind)]
        assert main(common + (["--lambda", "100"] if kind == "recommender" else ["--quiet"])) == 0
    reg = ModelRegistry(d / "models")
    assert not reg.reload()["refused"]
    profiles = profiles_from_events(with_categories(events, items))
    return {"reg": reg, "catalog": Catalog(items), "profiles": profiles, "planted": planted, "fav": fav}


def _env(world: dict[str, Any], profile: Profile | None, item_id: str | None = None, models: bool = True) -> Env:
    ctx = SimpleNamespace(now=NOW, item_id=item_id)
    return Env(
        ctx,
        runtime=SimpleNamespace(catalog=world["catalog"]),
        services=SimpleNamespace(models=world["reg"] if models else None, store=None),
        profile=profile,
    )


def _shoe_viewer() -> Profile:
    p = Profile()
    for k, item in enumerate(["shoes-000", "shoes-003", "shoes-005"]):
        p.fold(
            {
                "event_id": f"e{k}",
                "visitor_id": "new",
                "type": "item_view",
                "item_id": item,
                "ts": NOW - 600 + k,
                "properties": {"categories": ["shoes"]},
            }
        )
    return p


@pytest.mark.parametrize("strategy", ["cf", "hybrid", "content"])
def test_a_visitor_who_viewed_shoes_gets_shoes(world: dict[str, Any], strategy: str) -> None:
    env = _env(world, _shoe_viewer())
    ids = asyncio.run(STRATEGIES[strategy](env, {"type": "recommendations", "strategy": strategy}, 4))
    assert len(ids) == 4 and all(i.startswith("shoes-") for i in ids), ids
    assert not {"shoes-000", "shoes-003", "shoes-005"} & set(ids)  # seen items are not re-offered
    assert env.boundary <= NOW + 900  # model outputs bound the block's ttl


def test_category_filter_and_cold_start(world: dict[str, Any]) -> None:
    env = _env(world, _shoe_viewer())
    ids = asyncio.run(STRATEGIES["hybrid"](env, {"category": "Bags"}, 3))
    assert len(ids) == 3 and all(i.startswith("bags-") for i in ids)
    # no profile and no page item: nothing from the model, the render tops up with popular items
    assert asyncio.run(STRATEGIES["cf"](_env(world, None), {}, 3)) == []


def test_similar_follows_the_page_item_and_falls_back_without_models(world: dict[str, Any]) -> None:
    ids = asyncio.run(STRATEGIES["similar"](_env(world, None, "jeans-002"), {}, 4))
    assert len(ids) == 4 and "jeans-002" not in ids and sum(i.startswith("jeans-") for i in ids) >= 3
    fallback = asyncio.run(STRATEGIES["similar"](_env(world, None, "jeans-002", models=False), {}, 4))
    assert fallback and "jeans-002" not in fallback  # the catalog's content overlap


def test_strategies_of_one_page_share_one_inference_per_model(world: dict[str, Any]) -> None:
    reg: ModelRegistry = world["reg"]
    before = reg.batcher.runs
    profiles = list(world["profiles"].values())[:3]

    async def page() -> None:
        await asyncio.gather(*(STRATEGIES["hybrid"](_env(world, p), {}, 3) for p in profiles))

    asyncio.run(page())
    assert reg.batcher.runs == before + 1


def test_segment_ml_and_propensity_names(world: dict[str, Any]) -> None:
    reg: ModelRegistry = world["reg"]
    names = set(reg.by_kind("segments").manifest["segments"].values())  # type: ignore[union-attr]
    rule = compile_expr("segment.ml == 'high-value' or propensity > 0.6")
    assert "segment.ml" in rule.names and "propensity" in rule.names
    seg = SimpleNamespace(fn=lambda env: NAMES[("segment", "ml")].resolver(env, (), ()))
    prop = SimpleNamespace(fn=lambda env: NAMES[("propensity",)].resolver(env, (), ()))
    high = compile_expr("segment.ml == 'high-value'")
    by_group: dict[str, set[str]] = {}
    for vid, p in list(world["profiles"].items())[:60]:
        env = _env(world, p)
        name = seg.fn(env)
        assert name in names and high.evaluate(env) == (name == "high-value")
        by_group.setdefault(world["planted"][vid], set()).add(name)
        value = prop.fn(env)
        assert 0.0 <= value <= 1.0 and not math.isnan(value)
        assert env.boundary <= NOW + 900
    assert "high-value" in by_group["high-value"]
    assert seg.fn(_env(world, None)) is None  # no profile, no machine segment
    assert prop.fn(_env(world, None, models=False)) == 0.0


# --- through the app: config `models:`, the store, POST /v1/render, admin reload ---------------


def test_render_follows_a_visitors_interactions(world: dict[str, Any], tmp_path: Path, make_client: Any) -> None:
    import shutil
    import time

    from slotwise.gateway.visitors.events import format_ts
    from tests.gateway.conftest import DESKTOP_UA, minimal_config

    items = [world["catalog"].get(i) for i in world["catalog"].ids]
    write_items(items, tmp_path / "items.jsonl")
    models_dir = tmp_path / "models"
    shutil.copytree(world["reg"].root / "recommender", models_dir / "recs" / "v1")
    data = minimal_config(
        catalog={"path": "items.jsonl"},
        store={"backend": "sqlite", "path": str(tmp_path / "s.db")},
        models={"dir": str(models_dir), "intra_op_threads": 1, "watch_seconds": 0},
        slots={"recs": {"default": {"type": "recommendations", "strategy": "hybrid", "count": 4}}},
    )
    client = make_client(data)
    key = {"X-Slotwise-Key": "pk_shop", "User-Agent": DESKTOP_UA}
    now = time.time()
    events = [
        {
            "event_id": f"s{k}",
            "visitor_id": "shoe-lover",
            "type": "item_view",
            "item_id": item,
            "ts": format_ts(now - 60 + k),
            "properties": {"categories": ["shoes"]},
        }
        for k, item in enumerate(["shoes-000", "shoes-002", "shoes-004"])
    ]
    assert client.post("/v1/events", json={"site": "shop", "events": events}, headers=key).status_code == 200
    r = client.post("/v1/render", json={"site": "shop", "visitor_id": "shoe-lover", "slots": ["recs"]}, headers=key)
    assert r.status_code == 200, r.text
    html = r.json()["blocks"]["recs"]["html"]
    shown = [i for i in world["catalog"].ids if f'item={i}"' in html]
    assert len(shown) == 4 and all(i.startswith("shoes-") for i in shown), shown
    assert not {"shoes-000", "shoes-002", "shoes-004"} & set(shown)

    secret = {"Authorization": "Bearer sk_shop"}
    assert client.post("/v1/admin/models/reload").status_code in {401, 403}
    bad = models_dir / "recs" / "v2"
    shutil.copytree(models_dir / "recs" / "v1", bad)
    (bad / "hybrid.onnx").write_bytes(b"truncated")
    body = client.post("/v1/admin/models/reload", headers=secret).json()
    assert body["refused"] and body["refused"][0]["path"] == str(bad)
    assert body["bundles"][0]["path"] == str(models_dir / "recs" / "v1")
    again = client.post("/v1/render", json={"site": "shop", "visitor_id": "shoe-lover", "slots": ["recs"]}, headers=key)
    assert again.json()["blocks"]["recs"]["html"] == html  # the old version keeps serving
