# SPDX-License-Identifier: Apache-2.0
"""The SQLite store's connections and its write-ahead log: passive checkpoints in their own
thread, a TRUNCATE checkpoint by the writer when the WAL passes its limit, and the reads of
one event-loop turn in one read transaction (`TurnReader`)."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from typing import Any

log = logging.getLogger("slotwise.store")


def connect(path: str, synchronous: str, cache_kib: int = 2048) -> sqlite3.Connection:
    """A connection in WAL mode with the store's settings (every connection of the store)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute(f"PRAGMA cache_size=-{cache_kib}")  # per connection; SQLite's default is 2 MiB
    conn.execute("PRAGMA temp_store=MEMORY")
    return conn


class TurnReader:
    """The store's read connection, its reads of one turn of the event loop in one read transaction.

    In autocommit mode every statement takes and drops the WAL read lock: two `fcntl` calls on
    the `-shm` file, about a fifth of a render's look-up on a busy server. So the first read of
    a turn begins a transaction and the loop's next turn ends it. A snapshot never hides what
    this process wrote before a read: the writer bumps `commits` after each commit, before it
    answers its callers or drops the profiles it wrote from its unwritten ones, and a read that
    finds `commits` moved begins anew. A turn is short, so a snapshot holds back neither other
    processes' commits nor a TRUNCATE checkpoint for longer than that (readers that begin after
    a full checkpoint read only the database file)."""

    __slots__ = ("_loop", "_seen", "commits", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.commits = 0  # bumped by the writer thread only
        self._seen = -1
        self._loop: asyncio.AbstractEventLoop | None = None

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """Run a read in a transaction that has seen every commit of the writer so far."""
        conn = self.conn
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop to end a transaction: one statement, one read lock
            self.end()
            return conn.execute(sql, args)
        if conn.in_transaction:
            if self._seen == self.commits and self._loop is loop:
                return conn.execute(sql, args)
            conn.execute("COMMIT")
        self._seen = self.commits  # before the snapshot: a commit from now on begins another
        self._loop = loop
        conn.execute("BEGIN")  # deferred: the snapshot is taken by the first statement
        loop.call_soon(self.end)
        return conn.execute(sql, args)

    def end(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")


class SQLiteWal:
    """Mixed into `SQLiteStore`, which sets `path` and `_stop`."""

    path: str
    _stop: threading.Event

    def _truncate_wal(self, conn: sqlite3.Connection) -> None:
        """Passive checkpoints never wait, so under sustained writes with readers they never reach
        the end of the WAL and the file only grows. Past the limit the writer itself, between two
        commits (so no other writer can starve it), runs a TRUNCATE checkpoint: it waits briefly
        for readers, copies every committed frame into the database and empties the WAL. Frames
        are in the database file before the WAL is cut, so durability is unchanged."""
        try:
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.Error as exc:
            busy, reason = 1, str(exc)
        else:
            reason = "readers still busy"
        if busy:
            log.warning("sqlite store: WAL at %d bytes could not be cut yet (%s)", self.wal_size(), reason)

    def _checkpoint_loop(self, synchronous: str) -> None:
        if self.path == ":memory:":
            return
        conn = connect(self.path, synchronous)
        try:
            while not self._stop.wait(0.5):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()

    def wal_size(self) -> int:
        try:
            return os.path.getsize(self.path + "-wal")
        except OSError:
            return 0
