# SPDX-License-Identifier: Apache-2.0
"""Events as flat rows, read from the store in insertion order after a watermark.

The table schema (docs/analytics.md) is the same for files and PostgreSQL. The watermark is the
SQLite log's rowid: new events always get a higher one, so late events (an old `ts` arriving
today) are exported too. The Redis store's reader (`redis_rows.py`) has the same interface.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

# (column, arrow type name, PostgreSQL type)
EVENT_COLUMNS: list[tuple[str, str, str]] = [
    ("seq", "int64", "bigint NOT NULL"),
    ("site", "string", "text NOT NULL"),
    ("event_id", "string", "text NOT NULL"),
    ("visitor_id", "string", "text NOT NULL"),
    ("type", "string", "text NOT NULL"),
    ("ts", "timestamp", "timestamptz NOT NULL"),
    ("item_id", "string", "text"),
    ("value", "float64", "double precision"),
    ("currency", "string", "text"),
    ("quantity", "int64", "bigint"),
    ("device", "string", "text"),
    ("country", "string", "text"),
    ("daypart", "string", "text"),
    ("properties", "string", "jsonb"),
]
COLUMN_NAMES = [c[0] for c in EVENT_COLUMNS]


def event_row(seq: int, site: str, event: dict[str, Any]) -> dict[str, Any]:
    ctx = event.get("context") or {}
    props = event.get("properties")
    return {
        "seq": seq,
        "site": site,
        "event_id": event["event_id"],
        "visitor_id": event["visitor_id"],
        "type": event["type"],
        "ts": datetime.fromtimestamp(float(event["ts"]), UTC),
        "item_id": event.get("item_id"),
        "value": event.get("value"),
        "currency": event.get("currency"),
        "quantity": event.get("quantity"),
        "device": ctx.get("device"),
        "country": ctx.get("country"),
        "daypart": ctx.get("daypart"),
        "properties": json.dumps(props, sort_keys=True, separators=(",", ":")) if props else None,
    }


class EventReader(Protocol):
    """What the exports and retraining read from a store (SQLite here, Redis in `redis_rows`)."""

    def chunks(self, site: str, after: int, size: int = 50_000) -> Iterator[list[dict[str, Any]]]: ...
    def raw_events(self, site: str, since: float | None = None) -> Iterator[dict[str, Any]]: ...
    def count_since(self, site: str, since: float | None) -> int: ...
    def aggregates(self, site: str) -> dict[str, list[dict[str, Any]]]: ...
    def close(self) -> None: ...


class SQLiteEvents:
    """Read-only access to a SQLite store's event log (never blocks the gateway's writer)."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise FileNotFoundError(path)
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)

    def chunks(self, site: str, after: int, size: int = 50_000) -> Iterator[list[dict[str, Any]]]:
        """Rows with seq > `after`, oldest first, in chunks of at most `size`."""
        while True:
            rows = self.conn.execute(
                "SELECT rowid, body FROM events WHERE site = ? AND rowid > ? ORDER BY rowid LIMIT ?",
                (site, after, size),
            ).fetchall()
            if not rows:
                return
            yield [event_row(seq, site, json.loads(body)) for seq, body in rows]
            after = rows[-1][0]

    def raw_events(self, site: str, since: float | None = None) -> Iterator[dict[str, Any]]:
        """The site's events as stored (JSON bodies), optionally only those with `ts` > since."""
        sql = "SELECT body FROM events WHERE site = ?" + (" AND ts > ?" if since is not None else "")
        for (body,) in self.conn.execute(sql, (site, since) if since is not None else (site,)):
            yield json.loads(body)

    def count_since(self, site: str, since: float | None) -> int:
        """Events of the site with `ts` after `since` (all of them for None)."""
        if since is None:
            return int(self.conn.execute("SELECT COUNT(*) FROM events WHERE site = ?", (site,)).fetchone()[0])
        sql = "SELECT COUNT(*) FROM events WHERE site = ? AND ts > ?"
        return int(self.conn.execute(sql, (site, since)).fetchone()[0])

    def aggregates(self, site: str) -> dict[str, list[dict[str, Any]]]:
        from slotwise.gateway.export.aggregates import aggregate_rows

        return aggregate_rows(self.conn, site)

    def close(self) -> None:
        self.conn.close()
