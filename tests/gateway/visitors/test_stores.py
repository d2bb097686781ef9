# SPDX-License-Identifier: Apache-2.0
"""One suite for both stores: SQLite (WAL file) and a real Redis at 127.0.0.1:6379.

Each Redis test uses its own key prefix in db 5 and deletes only its own keys afterwards.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any, TypeVar

from slotwise.gateway.visitors.profiles import rebuild
from slotwise.gateway.visitors.stores.base import Store
from slotwise.gateway.visitors.stores.sqlite import SQLiteStore
from tests.gateway.store_backends import Backend

T = TypeVar("T")
NOW = 1_790_000_000.0


def ev(i: int, visitor: str = "v1", etype: str = "item_view", ts: float = NOW - 100, **extra: Any) -> dict[str, Any]:
    return {"event_id": f"e{i}", "visitor_id": visitor, "type": etype, "ts": ts, **extra}


def test_ingest_is_idempotent_by_event_id(backend: Backend) -> None:
    async def body(s: Store) -> None:
        batch = [ev(i, item_id=f"i{i}") for i in range(5)] + [ev(2, item_id="i2")]
        first = await s.ingest("shop", batch)
        assert sorted(first.stored) == ["e0", "e1", "e2", "e3", "e4"] and first.duplicates == ["e2"]
        again = await s.ingest("shop", batch[:3])
        assert again.stored == [] and sorted(again.duplicates) == ["e0", "e1", "e2"]
        profile = await s.profile("shop", "v1")
        assert profile is not None and profile.total("item_view") == 5
        assert len(await s.events("shop", "v1")) == 5

    backend.run(body)


def test_sites_are_separate(backend: Backend) -> None:
    async def body(s: Store) -> None:
        await s.ingest("a", [ev(1)])
        assert (await s.ingest("b", [ev(1)])).stored == ["e1"]
        assert await s.profile("c", "v1") is None
        assert await s.visitors("a") == ["v1"]

    backend.run(body)


def test_profile_reflects_cart_then_purchase(backend: Backend) -> None:
    async def body(s: Store) -> None:
        await s.ingest("shop", [ev(1, etype="add_to_cart", item_id="sku1", ts=NOW - 60)])
        p = await s.profile("shop", "v1")
        assert p is not None and p.cart == ["sku1"] and p.count_within("add_to_cart", 86400, NOW)[0] == 1
        await s.ingest("shop", [ev(2, etype="purchase", item_id="sku1", value=30.5, ts=NOW - 30)])
        p = await s.profile("shop", "v1")
        assert p is not None and p.cart == [] and p.monetary == 30.5 and p.frequency == 1

    backend.run(body)


def test_attributes_by_visitor_and_email_hash(backend: Backend) -> None:
    async def body(s: Store) -> None:
        await s.put_attributes(
            "shop", [("visitor:v1", {"loyalty": "gold"}), ("email:abc", {"age": "25-34", "loyalty": "x"})]
        )
        assert (await s.load_for_render("shop", "v1")) == (None, {"loyalty": "gold"})
        await s.ingest("shop", [ev(1, etype="signup", properties={"email_sha256": "abc"})])
        profile, attrs = await s.load_for_render("shop", "v1")
        assert profile is not None and attrs == {"age": "25-34", "loyalty": "gold"}
        # A visitor id that looks like an e-mail key never reads that key's attributes.
        assert (await s.load_for_render("shop", "email:abc")) == (None, {})

    backend.run(body)


def test_renders_loading_at_once_each_get_their_own_visitor(backend: Backend) -> None:
    """Loads of one event-loop turn (Redis sends them as one MGET) answer each caller its own."""

    async def body(s: Store) -> None:
        await s.put_attributes("shop", [(f"visitor:v{i}", {"n": i}) for i in range(0, 20, 2)])
        await s.ingest("shop", [ev(i, visitor=f"v{i}", etype="item_view", item_id=f"sku{i}") for i in range(1, 20, 3)])
        loaded = await asyncio.gather(*(s.load_for_render("shop", f"v{i}") for i in range(20)))
        for i, (profile, attrs) in enumerate(loaded):
            assert attrs == ({"n": i} if i % 2 == 0 else {}), i
            assert (profile is not None) == (i % 3 == 1), i
            if profile is not None:
                assert profile.recent_items == [f"sku{i}"], i

    backend.run(body)


def test_erasure_leaves_nothing(backend: Backend) -> None:
    async def body(s: Store) -> None:
        await s.ingest(
            "shop",
            [ev(i, visitor="gone-visitor", item_id="sku", properties={"email_sha256": "feed"}) for i in range(3)]
            + [ev(9, visitor="stays")],
        )
        await s.put_attributes("shop", [("visitor:gone-visitor", {"tier": "b"}), ("email:feed", {"tier": "c"})])
        await s.set_consent("shop", "gone-visitor", "full")
        assert await s.erase("shop", "gone-visitor") == 3
        assert await s.profile("shop", "gone-visitor") is None
        assert await s.events("shop", "gone-visitor") == []
        assert await s.consent("shop", "gone-visitor") is None
        # The retried events of an erased visitor are new again, never silently dropped.
        assert (await s.ingest("shop", [ev(0, visitor="gone-visitor")])).stored == ["e0"]
        await s.erase("shop", "gone-visitor")

    backend.run(body)
    dump = backend.raw_dump()
    assert "gone-visitor" not in dump and "feed" not in dump
    assert "stays" in dump


def test_erasure_racing_ingestion_leaves_no_trace(backend: Backend) -> None:
    async def body(s: Store) -> None:
        other = backend.open()
        try:
            jobs = [s.ingest("shop", [ev(b * 10 + i, visitor="racer") for i in range(10)]) for b in range(20)]
            jobs[5:5] = [other.erase("shop", "racer")] * 3
            await asyncio.gather(*jobs)
            logged = {e["event_id"] for e in await s.events("shop", "racer")}
            p = await s.profile("shop", "racer")
            assert (p.total("item_view") if p else 0) == len(logged)
            await other.erase("shop", "racer")
        finally:
            await other.close()

    backend.run(body)
    assert "racer" not in backend.raw_dump()


def test_consent_below_full_erases_and_ignores(backend: Backend) -> None:
    async def body(s: Store) -> None:
        await s.ingest("shop", [ev(1), ev(2)])
        await s.set_consent("shop", "v1", "anonymous")
        assert await s.profile("shop", "v1") is None and await s.events("shop", "v1") == []
        result = await s.ingest("shop", [ev(3)])
        assert result.ignored == ["e3"] and result.stored == []
        assert await s.profile("shop", "v1") is None
        await s.set_consent("shop", "v1", "full")
        assert (await s.ingest("shop", [ev(4)])).stored == ["e4"]
        assert await s.consent("shop", "v1") == "full"

    backend.run(body)


def test_retention_expires_old_events_and_rebuilds(backend: Backend) -> None:
    async def body(s: Store) -> None:
        old, new = NOW - 40 * 86400, NOW - 3600
        await s.ingest("shop", [ev(1, ts=old), ev(2, ts=new), ev(3, visitor="old-only", ts=old)])
        assert await s.expire(NOW) == 2
        assert [e["event_id"] for e in await s.events("shop", "v1")] == ["e2"]
        p = await s.profile("shop", "v1")
        assert p is not None and p.total("item_view") == 1 and p.first_seen == new
        assert await s.profile("shop", "old-only") is None

    backend.run(body, retention_days=30)


def test_rebuild_equals_incremental(backend: Backend) -> None:
    import random

    rnd = random.Random(7)
    types = ["page_view", "item_view", "add_to_cart", "remove_from_cart", "purchase", "engagement"]
    events = [
        ev(
            i,
            visitor=f"v{rnd.randrange(4)}",
            etype=rnd.choice(types),
            item_id=f"i{rnd.randrange(9)}",
            ts=NOW - rnd.random() * 20 * 86400,
            value=rnd.randrange(100),
            properties={"categories": [rnd.choice("abc")], "scroll_depth": 50},
        )
        for i in range(300)
    ]

    async def body(s: Store) -> None:
        for start in range(0, 300, 37):
            await s.ingest("shop", events[start : start + 37] + events[:3])
        before = {v: (await s.profile("shop", v)).to_json() for v in await s.visitors("shop")}  # type: ignore[union-attr]
        assert await s.rebuild_all("shop") == 4
        for v, text in before.items():
            rebuilt = await s.profile("shop", v)
            assert rebuilt is not None
            assert _approx(json.loads(text), rebuilt.state())
            expected = rebuild(e for e in events if e["visitor_id"] == v)
            assert _approx(expected.state(), rebuilt.state())

    backend.run(body)


def test_two_replicas_never_lose_an_update(backend: Backend) -> None:
    async def body(_: Store) -> None:
        a, b = backend.open(), backend.open()
        try:
            batches = [[ev(i * 10 + j, ts=NOW - i) for j in range(10)] for i in range(20)]
            await asyncio.gather(*(s.ingest("shop", batch) for batch in batches for s in (a, b)))
            p = await a.profile("shop", "v1")
            assert p is not None and p.total("item_view") == 200
        finally:
            await a.close()
            await b.close()

    backend.run(body)


def _approx(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_approx(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_approx(x, y) for x, y in zip(a, b, strict=False))
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return bool(a == b)


def test_render_goes_on_without_a_profile_when_redis_is_down() -> None:
    from slotwise.gateway.visitors.stores.redis import RedisStore

    async def body() -> tuple[Any, Any]:
        store = RedisStore("redis://127.0.0.1:18599/0", prefix="down:")  # nothing listens there
        try:
            return await store.load_for_render("shop", "v1")
        finally:
            await store.close()

    assert asyncio.run(body()) == (None, {})


def test_the_writer_cache_drops_the_least_recently_put_entry() -> None:
    from slotwise.gateway.visitors.stores.base import Lru

    cache: Lru[str, int] = Lru(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 3)  # a is now the most recent
    cache.put("c", 4)
    assert dict(cache) == {"a": 3, "c": 4}
    assert cache.get("b") is None and "a" in cache and cache.pop("a") == 3


def test_a_caller_that_gives_up_does_not_stop_the_sqlite_writer(tmp_path: Path) -> None:
    """A task cancelled while its write waits in the queue (a timeout, a shutdown): the writer
    skips that job and keeps serving the others (it used to die setting the cancelled result,
    and every later write waited for ever)."""

    async def go() -> int:
        store = SQLiteStore(tmp_path / "s.db")
        try:
            busy = asyncio.ensure_future(store._run(lambda conn: time.sleep(0.3)))
            await asyncio.sleep(0.05)  # the writer is inside the slow job
            given_up = asyncio.ensure_future(store._run(lambda conn: 1))
            await asyncio.sleep(0.01)
            given_up.cancel()
            later = asyncio.ensure_future(store._run(lambda conn: 2))
            await busy
            return await asyncio.wait_for(later, 5)
        finally:
            await store.close()

    assert asyncio.run(go()) == 2


def test_the_sqlite_writer_runs_a_few_statements_per_batch_not_one_per_row(tmp_path: Path) -> None:
    """Each statement step gives the GIL up and back, and while the event loop's thread is busy
    every taking back can wait out the switch interval: rows go in as multi-row statements of up
    to 64 rows, so a busy gateway's writer keeps up (issue 11: served exposures queued up to
    their bound when `executemany` stepped once per row: 1,375 statements for 300 events
    against 70 for 10)."""

    async def statements(store: SQLiteStore, prefix: str, n: int) -> int:
        traced: list[str] = []
        store._write.set_trace_callback(traced.append)
        batch = [ev(i, visitor=f"{prefix}{i % (n // 2)}", etype="add_to_cart", item_id=f"i{i}") for i in range(n)]
        batch += [
            {**ev(n + i, visitor=f"{prefix}{i}", etype="impression"), "properties": {"slot": "s", "variant": "a"}}
            for i in range(n // 2)
        ]
        await store.ingest("shop", [{**e, "event_id": f"{prefix}-{e['event_id']}"} for e in batch])
        anonymous = [{**ev(i, etype="click"), "event_id": f"{prefix}-anon-{i}"} for i in range(n)]
        result = await store.ingest_anonymous("shop", anonymous + anonymous[:2])
        assert len(result.stored) == n and len(result.duplicates) == 2
        await store.add_counts("shop", {(f"day{k}", f"k{k}"): 1.0 for k in range(n)})
        store._write.set_trace_callback(None)
        return len(traced)

    async def go() -> tuple[int, int]:
        store = SQLiteStore(tmp_path / "s.db")
        try:
            return await statements(store, "a", 10), await statements(store, "b", 300)
        finally:
            await store.close()

    small, large = asyncio.run(go())
    assert large < 2 * small, (small, large)  # 30 times the rows
