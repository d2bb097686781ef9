# SPDX-License-Identifier: Apache-2.0
"""The SQLite store's connections and its write-ahead log: passive checkpoints in their own
thread, and a TRUNCATE checkpoint by the writer when the WAL passes its limit."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading

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
