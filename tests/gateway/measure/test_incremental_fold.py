# SPDX-License-Identifier: Apache-2.0
"""The incremental measurement fold equals the full recomputation, on random event streams.

`attribution.fold` says when it left a state unchanged, and `aggregate.fold_state` then skips
the contribution (and the SQLite store the state's upsert). These tests check that it never says
so wrongly, that batch by batch the deltas sum to `rebuild`'s counters and the states equal the
rebuilt ones, and that the SQLite table holds every visitor's state after the skipped writes.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slotwise.gateway.common.jsoncodec import loads
from slotwise.gateway.measure import aggregate, attribution
from slotwise.gateway.measure.attribution import DAY, MeasureSettings
from slotwise.gateway.measure.bandit_rewards import BanditRule
from slotwise.gateway.measure.kpis import Counts
from slotwise.gateway.visitors.stores.sqlite import SQLiteStore

NOW = 1_790_000_000.0
SETTINGS = MeasureSettings(
    windows={"exp1": 2 * DAY},
    bandits={"band": BanditRule("conversion", 3 * DAY, frozenset({"a", "b"}))},
)


@st.composite
def events(draw: Any) -> dict[str, Any]:
    """One event of a few visitors over a few days: repeats of a day, slot and time are likely."""
    ts = NOW + draw(st.integers(0, 5)) * DAY + draw(st.sampled_from([0.0, 10.0, 3600.0, 7200.5]))
    etype = draw(st.sampled_from(["page_view", "item_view", "impression", "click", "purchase", "signup", "engagement"]))
    e: dict[str, Any] = {"visitor_id": draw(st.sampled_from(["v1", "v2", "v3"])), "type": etype, "ts": ts}
    if etype in ("impression", "click") and draw(st.booleans()):
        props: dict[str, Any] = {"slot": draw(st.sampled_from(["hero", "offer"])), "variant": "x"}
        which = draw(st.sampled_from(["plain", "exp", "bandit"]))
        if which == "exp":
            props.update(experiment="exp1", arm=draw(st.sampled_from(["control", "B"])))
        elif which == "bandit":
            props.update(experiment="band", arm=draw(st.sampled_from(["a", "b", "gone"])), propensity=0.5)
        props["segments"] = draw(st.lists(st.sampled_from(["vip", "new", "eu"]), max_size=2))
        e["properties"] = props
    if etype == "purchase":
        e["value"] = draw(st.sampled_from([0.0, 9.5, 120.0]))
    return e


streams = st.lists(events(), min_size=1, max_size=60)


def _numbered(stream: list[dict[str, Any]], repeats: list[int]) -> list[dict[str, Any]]:
    out = [{**e, "event_id": f"e{i}"} for i, e in enumerate(stream)]
    return out + [out[i % len(out)] for i in repeats]  # a retry is the same event again


def _batches(stream: list[dict[str, Any]], cuts: list[int]) -> list[list[dict[str, Any]]]:
    edges = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    return [stream[a:b] for a, b in itertools.pairwise(edges) if b > a]


def _close(a: Counts, b: Counts) -> None:
    for key in {k for k, v in a.items() if abs(v) > 1e-9} | {k for k, v in b.items() if abs(v) > 1e-9}:
        assert a.get(key, 0.0) == pytest.approx(b.get(key, 0.0), rel=1e-9, abs=1e-6), key


@settings(max_examples=300, deadline=None)
@given(streams, st.integers(1, 400))
def test_fold_reports_unchanged_only_when_the_state_is_unchanged(stream: list[dict[str, Any]], cap: int) -> None:
    state = attribution.empty()
    seen: set[str] = set()
    # Small caps, so that items falling below a cap (unchanged, though inserted and dropped) occur.
    with pytest.MonkeyPatch.context() as mp:
        for name in ("MAX_DAYS", "MAX_SEEN", "MAX_OUTCOMES"):
            mp.setattr(attribution, name, 1 + cap % 4)
        for e in _numbered(stream, [0, 1, 2]):
            before = copy.deepcopy(state)
            changed = attribution.fold(state, e)
            if not changed:
                assert state == before, e
            elif e["event_id"] in seen:  # a repeat never changes the state (dedup is the store's)
                assert state == before
            seen.add(e["event_id"])


@settings(max_examples=300, deadline=None)
@given(streams, st.lists(st.integers(0, 100), max_size=8), st.lists(st.integers(0, 60), max_size=10))
def test_batchwise_fold_equals_the_full_recomputation(
    stream: list[dict[str, Any]], cuts: list[int], repeats: list[int]
) -> None:
    logged = _numbered(stream, repeats)
    cache: dict[str, tuple[dict[str, Any], Counts]] = {}
    stored: dict[str, str] = {}
    total: Counts = {}
    seen: set[str] = set()
    for batch in _batches(logged, cuts):
        fresh: dict[str, list[dict[str, Any]]] = {}
        for e in batch:  # what a store logs: each event once
            if e["event_id"] not in seen:
                seen.add(e["event_id"])
                fresh.setdefault(e["visitor_id"], []).append(e)
        for visitor, evs in fresh.items():
            state, before = cache.get(visitor, (attribution.empty(), {}))
            after = aggregate.fold_state(state, before, evs, SETTINGS, total)
            if after is not before or visitor not in stored:  # what the SQLite store writes
                stored[visitor] = attribution.dumps(state)
            cache[visitor] = (state, after)
            assert after == aggregate.contribution(state, SETTINGS)  # the kept contribution is exact
    by_visitor: dict[str, list[dict[str, Any]]] = {}
    for e in logged:
        by_visitor.setdefault(e["visitor_id"], []).append(e)
    states, rebuilt = aggregate.rebuild(by_visitor.items(), SETTINGS)
    assert {v: loads(b) for v, b in stored.items()} == {v: loads(b) for v, b in states.items()}
    _close(total, rebuilt)


def _counts(store: SQLiteStore) -> Counts:
    rows = store._reader.conn.execute("SELECT scope, key, sum(value) FROM measure_counters GROUP BY scope, key")
    return {(scope, key): value for scope, key, value in rows}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(streams, st.lists(st.integers(0, 100), max_size=8), st.lists(st.integers(0, 60), max_size=10))
def test_sqlite_keeps_every_state_when_unchanged_ones_are_not_rewritten(
    tmp_path: Path, stream: list[dict[str, Any]], cuts: list[int], repeats: list[int]
) -> None:
    logged = [{**e, "ts": round(e["ts"], 3)} for e in _numbered(stream, repeats)]
    path = tmp_path / f"s{abs(hash((len(stream), tuple(cuts), tuple(repeats))))}-{id(stream)}.db"

    async def go() -> tuple[dict[str, Any], Counts, dict[str, Any], Counts]:
        store = SQLiteStore(path)
        store.measure = SETTINGS
        for batch in _batches(logged, cuts):
            await store.ingest("shop", batch)
        incremental = _counts(store)
        await store.close()
        reopened = SQLiteStore(path)  # no cache: what the table holds
        reopened.measure = SETTINGS
        visitors = sorted({e["visitor_id"] for e in logged})
        states = {v: await reopened.measure_state("shop", v) for v in visitors}
        await reopened.rebuild_measures("shop")
        rebuilt_states = {v: await reopened.measure_state("shop", v) for v in visitors}
        rebuilt = _counts(reopened)
        await reopened.close()
        return states, incremental, rebuilt_states, rebuilt

    states, incremental, rebuilt_states, rebuilt = asyncio.run(go())
    assert states == rebuilt_states
    assert any(states.values())  # consent and defaults let the states be kept
    _close(incremental, rebuilt)


def test_clicks_at_the_same_second_with_and_without_an_experiment_fold_in_either_order() -> None:
    # Their records differ first in the experiment, a string against None: the fold raised a
    # TypeError and the store failed the whole ingest job (found by the test above).
    plain = {"event_id": "c1", "visitor_id": "v1", "type": "click", "ts": NOW, "properties": {"slot": "hero"}}
    exp = {**plain, "event_id": "c2", "properties": {"slot": "hero", "variant": "x", "experiment": "exp1", "arm": "B"}}
    plain["properties"]["variant"] = "x"
    states = []
    for order in ((plain, exp), (exp, plain)):
        state = attribution.empty()
        assert all([attribution.fold(state, e) for e in order])
        states.append(state)
    assert states[0] == states[1]
    assert [r[3] for r in states[0]["o"]] == [None, "exp1"]
