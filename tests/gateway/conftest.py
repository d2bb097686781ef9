# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from slotwise.gateway.config.loader import Config, parse_config
from slotwise.gateway.config.registries import install_defaults
from slotwise.gateway.context.request import resolve_context
from slotwise.gateway.demo.site import build_catalog, demo_config
from slotwise.gateway.http.app import create_app
from slotwise.gateway.recommend.strategies import STRATEGIES, register_strategy, unregister_strategy
from slotwise.gateway.rules.expr import Env, name_spec, register, unregister
from tests.conftest import need
from tests.gateway.store_backends import Backend, redis_available

DESKTOP_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def minimal_config(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "sites": {
            "shop": {
                "publishable_key": "pk_shop",
                "secret_key": "sk_shop",
                "origins": ["https://shop.example"],
                "timezone": "Europe/Berlin",
            }
        },
        "segments": {"mobile": "device.class == 'mobile'"},
        "slots": {
            "hero": {
                "variants": [{"id": "m", "when": "mobile", "block": {"type": "banner", "title": "Mobile"}}],
                "default": {"type": "banner", "title": "Default"},
            }
        },
    }
    data.update(overrides)
    return data


def request_env(
    config: Config, site: str, ua: str, now: float, body: dict[str, Any], attributes: dict[str, Any] | None = None
) -> Env:
    """What the rules read for a request to `site` of `config` from a browser `ua` at `now`, with the
    context fields of `body` and the config's segments (no simulation, no peer address)."""
    site_config = config.sites[site]
    context = resolve_context(
        body_context=body,
        headers={"user-agent": ua},
        peer=None,
        config=config,
        site=site_config,
        allow_simulation=False,
        now=now,
    )
    return Env(context, site=site_config, runtime=SimpleNamespace(segments=config.segments), attributes=attributes)


def write_config(folder: Path, **overrides: Any) -> Path:
    """`minimal_config(**overrides)` written to `folder/slotwise.yaml`; its path."""
    path = folder / "slotwise.yaml"
    path.write_text(yaml.safe_dump(minimal_config(**overrides)))
    return path


def train_bundle(out: Path, *, items: int, visitors: int, seed: int) -> Path:
    """A small recommender bundle at `out`, trained on `visitors` simulated visitors of the demo
    catalog with `items` items a category (the offline models are imported here, lazily: only the
    tests that train need them)."""
    from slotwise.gateway.demo.simulate import simulate
    from slotwise.models.data import events_to_interactions
    from slotwise.models.train_recommender import train_recommender

    catalog = build_catalog(items)
    events = simulate(catalog, visitors=visitors, seed=seed).events
    train_recommender(
        events_to_interactions(events), catalog, out, lam=50.0, content_weight=0.05, progress=lambda m: None
    )
    return out


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps(i) + "\n" for i in build_catalog()), encoding="utf-8")
    (tmp_path / "slotwise.yaml").write_text(yaml.safe_dump(demo_config(8080)), encoding="utf-8")
    return tmp_path


@pytest.fixture
def demo_config_obj(demo_dir: Path) -> Config:
    return parse_config(
        yaml.safe_load((demo_dir / "slotwise.yaml").read_text()), base_dir=demo_dir, source=demo_dir / "slotwise.yaml"
    )


@pytest.fixture
def demo_client(demo_config_obj: Config) -> Iterator[TestClient]:
    with TestClient(create_app(demo_config_obj)) as client:
        yield client


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Callable[[dict[str, Any]], TestClient]]:
    with ExitStack() as clients:

        def make(data: dict[str, Any], **kwargs: Any) -> TestClient:
            config = parse_config(copy.deepcopy(data), base_dir=tmp_path)
            return clients.enter_context(TestClient(create_app(config), **kwargs))

        yield make


@pytest.fixture(autouse=True, scope="session")
def default_registries() -> None:
    """Tests that compile expressions without loading a config see the default names."""
    install_defaults()


@pytest.fixture
def add_strategy() -> Iterator[Callable[[str, Any], None]]:
    """Register a recommendation strategy for one test; removed afterwards."""
    added: list[str] = []

    def add(name: str, fn: Any) -> None:
        assert name not in STRATEGIES, name
        register_strategy(name, fn)
        added.append(name)

    yield add
    for name in added:
        unregister_strategy(name)


@pytest.fixture
def add_name() -> Iterator[Callable[..., None]]:
    """Register an expression name for one test; removed afterwards."""
    added: list[str] = []

    def add(pattern: str, *args: Any, **kwargs: Any) -> None:
        register(name_spec(pattern, *args, **kwargs))
        added.append(pattern)

    yield add
    for pattern in added:
        unregister(pattern)


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each store in turn: SQLite, then a real Redis (skipped outside CI when none runs)."""
    if request.param == "redis":
        need(redis_available(), "a Redis server at 127.0.0.1:6379")
    b = Backend(request.param, tmp_path)
    yield b
    b.cleanup()
