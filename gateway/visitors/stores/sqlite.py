# SPDX-License-Identifier: Apache-2.0
"""SQLite store (WAL): the embedded default, one file, no server.

Writes go through one writer thread that commits whatever jobs are waiting in one
transaction (group commit): a request is answered only after the commit that holds its
events, so an acknowledged event survives `kill -9` (WAL with synchronous=NORMAL is durable
against a process crash; `synchronous: full` also against power loss). Reads use their own
connection, which WAL never blocks. Profiles are written behind, rebuilt from the log after a
crash (`sqlite_profiles`).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from slotwise.gateway.common.jsoncodec import dumps, loads
from slotwise.gateway.measure.kpis import Counts
from slotwise.gateway.visitors.profiles import Profile
from slotwise.gateway.visitors.stores.base import IngestResult, Lru, Store, group_by_visitor
from slotwise.gateway.visitors.stores.sqlite_measure import (
    IN_LIST,
    MEASURE_SCHEMA,
    SQLiteMeasure,
    insert_rows,
)
from slotwise.gateway.visitors.stores.sqlite_profiles import (
    MISSING,
    PROFILE_FLUSH_MAX,
    PROFILE_FLUSH_SECONDS,
    SQLiteProfiles,
)
from slotwise.gateway.visitors.stores.sqlite_wal import SQLiteWal, TurnReader, connect

T = TypeVar("T")
log = logging.getLogger("slotwise.store")
DEFAULT_WAL_LIMIT = 64 * 1024 * 1024
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (site TEXT NOT NULL, event_id TEXT NOT NULL,
  visitor_id TEXT NOT NULL, ts REAL NOT NULL, body TEXT NOT NULL, PRIMARY KEY (site, event_id));
CREATE INDEX IF NOT EXISTS events_visitor ON events (site, visitor_id);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE TABLE IF NOT EXISTS profiles (site TEXT NOT NULL, visitor_id TEXT NOT NULL,
  body TEXT NOT NULL, PRIMARY KEY (site, visitor_id));
CREATE TABLE IF NOT EXISTS attributes (site TEXT NOT NULL, key TEXT NOT NULL,
  body TEXT NOT NULL, PRIMARY KEY (site, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS consent (site TEXT NOT NULL, visitor_id TEXT NOT NULL,
  level TEXT NOT NULL, PRIMARY KEY (site, visitor_id)) WITHOUT ROWID;
"""
PUT_EVENT = "INSERT INTO events VALUES {rows}"


class SQLiteStore(SQLiteWal, SQLiteMeasure, SQLiteProfiles, Store):
    def __init__(
        self,
        path: str | Path,
        *,
        retention_days: float = 365.0,
        synchronous: str = "normal",
        wal_limit_bytes: int = DEFAULT_WAL_LIMIT,
        cache_mb: int = 4,
    ):
        self.path = str(path)
        self.retention_days = retention_days
        self.wal_limit_bytes = wal_limit_bytes
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # Page cache: the writer's holds hot index pages; the others keep SQLite's 2 MiB (and the OS's).
        self._write = connect(self.path, synchronous, cache_mb * 1024)
        try:  # lists of values are JSON parameters (`IN_LIST`): built in since SQLite 3.38, JSON1 before
            self._write.execute("SELECT json_valid('[]')")
        except sqlite3.OperationalError as exc:
            self._write.close()
            raise RuntimeError(f"the SQLite store needs SQLite's JSON functions ({exc})") from None
        self._write.executescript(SCHEMA + MEASURE_SCHEMA)
        # Checkpoints run in their own thread, so a commit never waits for one.
        self._write.execute("PRAGMA wal_autocheckpoint=0")
        # Once a checkpoint has reset the WAL, SQLite truncates the file back to this size.
        self._write.execute(f"PRAGMA journal_size_limit={int(wal_limit_bytes)}")
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, args=(synchronous,), name="slotwise-sqlite-checkpoint", daemon=True
        )
        self._reader = TurnReader(connect(self.path, synchronous))
        self._jobs: queue.SimpleQueue[tuple[Callable[[sqlite3.Connection], Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._closed = False
        # Profiles and measurement states the writer last wrote; dropped whenever another
        # connection has committed (PRAGMA data_version moves), e.g. a CLI rebuild.
        self._cache: Lru[tuple[str, str], Profile] = Lru(PROFILE_FLUSH_MAX)  # ~10 KiB each
        self._states: Lru[tuple[str, str], tuple[dict[str, Any], Counts]] = Lru(5000)
        self._txn_counts = {}
        self._open_profiles(self._write)  # profiles are written behind (`sqlite_profiles`)
        self._data_version = self._write.execute("PRAGMA data_version").fetchone()[0]
        self._thread = threading.Thread(target=self._writer, name="slotwise-sqlite-writer", daemon=True)
        self._thread.start()
        self._checkpointer.start()

    # --- the writer thread: group commit -----------------------------------------------------

    def _writer(self) -> None:
        while True:
            try:  # unwritten profiles are written a second later even when no job comes
                job = self._jobs.get(timeout=PROFILE_FLUSH_SECONDS if self._dirty else None)
            except queue.Empty:
                job = (lambda conn: None, Future())
            if job is None:
                self._commit([], final=True)
                return
            batch = [job]
            while len(batch) < 256:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._jobs.put(None)
                    break
                batch.append(nxt)
            # A caller that gave up (its task cancelled: a timeout, a shutdown) cancelled its
            # future; a job taken is marked running so it can no longer be, since setting the
            # result of a cancelled future raises here and would end the writer thread.
            batch = [(fn, fut) for fn, fut in batch if fut.set_running_or_notify_cancel()]
            if batch:
                self._commit(batch)

    def _commit(
        self, batch: list[tuple[Callable[[sqlite3.Connection], Any], Future[Any]]], final: bool = False
    ) -> None:
        """One group commit: each job in a savepoint of its own, then the counters and (when due,
        or `final`) the unwritten profiles, COMMIT, and only then the callers' answers."""
        conn = self._write
        results: list[tuple[Future[Any], Any, BaseException | None]] = []
        written: list[tuple[Any, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if self._recover_pending:
                self._recover(conn)
            if version != self._data_version:  # another connection wrote (a CLI's rebuild, erasure)
                self._forget_all()
                self._foreign_write(conn)
                self._data_version = version
            for fn, fut in batch:
                conn.execute("SAVEPOINT job")
                try:
                    results.append((fut, fn(conn), None))
                    conn.execute("RELEASE job")
                except Exception as exc:  # one failing job must not undo the others
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    results.append((fut, None, exc))
                    self._forget_all()  # it may have folded into cached profiles and states
                    self._refold_dirty(conn)
            self._flush_measure(conn)
            written = self._flush_profiles(conn, force=final)
            conn.execute("COMMIT")
            self._reader.commits += 1
        except Exception as exc:
            self._flush_measure(conn, ok=False)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            results = [(fut, None, exc) for _, fut in batch]
            written = []
            self._forget_all()
            self._recover_pending = True  # the unwritten profiles may hold folds of what was undone
        else:
            self._flushed(written)
        for fut, value, error in results:
            if error is not None:
                fut.set_exception(error)
            else:
                fut.set_result(value)
        if self.wal_size() > self.wal_limit_bytes:
            self._truncate_wal(conn)

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise RuntimeError("store is closed")
        fut: Future[T] = Future()
        self._jobs.put((fn, fut))
        return await asyncio.wrap_future(fut)

    # --- writes ---------------------------------------------------------------------------------

    async def ingest(self, site: str, events: list[dict[str, Any]]) -> IngestResult:
        return await self._run(lambda conn: self._ingest(conn, site, events))

    def _ingest(self, conn: sqlite3.Connection, site: str, events: list[dict[str, Any]]) -> IngestResult:
        result = IngestResult()
        groups = group_by_visitor(events)
        blocked = {
            v
            for v, level in conn.execute(
                f"SELECT visitor_id, level FROM consent WHERE site=? AND visitor_id {IN_LIST}",
                (site, dumps(list(groups))),
            )
            if level != "full"
        }
        ids = [e["event_id"] for e in events]
        known = {
            r[0]
            for r in conn.execute(
                f"SELECT event_id FROM events WHERE site=? AND event_id {IN_LIST}", (site, dumps(ids))
            )
        }
        rows: list[tuple[str, str, str, float, str]] = []
        fresh: dict[str, list[dict[str, Any]]] = {}
        for visitor, evs in groups.items():
            if visitor in blocked:
                result.ignored.extend(e["event_id"] for e in evs)
                continue
            for e in evs:
                if e["event_id"] in known:
                    result.duplicates.append(e["event_id"])
                    continue
                known.add(e["event_id"])
                result.stored.append(e["event_id"])
                rows.append((site, e["event_id"], visitor, e["ts"], dumps(e)))
                fresh.setdefault(visitor, []).append(e)
        if not rows:
            return result
        insert_rows(conn, PUT_EVENT, rows)
        profiles = self._profiles(conn, site, list(fresh))
        for visitor, new in fresh.items():
            profile = profiles.get(visitor) or Profile()
            self._folded(site, visitor, profile, new)  # written behind: `sqlite_profiles`
            self._cache.put((site, visitor), profile)
        if self.measure_enabled:
            self._measure(conn, site, fresh)
        return result

    def _forget(self, site: str, visitor_id: str) -> None:
        self._cache.pop((site, visitor_id), None)
        self._states.pop((site, visitor_id), None)

    def _forget_all(self) -> None:
        self._cache.clear()
        self._states.clear()

    async def put_attributes(self, site: str, rows: list[tuple[str, dict[str, Any]]]) -> None:
        def job(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT OR REPLACE INTO attributes VALUES (?,?,?)",
                [(site, key, dumps(attrs)) for key, attrs in rows],
            )

        await self._run(job)

    async def set_consent(self, site: str, visitor_id: str, level: str) -> None:
        def job(conn: sqlite3.Connection) -> None:
            self._forget(site, visitor_id)
            conn.execute("INSERT OR REPLACE INTO consent VALUES (?,?,?)", (site, visitor_id, level))
            if level != "full":
                conn.execute("DELETE FROM events WHERE site=? AND visitor_id=?", (site, visitor_id))
                conn.execute("DELETE FROM profiles WHERE site=? AND visitor_id=?", (site, visitor_id))
                conn.execute("DELETE FROM measure_states WHERE site=? AND visitor_id=?", (site, visitor_id))
                self._changed(site, visitor_id, None)
                self._lower_mark(conn)

        await self._run(job)
        if level != "full":
            self.decoded.forget(site, visitor_id)

    async def erase(self, site: str, visitor_id: str) -> int:
        def job(conn: sqlite3.Connection) -> int:
            profile = self._dirty.get((site, visitor_id), MISSING)  # unwritten: newer than the table's
            self._forget(site, visitor_id)
            if profile is MISSING:
                row = conn.execute("SELECT body FROM profiles WHERE site=? AND visitor_id=?", (site, visitor_id))
                profile = next((Profile.from_json(body) for (body,) in row), None)
            email = profile.email_sha256 if profile is not None else None
            n = conn.execute("DELETE FROM events WHERE site=? AND visitor_id=?", (site, visitor_id)).rowcount
            conn.execute("DELETE FROM profiles WHERE site=? AND visitor_id=?", (site, visitor_id))
            conn.execute("DELETE FROM consent WHERE site=? AND visitor_id=?", (site, visitor_id))
            conn.execute("DELETE FROM measure_states WHERE site=? AND visitor_id=?", (site, visitor_id))
            keys = ["visitor:" + visitor_id] + ([f"email:{email}"] if email else [])
            conn.executemany("DELETE FROM attributes WHERE site=? AND key=?", [(site, k) for k in keys])
            self._changed(site, visitor_id, None)
            self._lower_mark(conn)
            return int(n)

        erased: int = await self._run(job)
        self.decoded.forget(site, visitor_id)
        return erased

    async def expire(self, now: float) -> int:
        cutoff = now - self.retention_days * 86400

        def job(conn: sqlite3.Connection) -> tuple[int, list[tuple[str, str]]]:
            touched = conn.execute("SELECT DISTINCT site, visitor_id FROM events WHERE ts < ?", (cutoff,)).fetchall()
            n = conn.execute("DELETE FROM events WHERE ts < ?", (cutoff,)).rowcount
            conn.execute("DELETE FROM measure_ids WHERE ts < ?", (cutoff,))
            self._lower_mark(conn)
            return int(n), touched

        n, touched = await self._run(job)
        for site, visitor in touched:
            await self.rebuild_profile(site, visitor)
        return n

    # --- reads (own connection, never blocked by the writer in WAL mode; `TurnReader`) ----------

    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        row = self._reader.execute(sql, args).fetchone()
        return row[0] if row else None

    async def profile(self, site: str, visitor_id: str) -> Profile | None:
        unwritten = self._unflushed(site, visitor_id)
        if unwritten is not MISSING:
            return unwritten  # type: ignore[no-any-return]
        body = self._one("SELECT body FROM profiles WHERE site=? AND visitor_id=?", (site, visitor_id))
        return Profile.from_json(body) if body else None

    async def _load_for_render(self, site: str, visitor_id: str) -> tuple[Profile | None, dict[str, Any]]:
        """As the base class, in one statement for the common case (no e-mail link): a render's
        reads cost one round through SQLite, not two."""
        # The unwritten profile first: once the writer drops it from there, the table holds it.
        profile = self._unflushed(site, visitor_id)
        if profile is not MISSING:
            email = ["email:" + profile.email_sha256] if profile is not None and profile.email_sha256 else []
            return profile, await self.attributes(site, [*email, "visitor:" + visitor_id])
        profile_body, attributes_body = self._reader.execute(
            "SELECT (SELECT body FROM profiles WHERE site=?1 AND visitor_id=?2),"
            " (SELECT body FROM attributes WHERE site=?1 AND key=?3)",
            (site, visitor_id, "visitor:" + visitor_id),
        ).fetchone()
        profile = self.decoded.decode(site, visitor_id, profile_body) if profile_body else None
        if profile is not None and profile.email_sha256:
            return profile, await self.attributes(site, ["email:" + profile.email_sha256, "visitor:" + visitor_id])
        return profile, loads(attributes_body) if attributes_body else {}

    async def events(self, site: str, visitor_id: str) -> list[dict[str, Any]]:
        rows = self._reader.execute(
            "SELECT body FROM events WHERE site=? AND visitor_id=? ORDER BY ts, event_id", (site, visitor_id)
        ).fetchall()
        return [loads(r[0]) for r in rows]

    async def attributes(self, site: str, keys: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in keys:
            body = self._one("SELECT body FROM attributes WHERE site=? AND key=?", (site, key))
            if body:
                out.update(loads(body))
        return out

    async def consent(self, site: str, visitor_id: str) -> str | None:
        value = self._one("SELECT level FROM consent WHERE site=? AND visitor_id=?", (site, visitor_id))
        return str(value) if value else None

    async def visitors(self, site: str) -> list[str]:
        rows = self._reader.execute(
            "SELECT visitor_id FROM events WHERE site=? UNION SELECT visitor_id FROM profiles WHERE site=?",
            (site, site),
        ).fetchall()
        return sorted(r[0] for r in rows)

    async def count_events(self, site: str) -> int:
        return int(self._one("SELECT count(*) FROM events WHERE site=?", (site,)) or 0)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._jobs.put(None)
        await asyncio.to_thread(self._thread.join, 10)
        self._close_profiles()
        self._stop.set()
        await asyncio.to_thread(self._checkpointer.join, 30)
        self._write.close()
        self._reader.end()
        self._reader.conn.close()

    def ready(self) -> bool:
        return not self._closed and self._thread.is_alive()
