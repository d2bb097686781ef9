# SPDX-License-Identifier: Apache-2.0
"""The two stores as one test parameter: SQLite (a WAL file) and a real Redis at 127.0.0.1:6379.

Each Redis backend uses its own key prefix in db 5 and deletes only its own keys afterwards; the
`backend` fixture in `tests/gateway/conftest.py` yields one of each.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from slotwise.gateway.measure.attribution import MeasureSettings
from slotwise.gateway.visitors.stores.base import Store
from slotwise.gateway.visitors.stores.sqlite import SQLiteStore
from tests.procs import redis_up

REDIS_URL = "redis://127.0.0.1:6379/5"
T = TypeVar("T")


def redis_available() -> bool:
    return redis_up(REDIS_URL)


class Backend:
    def __init__(self, kind: str, tmp: Path):
        self.kind = kind
        self.path = tmp / "store.db"
        self.prefix = f"test-{uuid.uuid4().hex[:12]}:"

    def open(self, retention_days: float = 365.0) -> Store:
        if self.kind == "sqlite":
            return SQLiteStore(self.path, retention_days=retention_days)
        from slotwise.gateway.visitors.stores.redis import RedisStore

        return RedisStore(REDIS_URL, prefix=self.prefix, retention_days=retention_days)

    def run(self, fn: Callable[[Store], Awaitable[T]], *, measure: MeasureSettings | None = None, **open_kw: Any) -> T:
        """`fn(store)` in an event loop of its own, on a store opened for it (with `measure` as its
        measurement settings when given) and closed after."""

        async def main() -> T:
            store = self.open(**open_kw)
            if measure is not None:
                store.measure = measure
            try:
                return await fn(store)
            finally:
                await store.close()

        return asyncio.run(main())

    def raw_dump(self) -> str:
        """Everything the backend holds, as text, to prove what erasure left behind."""
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.path)
            rows = [
                repr(r)
                for t in ("events", "profiles", "attributes", "consent")
                for r in conn.execute(f"SELECT * FROM {t}")
            ]
            conn.close()
            return "\n".join(rows)
        import redis

        r = redis.Redis.from_url(REDIS_URL, decode_responses=True)
        out = []
        for key in r.scan_iter(match=self.prefix + "*"):
            kind = r.type(key)
            value: Any = {"string": r.get, "hash": r.hgetall, "set": r.smembers, "zset": lambda k: r.zrange(k, 0, -1)}[
                kind
            ](key)
            out.append(f"{key} {value}")
        r.close()
        return "\n".join(out)

    def cleanup(self) -> None:
        if self.kind == "redis":
            import redis

            r = redis.Redis.from_url(REDIS_URL)
            keys = list(r.scan_iter(match=self.prefix + "*"))
            if keys:
                r.delete(*keys)
            r.close()
