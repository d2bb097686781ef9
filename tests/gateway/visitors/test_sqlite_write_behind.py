# SPDX-License-Identifier: Apache-2.0
"""The SQLite store writes profiles behind (`stores.sqlite_profiles`): reads in the process see
the unwritten ones, erasure erases them, and after a crash (no flush, no close) the store
rebuilds them from the event log when it opens."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from slotwise.gateway.visitors.profile_copy import copy_profile
from slotwise.gateway.visitors.profiles import Profile, rebuild
from slotwise.gateway.visitors.stores.sqlite import SQLiteStore

NOW = 1_790_000_000.0
TYPES = ["page_view", "item_view", "add_to_cart", "remove_from_cart", "purchase", "engagement", "feedback"]


def ev(i: int, visitor: str = "v1") -> dict[str, Any]:
    etype = TYPES[i % len(TYPES)]
    props: dict[str, Any] = {"categories": ["shoes" if i % 2 else "bags"], "time_on_page": 3, "scroll_depth": 40}
    if etype == "feedback":
        props["rating"] = "down"
    if i % 11 == 0:
        props["email_sha256"] = f"{i:064x}"
    ctx = {"device": "mobile", "daypart": "evening", "country": "DE"}
    return {
        "event_id": f"e{i}",
        "visitor_id": visitor,
        "type": etype,
        "ts": NOW - 5000 + i * 97.0,
        "item_id": f"sku{i % 13}",
        "value": 10.0,
        "properties": props,
        "context": ctx,
    }


def table_profile(path: Path, visitor: str) -> dict[str, Any] | None:
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT body FROM profiles WHERE site='shop' AND visitor_id=?", (visitor,)).fetchone()
    finally:
        conn.close()
    return Profile.from_json(row[0]).state() if row else None


def test_copy_shares_nothing_with_the_original() -> None:
    original = rebuild([ev(i) for i in range(60)])
    copy = copy_profile(original)
    assert copy.state() == original.state()
    before = original.to_json()
    for i in range(60, 90):
        copy.fold(ev(i))
    assert original.to_json() == before
    assert copy.state() == rebuild([ev(i) for i in range(90)]).state()


def test_unwritten_profiles_are_read_and_erased(tmp_path: Path) -> None:
    path = tmp_path / "store.db"

    async def main() -> None:
        store = SQLiteStore(path)
        try:
            await store.ingest("shop", [ev(i) for i in range(40)])
            await store.ingest("shop", [ev(i, "v2") for i in range(100, 110)])
            assert ("shop", "v1") in store._dirty  # not written yet: the reads below find it unwritten
            assert table_profile(path, "v1") is None
            expected = rebuild([ev(i) for i in range(40)]).state()
            profile = await store.profile("shop", "v1")
            assert profile is not None and profile.state() == expected
            loaded, _ = await store.load_for_render("shop", "v1")
            assert loaded is not None and loaded.state() == expected
            assert await store.erase("shop", "v1") == 40
            assert await store.profile("shop", "v1") is None
            assert (await store.load_for_render("shop", "v1"))[0] is None
        finally:
            await store.close()

    asyncio.run(main())
    assert table_profile(path, "v1") is None  # nor written by the flush at close
    assert table_profile(path, "v2") == rebuild([ev(i, "v2") for i in range(100, 110)]).state()


CRASH = """
import asyncio, os, sys
sys.path.insert(0, {root!r})
from tests.gateway.visitors.test_sqlite_write_behind import ev
from slotwise.gateway.visitors.stores.sqlite import SQLiteStore

async def main():
    store = SQLiteStore({path!r})
    for b in range(5):
        result = await store.ingest("shop", [ev(b * 20 + i, f"v{{i % 7}}") for i in range(20)])
        print(len(result.stored), flush=True)  # acknowledged
    os._exit(0)  # a crash: no flush of the profiles, no close

asyncio.run(main())
"""


def test_profiles_a_crash_left_unwritten_are_rebuilt_from_the_log(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    root = str(Path(__file__).resolve().parents[3])
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASH.format(root=root, path=str(path)))],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert out == ["20"] * 5
    expected = {f"v{k}": rebuild([ev(i, f"v{k}") for i in range(100) if i % 20 % 7 == k]) for k in range(7)}
    # The acknowledged events are in the log; their profiles were never written.
    assert all(table_profile(path, v) is None for v in expected)

    async def reopened() -> None:
        store = SQLiteStore(path)
        try:
            for v, profile in expected.items():
                got = await store.profile("shop", v)
                assert got is not None and got.state() == profile.state(), v
        finally:
            await store.close()

    asyncio.run(reopened())
    for v, profile in expected.items():
        assert table_profile(path, v) == profile.state()


def test_a_failed_job_leaves_its_events_out_of_the_unwritten_profile(tmp_path: Path) -> None:
    """The job folds before it fails (here in the measurement step): its savepoint is rolled
    back, and the writer folds the unwritten profiles again from the log."""

    async def main() -> None:
        store = SQLiteStore(tmp_path / "store.db")
        measure = store._measure

        def failing(conn: sqlite3.Connection, site: str, fresh: dict[str, list[dict[str, Any]]]) -> None:
            if any(e["event_id"] == "e20" for evs in fresh.values() for e in evs):
                raise RuntimeError("disk on fire")
            measure(conn, site, fresh)

        store._measure = failing  # type: ignore[method-assign]
        try:
            await store.ingest("shop", [ev(i) for i in range(10)])
            try:
                await store.ingest("shop", [ev(i) for i in range(20, 30)])
            except RuntimeError:
                pass
            else:
                raise AssertionError("the job should have failed")
            assert ("shop", "v1") in store._dirty
            profile = await store.profile("shop", "v1")
            assert profile is not None and profile.state() == rebuild([ev(i) for i in range(10)]).state()
            await store.ingest("shop", [ev(i) for i in range(30, 35)])
            kept = [ev(i) for i in [*range(10), *range(30, 35)]]
            profile = await store.profile("shop", "v1")
            assert profile is not None and profile.state() == rebuild(kept).state()
        finally:
            await store.close()

    asyncio.run(main())
