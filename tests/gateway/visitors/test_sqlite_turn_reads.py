# SPDX-License-Identifier: Apache-2.0
"""The SQLite store's reads of one event-loop turn share one read transaction (`TurnReader`),
and that snapshot never hides what this process wrote before a read, nor outlives the turn."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from slotwise.gateway.visitors.profiles import Profile
from slotwise.gateway.visitors.stores import sqlite_profiles
from slotwise.gateway.visitors.stores.sqlite import SQLiteStore


def view(visitor: str, n: int) -> dict[str, object]:
    return {"event_id": f"e-{visitor}-{n}", "visitor_id": visitor, "type": "item_view", "ts": 1_790_000_000.0 + n}


def test_a_commit_of_the_writer_during_a_turn_is_seen_by_the_next_read_of_that_turn(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "events.db")

    def ingest_elsewhere() -> None:  # another thread and loop: this loop's turn goes on meanwhile
        asyncio.run(store.ingest("s", [view("v", 1)]))

    async def main() -> tuple[int, int]:
        try:
            before = len(await store.events("s", "v"))  # begins the turn's snapshot
            writer = threading.Thread(target=ingest_elsewhere)
            writer.start()
            writer.join(10)  # blocks the loop: still the same turn
            return before, len(await store.events("s", "v"))
        finally:
            await store.close()

    assert asyncio.run(main()) == (0, 1)


def test_a_profile_written_and_dropped_from_the_unwritten_ones_during_a_turn_is_still_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the commit count closes: a render's snapshot began before the writer committed a
    profile and then dropped it from its unwritten ones; the next read finds it in neither."""
    monkeypatch.setattr(sqlite_profiles, "PROFILE_FLUSH_SECONDS", 0.0)  # every commit writes them
    store = SQLiteStore(tmp_path / "events.db")

    def ingest_elsewhere() -> None:
        asyncio.run(store.ingest("s", [view("v", 1)]))

    async def main() -> tuple[Profile | None, object, Profile | None]:
        try:
            before, _ = await store.load_for_render("s", "v")  # begins the turn's snapshot
            writer = threading.Thread(target=ingest_elsewhere)
            writer.start()
            writer.join(10)
            unwritten = store._unflushed("s", "v")  # written, so no longer held back
            after, _ = await store.load_for_render("s", "v")
            return before, unwritten, after
        finally:
            await store.close()

    before, unwritten, after = asyncio.run(main())
    assert before is None and unwritten is sqlite_profiles.MISSING
    assert after is not None and after.totals == {"item_view": 1}


def test_another_process_commit_is_hidden_for_the_rest_of_the_turn_and_seen_on_the_next(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    store = SQLiteStore(path)

    async def main() -> list[int]:
        seen = []
        try:
            await store.ingest("s", [view("v", 1)])
            seen.append(len(await store.events("s", "v")))  # the turn's snapshot: one event
            other = sqlite3.connect(path, isolation_level=None)  # as `slotwise store erase` would
            other.execute("DELETE FROM events WHERE site='s' AND visitor_id='v'")
            other.close()
            seen.append(len(await store.events("s", "v")))  # same turn, same snapshot
            await asyncio.sleep(0)  # the next turn: the snapshot has ended
            seen.append(len(await store.events("s", "v")))
        finally:
            await store.close()
        return seen

    assert asyncio.run(main()) == [1, 1, 0]


def test_reads_outside_an_event_loop_leave_no_transaction_open(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "events.db")
    asyncio.run(store.ingest("s", [view("v", 1)]))
    assert store._reader.execute("SELECT count(*) FROM events").fetchone() == (1,)
    assert not store._reader.conn.in_transaction  # nothing would end it: a checkpoint would wait for good
    asyncio.run(store.close())
