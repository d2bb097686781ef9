# SPDX-License-Identifier: Apache-2.0
"""A configuration's runtime is ready before its first render: templates compiled, user-agent
parser loaded (the first render after a start used to take a quarter second, over a slot's budget)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jinja2 import BaseLoader

from slotwise.gateway.config.loader import parse_config
from slotwise.gateway.ops.metrics import Metrics
from slotwise.gateway.serving.runtime import build_runtime
from tests.gateway.conftest import minimal_config


def test_every_slot_template_is_compiled_when_the_runtime_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "hero.html").write_text('<div class="mine">{{ block["title"] }}</div>')
    data = minimal_config(gateway={"templates_dir": str(tmp_path)})
    data["slots"]["hero"]["variants"][0]["block"]["template"] = "hero.html"
    data["slots"]["hi"] = {"default": {"type": "welcome", "message": "Hello {{ context.device }}"}}
    loaded: list[str] = []
    original = BaseLoader.load

    def counting(self: BaseLoader, environment: Any, name: str, globals: Any = None) -> Any:
        loaded.append(name)
        return original(self, environment, name, globals)

    monkeypatch.setattr(BaseLoader, "load", counting)
    runtime = build_runtime(parse_config(data, base_dir=tmp_path), Metrics())
    assert {"hero.html", "blocks/banner.html", "blocks/welcome.html"} <= set(loaded)
    loaded.clear()
    renderer, slots = runtime.renderer, runtime.config.slots
    mine = renderer.render(slots["hero"].variants[0].block, slot="hero", variant="m", items=[], variables={})
    hello = renderer.render(slots["hi"].default, slot="hi", variant="default", items=[], variables={"context": {}})
    assert 'class="mine"' in mine and "Hello" in hello
    assert loaded == []  # nothing loaded or compiled on the render path


def test_the_started_gateway_keeps_its_startup_objects_out_of_the_collector_until_a_reload(
    tmp_path: Path,
) -> None:
    """A full collection walked every object of the startup (about 80 ms, the render p99): they
    are frozen once the app has started, and a new runtime (a reload) unfreezes them, so the
    runtime it replaces can be collected."""
    import gc

    from starlette.testclient import TestClient

    from slotwise.gateway.http.app import create_app

    config = parse_config(minimal_config(), base_dir=tmp_path)
    gc.unfreeze()
    with TestClient(create_app(config)) as client:
        assert client.get("/healthz").status_code == 200
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # modules, configuration, compiled templates
        build_runtime(config, Metrics())  # what a reload does first
        assert gc.get_freeze_count() == 0
