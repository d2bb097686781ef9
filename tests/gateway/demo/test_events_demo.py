# SPDX-License-Identifier: Apache-2.0
"""The demo's simulated visitors land in the store and in events.jsonl, and the demo page's
slots show the behavioural segments (cart abandoner offer, returning welcome, shoe banner)."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.testclient import TestClient

from slotwise.gateway.config.loader import load_config
from slotwise.gateway.demo.simulate import demo_hook
from slotwise.gateway.demo.site import prepare_data, prepare_hooks
from slotwise.gateway.http.app import create_app
from tests.gateway.conftest import DESKTOP_UA


def test_demo_simulation_drives_behavioural_slots(tmp_path: Path) -> None:
    config_path = prepare_data(tmp_path, 18540)
    assert demo_hook in prepare_hooks()
    demo_hook(tmp_path, config_path)
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    assert len(lines) > 3000
    first = json.loads(lines[0])
    assert {"event_id", "visitor_id", "type", "ts"} <= set(first) and first["ts"].endswith("Z")
    demo_hook(tmp_path, config_path)  # a second start goes on with what is there
    assert len((tmp_path / "events.jsonl").read_text().splitlines()) == len(lines)

    headers = {"X-Slotwise-Key": "pk_demo", "User-Agent": DESKTOP_UA}
    with TestClient(create_app(load_config(config_path))) as client:

        def render(visitor: str) -> dict[str, dict[str, object]]:
            r = client.post(
                "/v1/render",
                json={
                    "site": "demo",
                    "visitor_id": visitor,
                    "slots": ["home-hero", "welcome", "offer"],
                    "context": {"simulate": {"country": "DE"}},
                },
                headers=headers,
            )
            assert r.status_code == 200, r.text
            return r.json()["blocks"]  # type: ignore[no-any-return]

        abandoner = render("demo-cart-abandoner")
        assert abandoner["offer"]["variant"] == "cart-abandoner" and "COMEBACK15" in str(abandoner["offer"]["html"])
        assert "cart-abandoner" in abandoner["offer"]["segments"]  # type: ignore[operator]
        assert render("demo-returning")["welcome"]["variant"] == "returning"
        assert render("demo-shoe-fan")["home-hero"]["variant"] == "shoe-fan"
        fresh = render("nobody-yet")
        assert fresh["offer"]["variant"] != "cart-abandoner" and fresh["welcome"]["variant"] != "returning"
        segs = {s for v in range(0, 300, 7) for s in render(f"sim-{v:04d}")["offer"]["segments"]}  # type: ignore[union-attr]
        assert {"returning", "big-spender"} <= segs


def test_visitor_data_lists_computed_experiment_arms(tmp_path: Path) -> None:
    config_path = prepare_data(tmp_path, 18542)
    with TestClient(create_app(load_config(config_path))) as client:
        r = client.get("/v1/visitors/someone", params={"site": "demo"}, headers={"Authorization": "Bearer sk_demo"})
        assert r.status_code == 200
        assert r.json()["experiments"]["offer-2026"] in {"percent", "shipping", "holdout"}
