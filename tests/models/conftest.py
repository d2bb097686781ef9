# SPDX-License-Identifier: Apache-2.0
"""A simulated store and bundles trained on it once per session (small: seconds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from slotwise.gateway.demo.catalog import build_catalog, write_items
from slotwise.gateway.demo.simulate import simulate, write_events_file
from slotwise.models.cli import main


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("store")
    items = build_catalog(15)
    sim = simulate(items, visitors=240, seed=3)
    events, planted, favourite = sim.events, sim.planted, sim.favourite
    return {
        "dir": d,
        "items": items,
        "events": events,
        "planted": planted,
        "favourite": favourite,
        "items_path": write_items(items, d / "items.jsonl"),
        "events_path": write_events_file(events, d / "events.jsonl"),
    }


@pytest.fixture(scope="session")
def bundles(store: dict[str, Any]) -> dict[str, Path]:
    d: Path = store["dir"] / "models"
    out = {"recommender": d / "recommender", "segments": d / "segments", "propensity": d / "propensity"}
    for kind, path in out.items():
        source = ["--events", str(store["events_path"])]
        assert (
            main(
                [
                    "train",
                    kind,
                    *source,
                    "--items",
                    str(store["items_path"]),
                    "--out",
                    str(path),
                    *(["--quiet"] if kind != "recommender" else []),
                ]
            )
            == 0
        )
    return out
