# SPDX-License-Identifier: Apache-2.0
"""The render path's served-impression counter stays bounded and loses nothing (issue 11's memory
item): queued assignments are written early when many wait, the visitors remembered are capped,
and a write the store refused is kept for the next one."""

from __future__ import annotations

import asyncio
from pathlib import Path

from slotwise.gateway.measure.exposures import ServedCounter
from slotwise.gateway.visitors.stores.sqlite import SQLiteStore

NOW = 1_790_000_000.0
SCOPE = "kpi|2026-09-21"


def block(arm: str) -> dict[str, object]:
    return {"html": "<p>x</p>", "variant": f"exp:{arm}", "experiment": {"key": "offer-2026", "arm": arm}}


def test_many_fresh_visitors_keep_memory_bounded_and_every_assignment_reaches_the_store(tmp_path: Path) -> None:
    async def go() -> tuple[int, int, int, float]:
        store = SQLiteStore(tmp_path / "s.db")
        counter = ServedCounter(seen_slots=300)
        counter.MAX_PENDING = 100
        most_pending = 0
        try:
            for i in range(2_000):
                counter.add("shop", {"offer": block("B" if i % 2 else "control")}, store, f"v{i}", now=NOW)
                most_pending = max(most_pending, len(counter._assignments))
                await asyncio.sleep(0)  # as a server's loop does between requests
            while counter._task is not None:
                await asyncio.sleep(0.05)
            await counter.flush(store)
            served = (await store.counters("shop", [SCOPE]))[SCOPE]
            total = sum(v for k, v in served.items() if k.endswith("\x1fserved"))
            return await store.count_events("shop"), len(counter._seen), most_pending, total
        finally:
            await store.close()

    events, seen_slots, most_pending, served = asyncio.run(go())
    assert events == 2_000  # one served exposure per visitor: none dropped by the bounds
    assert served == 2_000.0
    assert seen_slots == 300  # a fixed array: never grown
    assert most_pending < 2_000  # written early, not held for a second


def test_a_refused_write_is_kept_and_written_by_the_next_flush(tmp_path: Path) -> None:
    async def go() -> tuple[int, float, int]:
        closed = SQLiteStore(tmp_path / "down.db")
        await closed.close()  # every write raises "store is closed"
        store = SQLiteStore(tmp_path / "up.db")
        counter = ServedCounter()
        try:
            for i in range(10):
                counter.add("shop", {"offer": block("B")}, None, f"v{i}", now=NOW)
            await counter.flush(closed)
            pending = len(counter._assignments)
            await counter.flush(store)
            served = (await store.counters("shop", [SCOPE]))[SCOPE]["offer\x1fexp:B\x1f\x1fserved"]
            return await store.count_events("shop"), served, pending
        finally:
            await store.close()

    events, served, pending = asyncio.run(go())
    assert pending == 10
    assert events == 10
    assert served == 10.0


def test_the_writers_cached_state_is_dropped_when_another_connection_writes(tmp_path: Path) -> None:
    """The SQLite writer caches each visitor's parsed measurement state; a second process on the
    same file (a CLI, another worker) must not make it fold new events into a stale state."""
    scope = "exp|offer-2026"

    def impression(i: int, arm: str) -> dict[str, object]:
        props = {"slot": "offer", "variant": f"exp:{arm}", "experiment": "offer-2026", "arm": arm}
        return {"event_id": f"e{i}", "visitor_id": "v1", "type": "impression", "ts": NOW + i, "properties": props}

    def purchase(i: int) -> dict[str, object]:
        return {"event_id": f"e{i}", "visitor_id": "v1", "type": "purchase", "ts": NOW + i, "value": 10.0}

    async def go() -> tuple[dict[str, float], dict[str, float]]:
        first, second = SQLiteStore(tmp_path / "s.db"), SQLiteStore(tmp_path / "s.db")
        try:
            await first.ingest("shop", [impression(1, "B")])  # first caches v1's state
            await second.ingest("shop", [purchase(2)])  # a buyer now (binomial: counted once)
            await first.ingest("shop", [purchase(3)])  # a stale state would count the buyer twice
            incremental = (await first.counters("shop", [scope]))[scope]
            await first.rebuild_measures("shop")
            return incremental, (await first.counters("shop", [scope]))[scope]
        finally:
            await first.close()
            await second.close()

    incremental, rebuilt = asyncio.run(go())
    assert incremental["B\x1fpurchase\x1fsum"] == 1.0
    assert {k: v for k, v in incremental.items() if v} == {k: v for k, v in rebuilt.items() if v}


def test_closing_writes_what_waits_before_the_store_closes(tmp_path: Path) -> None:
    async def go() -> tuple[bool, int]:
        store = SQLiteStore(tmp_path / "s.db")
        counter = ServedCounter()
        try:
            for i in range(5):
                counter.add("shop", {"offer": block("B")}, store, f"v{i}", now=NOW)
            waiting = counter._task is not None  # the write would come a second later
            await counter.close(store)
            return waiting, await store.count_events("shop")
        finally:
            await store.close()

    waiting, events = asyncio.run(go())
    assert waiting
    assert events == 5  # written at once, none left for a store about to close
