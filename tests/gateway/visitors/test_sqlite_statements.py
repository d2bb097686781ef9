# SPDX-License-Identifier: Apache-2.0
"""The SQLite store runs a bounded set of statements whatever the sizes of batches (issue 11).

A statement with one `?` per value was a different statement for every list length: each
connection's statement cache (128 statements) then held large prepared statements (about
75 KiB each at 500 values, up to about 10 MiB per connection) and replaced them batch after
batch, memory that the writer thread's heap kept. Lists are now one JSON parameter, and rows go
in as multi-row statements of 1, 2, 4, ... 64 rows: at most seven per kind of row.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from slotwise.gateway.visitors.stores.sqlite import SQLiteStore


class Recording:
    """A connection that records the SQL text of each statement it runs."""

    def __init__(self, conn: sqlite3.Connection, seen: set[str]):
        self._conn = conn
        self._seen = seen

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._seen.add(sql)
        return self._conn.execute(sql, *args)

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._seen.add(sql)
        return self._conn.executemany(sql, *args)

    def close(self) -> None:
        self._conn.close()


def events(first: int, n: int) -> list[dict[str, Any]]:
    """n impressions of visitors first..first+n-1 (a visitor every other event is new)."""
    return [
        {
            "event_id": f"e{first}-{k}",
            "visitor_id": f"v{(first + k) // 2}",
            "type": "impression",
            "ts": 1_790_000_000.0 + k,
            "properties": {"slot": "offer", "variant": "a", "experiment": "x", "arm": "a", "kind": "served"},
        }
        for k in range(n)
    ]


def test_statements_do_not_depend_on_batch_sizes(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "events.db")
    seen: set[str] = set()
    run = store._run

    async def recorded(fn: Callable[[sqlite3.Connection], Any]) -> Any:
        return await run(lambda conn: fn(Recording(conn, seen)))  # type: ignore[arg-type]

    store._run = recorded  # type: ignore[method-assign]
    store._reader.conn = Recording(store._reader.conn, seen)  # type: ignore[assignment]

    async def batches(sizes: range) -> set[str]:
        seen.clear()
        for n in sizes:
            store._forget_all()  # the visitors' profiles and states are then read from the tables
            await store.ingest("s", events(n * 1000, n))
            await store.ingest("s", events(n * 1000, n))  # all duplicates: no profile written
            await store.counters("s", [f"scope{k}" for k in range(n)])
        return set(seen)

    async def main() -> tuple[set[str], set[str]]:
        try:
            return await batches(range(1, 140)), await batches(range(140, 300, 9))
        finally:
            await store.close()

    small, large = asyncio.run(main())
    assert any("FROM consent" in sql for sql in small)
    assert any("FROM measure_states" in sql for sql in small)
    assert large == small, sorted(large - small)[:3]
    assert len(small) <= 40, sorted(small)  # the reads, and seven sizes of four kinds of rows
