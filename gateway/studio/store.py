# SPDX-License-Identifier: Apache-2.0
"""The studio's own small store: users, sessions, audit log, configuration versions, a secret.

It sits beside the visitor store on the same backend: Redis (keys under `<prefix>studio:`) when
the configuration's store is Redis, else an SQLite file (`slotwise-studio.db` next to the
configuration file). Calls are synchronous: each one is a few rows, for a handful of people.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROLES = ("viewer", "editor", "admin")
SQLITE_FILE = "slotwise-studio.db"  # beside the configuration file


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str


class StudioStore:
    """Backend-neutral face; `SQLiteStudio` and `RedisStudio` implement the few primitives."""

    def get_user(self, name: str) -> User | None:
        raise NotImplementedError

    def put_user(self, user: User) -> None:
        raise NotImplementedError

    def users(self) -> list[User]:
        raise NotImplementedError

    def delete_user(self, name: str) -> bool:
        raise NotImplementedError

    def new_session(self, data: dict[str, Any], ttl: float) -> str:
        raise NotImplementedError

    def session(self, sid: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def drop_session(self, sid: str) -> None:
        raise NotImplementedError

    def audit(self, user: str, action: str, detail: str) -> None:
        raise NotImplementedError

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        raise NotImplementedError

    def add_version(self, author: str, message: str, text: str, diff: str) -> int:
        raise NotImplementedError

    def versions(self, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first, without the text."""
        raise NotImplementedError

    def version(self, number: int) -> dict[str, Any] | None:
        raise NotImplementedError

    def secret(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        pass


_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (sid TEXT PRIMARY KEY, data TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY, ts REAL, user TEXT, action TEXT, detail TEXT);
CREATE TABLE IF NOT EXISTS versions (
    number INTEGER PRIMARY KEY, ts REAL, author TEXT, message TEXT, text TEXT, diff TEXT);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SQLiteStudio(StudioStore):
    def __init__(self, path: str | Path):
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        with self._lock:
            return int(self._db.execute(sql, args).lastrowid or 0)

    def get_user(self, name: str) -> User | None:
        rows = self._all("SELECT name, role, hash FROM users WHERE name = ?", (name,))
        return User(*rows[0]) if rows else None

    def put_user(self, user: User) -> None:
        self._run("INSERT OR REPLACE INTO users VALUES (?, ?, ?)", (user.name, user.role, user.password_hash))

    def users(self) -> list[User]:
        return [User(*r) for r in self._all("SELECT name, role, hash FROM users ORDER BY name")]

    def delete_user(self, name: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount > 0

    def new_session(self, data: dict[str, Any], ttl: float) -> str:
        sid = secrets.token_urlsafe(32)
        now = time.time()
        self._run("DELETE FROM sessions WHERE expires < ?", (now,))
        self._run("INSERT INTO sessions VALUES (?, ?, ?)", (sid, json.dumps(data), now + ttl))
        return sid

    def session(self, sid: str) -> dict[str, Any] | None:
        rows = self._all("SELECT data FROM sessions WHERE sid = ? AND expires >= ?", (sid, time.time()))
        return json.loads(rows[0][0]) if rows else None

    def drop_session(self, sid: str) -> None:
        self._run("DELETE FROM sessions WHERE sid = ?", (sid,))

    def audit(self, user: str, action: str, detail: str) -> None:
        self._run(
            "INSERT INTO audit (ts, user, action, detail) VALUES (?, ?, ?, ?)", (time.time(), user, action, detail)
        )

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._all("SELECT ts, user, action, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,))
        return [dict(zip(("ts", "user", "action", "detail"), r, strict=True)) for r in rows]

    def add_version(self, author: str, message: str, text: str, diff: str) -> int:
        return self._run(
            "INSERT INTO versions (ts, author, message, text, diff) VALUES (?, ?, ?, ?, ?)",
            (time.time(), author, message, text, diff),
        )

    def versions(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT number, ts, author, message, diff FROM versions ORDER BY number DESC LIMIT ?", (limit,)
        )
        return [dict(zip(("number", "ts", "author", "message", "diff"), r, strict=True)) for r in rows]

    def version(self, number: int) -> dict[str, Any] | None:
        rows = self._all("SELECT number, ts, author, message, diff, text FROM versions WHERE number = ?", (number,))
        return dict(zip(("number", "ts", "author", "message", "diff", "text"), rows[0], strict=True)) if rows else None

    def secret(self) -> str:
        self._run("INSERT OR IGNORE INTO meta VALUES ('secret', ?)", (secrets.token_urlsafe(48),))
        return str(self._all("SELECT value FROM meta WHERE key = 'secret'")[0][0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


class RedisStudio(StudioStore):
    """The same records as Redis hashes and lists, so that every replica sees the same users."""

    def __init__(self, url: str, prefix: str = "slotwise:"):
        import redis

        self.r = redis.Redis.from_url(url, decode_responses=True)
        self.p = f"{prefix}studio:"

    def get_user(self, name: str) -> User | None:
        raw = self.r.hget(self.p + "users", name)
        return User(**json.loads(raw)) if raw else None

    def put_user(self, user: User) -> None:
        self.r.hset(self.p + "users", user.name, json.dumps(user.__dict__))

    def users(self) -> list[User]:
        rows = self.r.hgetall(self.p + "users")
        return sorted((User(**json.loads(v)) for v in rows.values()), key=lambda u: u.name)

    def delete_user(self, name: str) -> bool:
        return bool(self.r.hdel(self.p + "users", name))

    def new_session(self, data: dict[str, Any], ttl: float) -> str:
        sid = secrets.token_urlsafe(32)
        self.r.set(self.p + "session:" + sid, json.dumps(data), ex=max(1, int(ttl)))
        return sid

    def session(self, sid: str) -> dict[str, Any] | None:
        raw = self.r.get(self.p + "session:" + sid)
        return json.loads(raw) if raw else None

    def drop_session(self, sid: str) -> None:
        self.r.delete(self.p + "session:" + sid)

    def audit(self, user: str, action: str, detail: str) -> None:
        row = {"ts": time.time(), "user": user, "action": action, "detail": detail}
        self.r.lpush(self.p + "audit", json.dumps(row))

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.r.lrange(self.p + "audit", 0, limit - 1)]

    def add_version(self, author: str, message: str, text: str, diff: str) -> int:
        number = int(self.r.incr(self.p + "version_seq"))
        row = {"number": number, "ts": time.time(), "author": author, "message": message, "diff": diff, "text": text}
        self.r.hset(self.p + "versions", str(number), json.dumps(row))
        return number

    def versions(self, limit: int = 50) -> list[dict[str, Any]]:
        top = int(self.r.get(self.p + "version_seq") or 0)
        keys = [str(n) for n in range(top, max(0, top - limit), -1)]
        rows = [json.loads(x) for x in self.r.hmget(self.p + "versions", keys) if x] if keys else []
        for row in rows:
            row.pop("text", None)
        return rows

    def version(self, number: int) -> dict[str, Any] | None:
        raw = self.r.hget(self.p + "versions", str(number))
        return json.loads(raw) if raw else None

    def secret(self) -> str:
        self.r.setnx(self.p + "secret", secrets.token_urlsafe(48))
        return str(self.r.get(self.p + "secret"))

    def close(self) -> None:
        self.r.close()


def open_studio_store(config: Any, config_path: Path | None) -> StudioStore:
    """Redis when the visitor store is Redis, else SQLite beside the configuration file."""
    store = getattr(config, "store", None)
    if store is not None and getattr(store, "backend", None) == "redis":
        return RedisStudio(store.url, prefix=store.prefix)
    base = config_path.parent if config_path else Path(".")
    return SQLiteStudio(base / SQLITE_FILE)
