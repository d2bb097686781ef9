# SPDX-License-Identifier: Apache-2.0
"""The SQLite store's profiles, written behind: folded in memory, written every two seconds.

An event is durable once its log row is committed; its visitor's profile is a function of the
visitor's logged events (`profiles.rebuild`). So the writer keeps the profiles it folded since
their last write (`_dirty`) and writes them all in one group commit every two seconds (also
when idle), or as soon as `PROFILE_FLUSH_MAX` wait, or when the store closes; a visitor seen
again before that costs one fold, not one 2 kB serialization and upsert per batch. Other
processes reading the file see a profile up to that late. The commit that writes them also
records `profiles_upto`, the event log's highest rowid then: every profile row holds every
event at or below it. After a crash the profiles of the visitors with events above it are
rebuilt from the log when the store opens (`_recover`). Reads in this process see the unwritten
profiles (read-your-writes): `_unflushed` copies one under a lock the writer holds while it
folds into that profile.

New rows get rowid max + 1, so a delete that takes the highest rowids away lowers the mark with
it (`_lower_mark`), in the same transaction: rowids given again later are then above it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from slotwise.gateway.common.jsoncodec import dumps, loads
from slotwise.gateway.visitors.profile_copy import copy_profile
from slotwise.gateway.visitors.profiles import Profile, rebuild
from slotwise.gateway.visitors.stores.base import Lru
from slotwise.gateway.visitors.stores.sqlite_measure import IN_LIST, PUT_PROFILE, insert_rows

T = TypeVar("T")
PROFILE_FLUSH_SECONDS = 2.0
# As many as the writer's profile cache holds: the profiles folded since the last write are the
# most recently put there, so while no more than that wait they are all in it (no memory added).
PROFILE_FLUSH_MAX = 5000
META_SCHEMA = """
CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value NOT NULL) WITHOUT ROWID;
"""
MARK = "profiles_upto"
MISSING: Any = object()
# Open SQLite stores of this process, by path: with more than one, profiles are written through.
_OPEN: dict[str, int] = {}
_OPEN_LOCK = threading.Lock()


class SQLiteProfiles:
    """Mixed into `SQLiteStore`; every method but `_unflushed` runs in the writer thread."""

    _cache: Lru[tuple[str, str], Profile]
    path: str

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError

    def _forget(self, site: str, visitor_id: str) -> None:
        raise NotImplementedError

    def _open_profiles(self, conn: sqlite3.Connection) -> None:
        """At open, before the writer thread starts: the mark, and the profiles a crash left unwritten."""
        # Folded since their last write; None: deleted (erasure), whatever the table says until written.
        self._dirty: dict[tuple[str, str], Profile | None] = {}
        self._plock = threading.Lock()
        self._flushed_at = time.monotonic()
        self._recover_pending = False
        # Profiles are written behind only while this store is the file's one writer: with a
        # second store on it here, or once another connection's commit was seen, every group
        # commit writes them (the mark is the file's, and a second writer's fold starts from the
        # table).
        self._shared = False
        with _OPEN_LOCK:
            _OPEN[self.path] = _OPEN.get(self.path, 0) + 1
        conn.executescript(META_SCHEMA)
        row = conn.execute("SELECT value FROM store_meta WHERE key=?", (MARK,)).fetchone()
        conn.execute("BEGIN IMMEDIATE")
        try:
            if row is None:  # a new database, or one whose profiles were all written with their events
                self._set_mark(conn, self._top(conn))
            else:
                self._mark = int(row[0])
                self._recover(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _top(conn: sqlite3.Connection) -> int:
        return int(conn.execute("SELECT coalesce(max(rowid), 0) FROM events").fetchone()[0])

    def _set_mark(self, conn: sqlite3.Connection, mark: int) -> None:
        conn.execute(
            "INSERT INTO store_meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", (MARK, mark)
        )
        self._mark = mark

    def _lower_mark(self, conn: sqlite3.Connection) -> None:
        """After events were deleted: the mark never stays above the highest rowid left."""
        top = self._top(conn)
        if top < self._mark:
            self._set_mark(conn, top)

    def _logged(self, conn: sqlite3.Connection, site: str, visitor_id: str) -> Profile | None:
        rows = conn.execute("SELECT body FROM events WHERE site=? AND visitor_id=?", (site, visitor_id))
        events = [loads(r[0]) for r in rows]
        return rebuild(events) if events else None

    def _recover(self, conn: sqlite3.Connection) -> int:
        """Rebuild from the log, and write, the profiles of visitors with events above the mark."""
        visitors = conn.execute(
            "SELECT DISTINCT site, visitor_id FROM events WHERE rowid > ?", (self._mark,)
        ).fetchall()
        for site, visitor in visitors:
            profile = self._logged(conn, site, visitor)
            if profile is not None:
                insert_rows(conn, PUT_PROFILE, [(site, visitor, profile.to_json())])
        self._set_mark(conn, self._top(conn))
        self._recover_pending = False
        with self._plock:
            self._dirty.clear()  # what was unwritten is in the table now
        self._cache.clear()
        return len(visitors)

    def _folded(self, site: str, visitor_id: str, profile: Profile, events: list[dict[str, Any]]) -> None:
        """Fold `events` into `profile` (the visitor's latest, maybe already readable) and keep it
        to write. The lock is taken per event: a reader waits for one event's fold at most, not a
        session batch's (about a millisecond for 100 events)."""
        lock = self._plock
        for e in events:
            with lock:
                profile.fold(e)
        with lock:
            self._dirty[(site, visitor_id)] = profile

    def _changed(self, site: str, visitor_id: str, profile: Profile | None) -> None:
        """A profile set or deleted by a job in this transaction (also written, or deleted, by it)."""
        with self._plock:  # a copy: the caller's object is the caller's
            self._dirty[(site, visitor_id)] = None if profile is None else copy_profile(profile)

    def _flush_profiles(self, conn: sqlite3.Connection, force: bool = False) -> list[tuple[Any, Any]]:
        """Inside the group's transaction, before COMMIT: write the unwritten profiles when due.
        Returns what was written, for `_flushed` once the commit is through."""
        dirty = self._dirty
        if not dirty or not (
            force
            or self._shared
            or _OPEN[self.path] > 1
            or len(dirty) >= PROFILE_FLUSH_MAX
            or time.monotonic() - self._flushed_at >= PROFILE_FLUSH_SECONDS
        ):
            return []
        written = list(dirty.items())
        insert_rows(conn, PUT_PROFILE, [(s, v, p.to_json()) for (s, v), p in written if p is not None])
        for (s, v), p in written:
            if p is None:
                conn.execute("DELETE FROM profiles WHERE site=? AND visitor_id=?", (s, v))
        self._set_mark(conn, self._top(conn))
        return written

    def _flushed(self, written: list[tuple[Any, Any]]) -> None:
        """After the commit: the written profiles are the table's now; readers read them there."""
        if not written:
            return
        with self._plock:
            for key, profile in written:
                if self._dirty.get(key, MISSING) is profile:
                    del self._dirty[key]
        self._flushed_at = time.monotonic()

    def _refold_dirty(self, conn: sqlite3.Connection) -> None:
        """After a job failed (its folds stay in memory), or another connection wrote: each
        unwritten profile again from the log as this connection sees it. Should that fail too,
        the next transaction rebuilds everything above the mark (`_recover`)."""
        try:
            fresh = {key: self._logged(conn, *key) for key in list(self._dirty)}
        except Exception:
            with self._plock:
                self._dirty.clear()
            self._recover_pending = True
            raise
        with self._plock:
            for key, profile in fresh.items():
                if profile is None:
                    self._dirty.pop(key, None)  # nothing logged: the table's row (or none) stands
                else:
                    self._dirty[key] = profile

    def _close_profiles(self) -> None:
        with _OPEN_LOCK:
            _OPEN[self.path] -= 1

    def _foreign_write(self, conn: sqlite3.Connection) -> None:
        """Another connection committed (PRAGMA data_version moved; this transaction has begun)."""
        self._shared = True
        self._refold_dirty(conn)
        self._lower_mark(conn)

    def _profiles(self, conn: sqlite3.Connection, site: str, visitors: list[str]) -> dict[str, Profile | None]:
        """Profiles not yet written, then the writer's cache, the rest from the table (one query)."""
        found: dict[str, Profile | None] = {}
        missing = []
        dirty, cache = self._dirty, self._cache
        for v in visitors:
            key = (site, v)
            hit = dirty.get(key, MISSING)  # None: deleted, not yet in the table
            if hit is MISSING:
                hit = cache.get(key, MISSING)
            if hit is not MISSING:
                found[v] = hit
            else:
                missing.append(v)
        if missing:
            for v, body in conn.execute(
                f"SELECT visitor_id, body FROM profiles WHERE site=? AND visitor_id {IN_LIST}", (site, dumps(missing))
            ):
                found[v] = Profile.from_json(body)
        return found

    async def replace_profile(self, site: str, visitor_id: str, profile: Profile | None) -> None:
        def job(conn: sqlite3.Connection) -> None:
            self._forget(site, visitor_id)
            if profile is None:
                conn.execute("DELETE FROM profiles WHERE site=? AND visitor_id=?", (site, visitor_id))
            else:
                insert_rows(conn, PUT_PROFILE, [(site, visitor_id, profile.to_json())])
            self._changed(site, visitor_id, profile)

        await self._run(job)

    async def rebuild_profile(self, site: str, visitor_id: str) -> Profile | None:
        # Read and write in one writer job, so no event can slip in between.
        def job(conn: sqlite3.Connection) -> Profile | None:
            self._forget(site, visitor_id)
            profile = self._logged(conn, site, visitor_id)
            if profile is None:
                conn.execute("DELETE FROM profiles WHERE site=? AND visitor_id=?", (site, visitor_id))
            else:
                insert_rows(conn, PUT_PROFILE, [(site, visitor_id, profile.to_json())])
            self._changed(site, visitor_id, profile)
            return profile

        return await self._run(job)

    def _unflushed(self, site: str, visitor_id: str) -> Any:
        """A copy of the visitor's unwritten profile, None if deleted, `MISSING` if the table's
        row is current (any thread)."""
        with self._plock:
            hit = self._dirty.get((site, visitor_id), MISSING)
            if hit is MISSING or hit is None:
                return hit
            return copy_profile(hit)
