# SPDX-License-Identifier: Apache-2.0
"""The studio store on both backends: users, sessions, audit, versions, secret."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from slotwise.gateway.studio.auth import add_user, check_password
from slotwise.gateway.studio.store import RedisStudio, SQLiteStudio, StudioStore
from tests.conftest import need

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StudioStore]:
    if request.param == "sqlite":
        s: StudioStore = SQLiteStudio(tmp_path / "studio.db")
    else:
        import redis

        try:
            redis.Redis.from_url(REDIS_URL).ping()
        except redis.RedisError:
            need(False, "a Redis server on 127.0.0.1:6379")
        prefix = f"test-studio-{secrets.token_hex(4)}:"
        s = RedisStudio(REDIS_URL, prefix=prefix)
    try:
        yield s
    finally:
        if isinstance(s, RedisStudio):
            for key in s.r.scan_iter(s.p + "*"):
                s.r.delete(key)
        s.close()


def test_users_are_hashed_with_argon2_and_removable(store: StudioStore) -> None:
    add_user(store, "ada", "admin", "a long password")
    user = store.get_user("ada")
    assert user is not None and user.role == "admin" and user.password_hash.startswith("$argon2id$")
    assert "a long password" not in user.password_hash
    assert check_password(user, "a long password") and not check_password(user, "a long passwort")
    assert not check_password(None, "a long password")
    add_user(store, "ada", "viewer", "another password")
    assert [(u.name, u.role) for u in store.users()] == [("ada", "viewer")]
    assert store.delete_user("ada") and not store.delete_user("ada") and store.users() == []
    for bad in [("", "admin"), ("a b", "admin"), ("x", "root")]:
        with pytest.raises(ValueError):
            add_user(store, bad[0], bad[1], "long enough")
    with pytest.raises(ValueError, match="at least 8"):
        add_user(store, "bo", "viewer", "short")


def test_sessions_expire_and_are_dropped(store: StudioStore) -> None:
    sid = store.new_session({"user": "ada", "csrf": "t"}, 60)
    assert store.session(sid) == {"user": "ada", "csrf": "t"}
    assert store.session("nope") is None
    store.drop_session(sid)
    assert store.session(sid) is None
    short = store.new_session({"user": "ada", "csrf": "t"}, 1)
    time.sleep(1.3)
    assert store.session(short) is None


def test_audit_versions_and_secret(store: StudioStore) -> None:
    store.audit("ada", "change", "v1")
    store.audit("bo", "login", "")
    assert [(r["user"], r["action"]) for r in store.audit_log()] == [("bo", "login"), ("ada", "change")]
    one = store.add_version("ada", "first", "a: 1\n", "")
    two = store.add_version("bo", "second", "a: 2\n", "-a: 1\n+a: 2")
    assert two == one + 1
    assert [(v["number"], v["author"]) for v in store.versions()] == [(two, "bo"), (one, "ada")]
    assert "text" not in store.versions()[0]
    got = store.version(one)
    assert got is not None and got["text"] == "a: 1\n" and store.version(999) is None
    assert store.secret() == store.secret() and len(store.secret()) >= 48
