# SPDX-License-Identifier: Apache-2.0
"""One feature definition: offline (events file replayed) equals online (the store's profile)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import numpy as np

from slotwise.gateway.demo.simulate import write_events_file
from slotwise.gateway.visitors.events import validate_event
from slotwise.gateway.visitors.features import FeatureSpec, feature_vector, profiles_from_events
from slotwise.gateway.visitors.stores import open_store, parse_store_settings
from slotwise.models.data import read_events, with_categories


def test_offline_and_online_features_are_equal(store: dict[str, Any], tmp_path: Path) -> None:
    events = with_categories(store["events"], store["items"])
    path = write_events_file(events, tmp_path / "events.jsonl")
    offline = profiles_from_events(read_events(path))
    spec = FeatureSpec.fit(offline.values())
    visitors = sorted(offline)[:12]
    now = max(e["ts"] for e in events) + 60.0

    async def online() -> dict[str, Any]:
        st = open_store(parse_store_settings({"backend": "sqlite", "path": str(tmp_path / "store.db")}))
        try:
            raw = [
                dict(e, ts=line_ts)
                for e, line_ts in zip(events, _rfc3339(path), strict=False)
                if e["visitor_id"] in visitors
            ]
            random.Random(5).shuffle(raw)  # arrival order must not matter
            clean = [validate_event(r, now) for r in raw]
            for k in range(0, len(clean), 97):
                await st.ingest("demo", clean[k : k + 97])
            return {v: await st.profile("demo", v) for v in visitors}
        finally:
            await st.close()

    profiles = asyncio.run(online())
    for v in visitors:
        a = feature_vector(offline[v], spec, now)
        b = feature_vector(profiles[v], spec, now)
        assert np.allclose(a, b, rtol=1e-5, atol=1e-6), (
            v,
            dict(zip(spec.names, zip(a, b, strict=False), strict=False)),
        )


def _rfc3339(path: Path) -> list[str]:
    import json

    return [json.loads(line)["ts"] for line in path.read_text().splitlines()]


def test_a_visitor_without_profile_reads_as_no_history() -> None:
    spec = FeatureSpec(("shoes",), (1.0,))
    row = feature_vector(None, spec, 0.0)
    assert row[0] == 365.0 and not row[1:].any() and len(row) == len(spec.names)


def test_spec_round_trips_and_refuses_another_definition() -> None:
    spec = FeatureSpec(("a", "b"), (1.0, 2.0))
    assert FeatureSpec.from_json(spec.to_json()) == spec
    bad = dict(spec.to_json(), base=["something", "else"])
    try:
        FeatureSpec.from_json(bad)
    except ValueError as exc:
        assert "features.base" in str(exc)
    else:
        raise AssertionError("a bundle with another feature definition was accepted")
