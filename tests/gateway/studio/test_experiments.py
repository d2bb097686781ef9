# SPDX-License-Identifier: Apache-2.0
"""The experiments page: arms and weights shown; weights and holdout changed safely."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from tests.gateway.conftest import DESKTOP_UA
from tests.gateway.studio.conftest import exposure_events, token_of

EXPERIMENT = {
    "id": "test",
    "experiment": {
        "key": "hero-2026",
        "holdout": 0.1,
        "arms": [
            {"name": "a", "weight": 1, "block": {"type": "banner", "title": "A"}},
            {"name": "b", "weight": 3, "block": {"type": "banner", "title": "B"}},
        ],
    },
}


@pytest.fixture
def with_experiment(config_file: Path) -> Path:
    data = yaml.safe_load(config_file.read_text())
    data["slots"]["hero"]["variants"].append(EXPERIMENT)
    config_file.write_text(yaml.safe_dump(data, sort_keys=False))
    return config_file


def test_weights_are_shown_and_changed(with_experiment: Path, as_role: Callable[[str], TestClient]) -> None:
    viewer = as_role("viewer")
    page = viewer.get("/studio/experiments").text
    assert "hero-2026" in page and "25.0 %" in page and "75.0 %" in page and 'action="/studio/experiments"' not in page
    editor = as_role("editor")
    page = editor.get("/studio/experiments").text
    etag = re.search(r'name="etag" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    form = {"csrf": token_of(page), "etag": etag, "slot": "hero", "index": "1", "holdout": "0.2"}
    bad = editor.post("/studio/experiments", data={**form, "weight_0": "lots", "weight_1": "1"})
    assert bad.status_code == 422 and "a weight: expected a number" in bad.text
    invalid = editor.post("/studio/experiments", data={**form, "weight_0": "0", "weight_1": "0"})
    assert invalid.status_code == 422 and "weights must add up to more than 0" in invalid.text
    r = editor.post("/studio/experiments", data={**form, "weight_0": "1", "weight_1": "1"}, follow_redirects=False)
    assert r.status_code == 303
    exp = yaml.safe_load(with_experiment.read_text())["slots"]["hero"]["variants"][1]["experiment"]
    assert exp["holdout"] == 0.2 and [a["weight"] for a in exp["arms"]] == [1.0, 1.0]
    stale = editor.post("/studio/experiments", data={**form, "weight_0": "2", "weight_1": "1"})
    assert stale.status_code == 409
    assert "experiment hero-2026 in hero: running, weights, holdout" in editor.get("/studio/versions").text
    assert viewer.post("/studio/experiments", data=form).status_code == 403


def _visit(client: TestClient, visitor: str, buy: bool) -> None:
    headers = {"X-Slotwise-Key": "pk_shop", "User-Agent": DESKTOP_UA}
    body = {"site": "shop", "visitor_id": visitor, "slots": ["hero"]}
    block = client.post("/v1/render", json=body, headers=headers).json()["blocks"]["hero"]
    events = exposure_events(visitor, "hero", block, time.time() - 60, 30.0 if buy else None)
    r = client.post("/v1/events", json={"site": "shop", "events": events}, headers=headers)
    assert r.status_code == 200 and not r.json()["rejected"], r.text


def test_results_with_confidence_intervals_from_live_traffic(
    with_experiment: Path, as_role: Callable[[str], TestClient]
) -> None:
    client = as_role("viewer")
    assert "no assigned visitors yet" in client.get("/studio/experiments").text
    for i in range(160):
        _visit(client, f"vis{i}", buy=i % 4 == 0)
    page = client.get("/studio/experiments").text
    assert "no assigned visitors" not in page
    for metric in ("conversion", "revenue"):
        assert f"<h3>{metric}</h3>" in page
    assert re.search(r"[+-]\d+\.\d %</td>", page)  # lifts
    assert re.search(r"[+-]\d+\.\d … [+-]\d+\.\d %", page)  # confidence intervals
    assert page.count('<svg class="ci"') >= 2
