# SPDX-License-Identifier: Apache-2.0
"""The SQLite WAL stays bounded under sustained ingest with concurrent readers, and what was
acknowledged is still there after the checkpoints that cut it (hardening, defect 7)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path

from slotwise.gateway.visitors.stores.sqlite import SQLiteStore

LIMIT = 2 * 1024 * 1024  # small, so that a few seconds of ingest cross it many times


def batch(visitor: int, n: int, start: int) -> list[dict[str, object]]:
    return [
        {
            "event_id": f"e-{visitor}-{start + i}",
            "visitor_id": f"v{visitor}",
            "type": "item_view",
            "ts": 1_790_000_000.0 + start + i,
            "item_id": f"item-{(start + i) % 300}",
            "properties": {"pad": "x" * 200},
        }
        for i in range(n)
    ]


async def _ingest_and_read(store: SQLiteStore, volume: int, max_seconds: float = 120) -> tuple[int, int]:
    """Writers post batches, while readers keep loading profiles (readers are what keeps a
    passive checkpoint from ever reaching the end of the WAL), until `volume` bytes were
    written to the database and the WAL together (by volume, not time: CI machines differ)."""
    deadline = time.monotonic() + max_seconds
    acknowledged = 0
    peak = 0

    def done() -> bool:
        written = os.path.getsize(store.path) + store.wal_size()
        return written > volume or time.monotonic() > deadline

    async def writer(w: int) -> None:
        nonlocal acknowledged, peak
        n = 0
        while not done():
            result = await store.ingest("s", batch(w * 1000 + n % 50, 50, n * 50))
            acknowledged += len(result.stored)
            n += 1
            peak = max(peak, store.wal_size())

    async def reader() -> None:
        while not done():
            await store.profile("s", f"v{int(time.monotonic() * 1000) % 50}")
            await asyncio.sleep(0)

    await asyncio.gather(*(writer(w) for w in range(4)), *(reader() for _ in range(4)))
    return acknowledged, peak


def test_wal_stays_bounded_and_acknowledged_events_survive(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SQLiteStore(path, wal_limit_bytes=LIMIT)
    acknowledged, peak = asyncio.run(_ingest_and_read(store, 10 * LIMIT))
    # The database has grown far beyond the limit: without bounded checkpoints the WAL would too.
    assert os.path.getsize(path) > 4 * LIMIT
    # One checkpoint interval (0.5 s) of ingest may land above the limit before it is cut.
    assert peak < 6 * LIMIT, f"WAL peaked at {peak} bytes with a limit of {LIMIT}"
    # Read with a separate connection while the store is still open (no clean shutdown yet).
    conn = sqlite3.connect(path)
    stored = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    conn.close()
    assert stored == acknowledged > 0
    asyncio.run(store.close())


def test_without_a_limit_the_wal_is_not_cut(tmp_path: Path) -> None:
    """The control: the same load with the limit out of reach keeps growing the WAL, which is
    what the limit is for (if this stops holding, the test above proves nothing)."""
    store = SQLiteStore(tmp_path / "store.db", wal_limit_bytes=1 << 40)
    _, peak = asyncio.run(_ingest_and_read(store, 20 * LIMIT))
    asyncio.run(store.close())
    assert peak > 6 * LIMIT, f"WAL peaked at {peak} bytes without a limit"
