# SPDX-License-Identifier: Apache-2.0
"""The SQLite store's measurement tables: counters, visitor attribution states, anonymous ids.

`logged` marks counters derived from the event log (1, rebuilt by `rebuild_measures`) apart
from those that are not (0: served impressions, visitors with consent `anonymous`).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from slotwise.gateway.common.jsoncodec import dumps, loads
from slotwise.gateway.measure import attribution
from slotwise.gateway.measure.aggregate import anonymous_counts, contribution, fold_state, nonzero
from slotwise.gateway.measure.attribution import MeasureSettings
from slotwise.gateway.measure.kpis import Counts
from slotwise.gateway.visitors.stores.base import IngestResult, Lru
from slotwise.gateway.visitors.stores.sqlite_wal import TurnReader

T = TypeVar("T")
# A list of values as one parameter (a JSON array): one prepared statement whatever the list's
# length. `IN (?,?,...)` with one marker per value was a new statement for every length, and a
# connection keeps its last 128 statements: about 75 KiB each at 500 values, so up to about
# 10 MiB per connection, drifting with the batch sizes, and a churn of large allocations in the
# writer thread's heap that it did not give back (issue 11).
IN_LIST = "IN (SELECT value FROM json_each(?))"


ROWS_PER_STATEMENT = 64


@functools.lru_cache(maxsize=64)
def _with_rows(template: str, width: int, size: int) -> str:
    return template.replace("{rows}", ",".join(["(" + ",".join("?" * width) + ")"] * size))


def insert_rows(conn: sqlite3.Connection, template: str, rows: list[tuple[Any, ...]]) -> list[Any]:
    """Rows as multi-row `VALUES` statements (`{rows}` in the template), in chunks of 64, 32, 16,
    ... rows, and what they return. `executemany` steps once per row, and each step gives the
    GIL up and back: while the event loop's thread is busy, every taking back waits up to the
    interpreter's switch interval (5 ms), and the writer thread kept up with only a fraction
    of a busy gateway's served exposures, which queued up to their bound (issue 11's memory
    test: about 7 MB a window until 50,000 were queued). Chunk sizes are powers of two, so
    each template makes at most seven statements for the connection's statement cache. (One
    JSON array through `json_each` was one step too, but took 7 times as long as
    `executemany` for rows of kilobyte profiles: SQLite parsed each row's JSON once per
    column.)"""
    out: list[Any] = []
    i, n = 0, len(rows)
    while i < n:
        size = min(ROWS_PER_STATEMENT, 1 << ((n - i).bit_length() - 1))
        chunk = rows[i : i + size]
        out.extend(conn.execute(_with_rows(template, len(chunk[0]), size), [v for row in chunk for v in row]))
        i += size
    return out


MEASURE_SCHEMA = """
CREATE TABLE IF NOT EXISTS measure_counters (site TEXT NOT NULL, scope TEXT NOT NULL, key TEXT NOT NULL,
  logged INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (site, scope, key, logged)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS measure_states (site TEXT NOT NULL, visitor_id TEXT NOT NULL,
  body TEXT NOT NULL, PRIMARY KEY (site, visitor_id));
CREATE TABLE IF NOT EXISTS measure_ids (site TEXT NOT NULL, event_id TEXT NOT NULL, ts REAL NOT NULL,
  PRIMARY KEY (site, event_id)) WITHOUT ROWID;
"""
# Upserts rewrite the row in place (INSERT OR REPLACE deletes it and inserts it again).
# Templates for `insert_rows`.
PUT_PROFILE = "INSERT INTO profiles VALUES {rows} ON CONFLICT (site, visitor_id) DO UPDATE SET body = excluded.body"
PUT_STATE = "INSERT INTO measure_states VALUES {rows} ON CONFLICT (site, visitor_id) DO UPDATE SET body = excluded.body"
ADD_COUNT = (
    "INSERT INTO measure_counters VALUES {rows} "
    "ON CONFLICT (site, scope, key, logged) DO UPDATE SET value = value + excluded.value"
)
ADD_ANONYMOUS_ID = "INSERT OR IGNORE INTO measure_ids VALUES {rows} RETURNING event_id"


class SQLiteMeasure:
    """Mixed into `SQLiteStore`: runs inside its writer thread's transactions."""

    measure: MeasureSettings
    measure_enabled: bool
    _reader: TurnReader
    _txn_counts: dict[str, Counts]  # deltas of the open transaction, by site
    _states: Lru[tuple[str, str], tuple[dict[str, Any], Counts]]  # the writer's, bounded

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError

    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        raise NotImplementedError

    def _measure(self, conn: sqlite3.Connection, site: str, fresh: dict[str, list[dict[str, Any]]]) -> None:
        """Attribution states and counters, in the transaction that logs the events."""
        cached = self._states  # parsed states and their contributions, as this writer left them
        visitors = [v for v in fresh if (site, v) not in cached]
        bodies: dict[str, str] = {}
        if visitors:
            bodies.update(
                conn.execute(
                    f"SELECT visitor_id, body FROM measure_states WHERE site=? AND visitor_id {IN_LIST}",
                    (site, dumps(visitors)),
                )
            )
        deltas: Counts = {}
        rows = []
        for visitor, evs in fresh.items():
            hit = cached.get((site, visitor))
            stored = True
            if hit is None:
                body = bodies.get(visitor)
                stored = body is not None
                state = attribution.loads(body)
                hit = (state, contribution(state, self.measure) if body else {})
            state, before = hit
            after = fold_state(state, before, evs, self.measure, deltas)
            cached.put((site, visitor), (state, after))
            # `before` itself back: the state is unchanged, and its row (read from the table, or
            # written by this writer: the cache is dropped whenever a transaction fails) holds it.
            if after is not before or not stored:
                rows.append((site, visitor, attribution.dumps(state)))
        insert_rows(conn, PUT_STATE, rows)
        # Counter deltas of every job in this group commit are merged and written once, just
        # before COMMIT (`_flush_measure`): concurrent sessions share most of their counters.
        pending = self._txn_counts.setdefault(site, {})
        for key, value in deltas.items():
            pending[key] = pending.get(key, 0.0) + value

    def _flush_measure(self, conn: sqlite3.Connection, ok: bool = True) -> None:
        """Called by the writer before COMMIT (ok) or after a failed transaction (not ok)."""
        pending, self._txn_counts = self._txn_counts, {}
        if ok:
            for site, deltas in pending.items():
                insert_rows(conn, ADD_COUNT, [(site, scope, key, 1, value) for scope, key, value in nonzero(deltas)])

    async def ingest_anonymous(self, site: str, events: list[dict[str, Any]]) -> IngestResult:
        def job(conn: sqlite3.Connection) -> IngestResult:
            result = IngestResult()
            rows = [(site, e["event_id"], e["ts"]) for e in events]
            fresh = {r[0] for r in insert_rows(conn, ADD_ANONYMOUS_ID, rows)}
            new = []
            for e in events:  # a second copy in the batch is a duplicate of the first
                if e["event_id"] in fresh:
                    fresh.discard(e["event_id"])
                    result.stored.append(e["event_id"])
                    new.append(e)
                else:
                    result.duplicates.append(e["event_id"])
            if self.measure_enabled:
                counts = nonzero(anonymous_counts(new))
                insert_rows(conn, ADD_COUNT, [(site, scope, key, 0, value) for scope, key, value in counts])
            return result

        return await self._run(job)

    async def add_counts(self, site: str, counts: dict[tuple[str, str], float]) -> None:
        rows = [(site, scope, key, 0, value) for scope, key, value in nonzero(counts)]
        await self._run(lambda conn: insert_rows(conn, ADD_COUNT, rows))

    async def counters(self, site: str, scopes: list[str]) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for scope, key, value in self._reader.execute(
            f"SELECT scope, key, sum(value) FROM measure_counters WHERE site=? AND scope {IN_LIST} GROUP BY scope, key",
            (site, dumps(scopes)),
        ):
            out.setdefault(scope, {})[key] = value
        return out

    async def measure_state(self, site: str, visitor_id: str) -> dict[str, Any] | None:
        body = self._one("SELECT body FROM measure_states WHERE site=? AND visitor_id=?", (site, visitor_id))
        return loads(body) if body else None

    async def _replace_measures(self, site: str, states: dict[str, str], counts: dict[tuple[str, str], float]) -> None:
        def job(conn: sqlite3.Connection) -> None:
            self._states.clear()
            conn.execute("DELETE FROM measure_counters WHERE site=? AND logged=1", (site,))
            conn.execute("DELETE FROM measure_states WHERE site=?", (site,))
            insert_rows(conn, PUT_STATE, [(site, v, b) for v, b in states.items()])
            insert_rows(conn, ADD_COUNT, [(site, scope, key, 1, value) for scope, key, value in nonzero(counts)])

        await self._run(job)
