# SPDX-License-Identifier: Apache-2.0
"""`slotwise demo` trains every model kind on the simulated store, and keeps them on restart."""

from __future__ import annotations

import json
import time
from pathlib import Path

from slotwise.gateway.demo.catalog import build_catalog
from slotwise.gateway.demo.simulate import simulate_visitors
from slotwise.gateway.recommend.bundles import ModelRegistry
from slotwise.gateway.visitors.events import event_line
from slotwise.models.demo import train_demo


def test_train_demo_on_the_simulated_store(tmp_path: Path) -> None:
    items = build_catalog()
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    events = simulate_visitors(items, time.time())
    (tmp_path / "events.jsonl").write_text("".join(event_line(e) + "\n" for e in events))
    root = train_demo(tmp_path, tmp_path / "events.jsonl", tmp_path / "items.jsonl", log=False)
    reg = ModelRegistry(root)
    report = reg.reload()
    assert not report["refused"]
    assert {b["kind"] for b in reg.list()} == {"recommender", "segments", "propensity"}
    first = {p.parent.name for p in root.glob("*/*/manifest.json")}
    # a restart on the same data directory keeps what was trained
    assert train_demo(tmp_path, tmp_path / "events.jsonl", tmp_path / "items.jsonl", log=False) == root
    assert {p.parent.name for p in root.glob("*/*/manifest.json")} == first
