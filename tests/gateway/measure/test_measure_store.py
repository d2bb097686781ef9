# SPDX-License-Identifier: Apache-2.0
"""Exposure, attribution, KPI and experiment counters: one suite for SQLite and a real Redis."""

from __future__ import annotations

import random
from typing import Any

import pytest

from slotwise.gateway.measure import counters as expcounters
from slotwise.gateway.measure.attribution import DAY, MeasureSettings
from slotwise.gateway.visitors.stores.base import Store
from tests.gateway.store_backends import Backend

NOW = 1_790_000_000.0  # 2026-09-21
SCOPE = "kpi|2026-09-21"


_ids = iter(range(10**9))


def event(visitor: str, etype: str, ts: float, **fields: Any) -> dict[str, Any]:
    return {"event_id": f"e{next(_ids)}", "visitor_id": visitor, "type": etype, "ts": round(ts, 3), **fields}


def impression(visitor: str, ts: float, arm: str | None = None, slot: str = "offer", **props: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {"slot": slot, "variant": f"exp:{arm}" if arm else "default", **props}
    if arm:
        properties.update(experiment="offer-2026", arm=arm)
    return event(visitor, "impression", ts, properties=properties)


def row(counts: dict[str, dict[str, float]], slot: str, variant: str, name: str, segment: str = "") -> float:
    return counts.get(SCOPE, {}).get(f"{slot}\x1f{variant}\x1f{segment}\x1f{name}", 0.0)


def test_outcomes_are_attributed_to_the_experiment_and_variant_seen_before(backend: Backend) -> None:
    async def go(store: Store) -> tuple[Any, ...]:
        first = impression("v1", NOW, "B", segments=["vip"])
        await store.ingest(
            "shop",
            [
                first,
                event(
                    "v1",
                    "click",
                    NOW + 5,
                    properties={"slot": "offer", "variant": "exp:B", "experiment": "offer-2026", "arm": "B"},
                ),
                event("v1", "purchase", NOW + 60, value=40.0, currency="EUR"),
                impression("v2", NOW, "control"),
                # Before v3's first exposure: a pre-period outcome, not attributed.
                event("v3", "purchase", NOW - 3600, value=10.0),
                impression("v3", NOW, "control"),
                # Outside the 7-day window: not attributed.
                event("v3", "purchase", NOW + 8 * DAY, value=99.0),
            ],
        )
        again = await store.ingest("shop", [first])
        counts = await store.counters("shop", [SCOPE, "exp|offer-2026"])
        return counts, again

    counts, again = backend.run(go)
    table = expcounters.arm_table(counts["exp|offer-2026"])
    assert table["B"]["n"]["n"] == 1 and table["control"]["n"]["n"] == 2
    assert table["B"]["revenue"]["sum"] == 40.0 and table["B"]["purchase"]["sum"] == 1.0
    assert table["B"]["clicks"]["sum"] == 1.0
    assert table["control"].get("revenue", {}).get("sum", 0.0) == 0.0
    assert table["control"]["revenue"]["pre"] == 10.0  # v3's purchase in the week before assignment
    assert table["control"]["revenue"]["presq"] == 100.0
    assert row(counts, "offer", "exp:B", "impressions") == 1.0
    assert row(counts, "offer", "exp:B", "impressions", "vip") == 1.0
    assert row(counts, "offer", "exp:B", "clicks") == 1.0
    assert row(counts, "offer", "exp:B", "revenue") == 40.0
    assert row(counts, "offer", "exp:B", "converters") == 1.0
    assert row(counts, "offer", "exp:control", "visitors") == 2.0
    assert row(counts, "offer", "exp:control", "conversions") == 0.0
    assert row(counts, "", "", "revenue") == 50.0  # the site row counts all the day's purchases
    assert again.duplicates  # a retried exposure counts once
    assert row(counts, "offer", "exp:B", "impressions") == 1.0


def test_anonymous_visitors_count_in_aggregates_but_leave_no_state(backend: Backend) -> None:
    async def go(store: Store) -> tuple[Any, ...]:
        batch = [impression("anon", NOW, "B"), event("anon", "purchase", NOW + 1, value=5.0)]
        first = await store.ingest_anonymous("shop", batch)
        second = await store.ingest_anonymous("shop", batch)
        counts = await store.counters("shop", [SCOPE, "exp|offer-2026"])
        return first, second, counts, await store.measure_state("shop", "anon"), await store.events("shop", "anon")

    first, second, counts, state, events = backend.run(go)
    assert len(first.stored) == 2 and len(second.duplicates) == 2
    assert row(counts, "offer", "exp:B", "impressions") == 1.0
    assert row(counts, "", "", "revenue") == 5.0
    assert "B\x1fn\x1f" not in counts.get("exp|offer-2026", {})  # no assignment without a visitor state
    assert state is None and events == []


def test_erasure_and_withdrawn_consent_drop_the_visitor_state(backend: Backend) -> None:
    async def go(store: Store) -> tuple[Any, ...]:
        await store.ingest("shop", [impression("v1", NOW, "B"), impression("v2", NOW, "B")])
        had = await store.measure_state("shop", "v1")
        await store.erase("shop", "v1")
        await store.set_consent("shop", "v2", "anonymous")
        return had, await store.measure_state("shop", "v1"), await store.measure_state("shop", "v2")

    had, erased, withdrawn = backend.run(go)
    assert had is not None and had["x"]["offer-2026"][1] == "B"
    assert erased is None and withdrawn is None


def test_served_counts_stay_apart_from_viewable_impressions(backend: Backend) -> None:
    async def go(store: Store) -> dict[str, dict[str, float]]:
        await store.add_counts("shop", {(SCOPE, "offer\x1fexp:B\x1f\x1fserved"): 3.0})
        await store.ingest("shop", [impression("v1", NOW, "B")])
        await store.rebuild_measures("shop")  # served counts are not in the log and survive a rebuild
        return await store.counters("shop", [SCOPE])

    counts = backend.run(go)
    assert row(counts, "offer", "exp:B", "served") == 3.0
    assert row(counts, "offer", "exp:B", "impressions") == 1.0


def _random_stream(rng: random.Random) -> list[dict[str, Any]]:
    events = []
    for v in range(40):
        visitor = f"v{v}"
        start = NOW - rng.uniform(0, 20) * DAY
        for _ in range(rng.randint(1, 12)):
            ts = start + rng.uniform(0, 15) * DAY
            kind = rng.random()
            arm = rng.choice(["control", "B", None])
            if kind < 0.35:
                events.append(
                    impression(
                        visitor,
                        ts,
                        arm,
                        slot=rng.choice(["offer", "hero"]),
                        segments=rng.sample(["vip", "new"], rng.randint(0, 2)),
                    )
                )
            elif kind < 0.5:
                props = {"slot": "offer", "variant": "exp:B", "experiment": "offer-2026", "arm": "B"}
                events.append(event(visitor, "click", ts, properties=props))
            elif kind < 0.7:
                events.append(event(visitor, "purchase", ts, value=round(rng.uniform(1, 200), 2), currency="EUR"))
            elif kind < 0.8:
                events.append(event(visitor, rng.choice(["signup", "conversion"]), ts))
            elif kind < 0.9:
                events.append(
                    event(
                        visitor,
                        "engagement",
                        ts,
                        properties={
                            "time_on_page": rng.randint(1, 300),
                            "scroll_depth": rng.random(),
                            "variants": {"offer": "default"},
                        },
                    )
                )
            else:
                events.append(event(visitor, "page_view", ts))
    return events


def _close(a: dict[str, dict[str, float]], b: dict[str, dict[str, float]]) -> None:
    assert sorted(a) == sorted(b)
    for scope in a:
        keys = {k for k, v in a[scope].items() if abs(v) > 1e-9} | {k for k, v in b[scope].items() if abs(v) > 1e-9}
        for key in keys:
            assert a[scope].get(key, 0.0) == pytest.approx(b[scope].get(key, 0.0), rel=1e-9, abs=1e-6), (scope, key)


def test_incremental_aggregates_equal_a_rebuild_from_the_log(backend: Backend) -> None:
    rng = random.Random(7)
    events = _random_stream(rng)
    stream = events + rng.sample(events, 30)  # retries
    rng.shuffle(stream)
    scopes = sorted({f"kpi|{day}" for day in _days()} | {"exp|offer-2026"})

    async def go(store: Store) -> tuple[Any, Any, int]:
        store.measure = MeasureSettings(windows={"offer-2026": 3 * DAY})
        i = 0
        while i < len(stream):
            size = rng.randint(1, 25)
            await store.ingest("shop", stream[i : i + size])
            i += size
        incremental = await store.counters("shop", scopes)
        visitors = await store.rebuild_measures("shop")
        return incremental, await store.counters("shop", scopes), visitors

    incremental, rebuilt, visitors = backend.run(go)
    assert visitors == 40
    assert sum(incremental["exp|offer-2026"].get(f"{a}\x1fn\x1f", 0) for a in ("B", "control")) > 10
    _close(incremental, rebuilt)


def _days() -> list[str]:
    from datetime import UTC, datetime

    return [datetime.fromtimestamp(NOW + d * DAY, UTC).strftime("%Y-%m-%d") for d in range(-25, 40)]
