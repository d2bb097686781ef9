# SPDX-License-Identifier: Apache-2.0
"""Renders reuse the profile decoded from the same stored text (`stores.decoded_profiles`):
never a stale one, never kept past the visitor's erasure, and within their memory bounds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from slotwise.gateway.visitors.profiles import Profile
from slotwise.gateway.visitors.stores import sqlite_profiles
from slotwise.gateway.visitors.stores.base import Store
from slotwise.gateway.visitors.stores.decoded_profiles import DecodedProfiles
from tests.gateway.store_backends import Backend

NOW = 1_790_000_000.0


def view(n: int, visitor: str = "v1") -> dict[str, Any]:
    return {"event_id": f"e{visitor}{n}", "visitor_id": visitor, "type": "item_view", "ts": NOW + n, "item_id": f"i{n}"}


def text_of(*events: dict[str, Any]) -> str:
    profile = Profile()
    for e in events:
        profile.fold(e)
    return profile.to_json()


def test_the_same_text_gives_the_same_profile_and_another_text_a_new_one() -> None:
    decoded = DecodedProfiles()
    one, two = text_of(view(1)), text_of(view(1), view(2))
    first = decoded.decode("s", "v1", one)
    assert decoded.decode("s", "v1", str(one)) is first  # an equal text read again: no decoding
    changed = decoded.decode("s", "v1", two)
    assert changed is not first and changed.total("item_view") == 2
    assert decoded.decode("s", "v1", one) is not first  # the older text again: decoded anew
    assert len(decoded) == 1  # one entry per visitor
    assert decoded.decode("other-site", "v1", one) is not decoded.decode("s", "v1", one)


def test_the_oldest_entries_are_pushed_out_and_long_texts_are_not_kept() -> None:
    text = text_of(view(1))
    by_count = DecodedProfiles(max_entries=3)
    kept = [by_count.decode("s", f"v{i}", text) for i in range(5)]
    assert len(by_count) == 3
    assert by_count.decode("s", "v4", text) is kept[4] and by_count.decode("s", "v0", text) is not kept[0]

    by_size = DecodedProfiles(max_chars=64 * len(text))
    for i in range(100):
        by_size.decode("s", f"v{i}", text)
    assert len(by_size) == 64
    too_long = DecodedProfiles(max_chars=64 * len(text) - 1)
    too_long.decode("s", "v1", text)
    assert len(too_long) == 0


@pytest.fixture(autouse=True)
def written_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite writes profiles on every commit: renders read them from the table, not from memory."""
    monkeypatch.setattr(sqlite_profiles, "PROFILE_FLUSH_SECONDS", 0.0)


async def settled(store: Store, visitor: str = "v1") -> Profile | None:
    """The render's profile once the SQLite writer has written it to the table."""
    unwritten = getattr(store, "_unflushed", None)  # SQLite's write-behind; Redis writes at once
    for _ in range(500):
        if unwritten is None or unwritten("s", visitor) is sqlite_profiles.MISSING:
            break
        await asyncio.sleep(0.01)
    profile, _ = await store.load_for_render("s", visitor)
    return profile


def test_a_render_sees_every_change_of_the_stored_profile(backend: Backend) -> None:
    async def body(store: Store) -> None:
        await store.ingest("s", [view(1)])
        first = await settled(store)
        assert first is not None and first.total("item_view") == 1
        assert await settled(store) is first  # read again, unchanged: decoded once
        await store.ingest("s", [view(2)])
        second = await settled(store)
        assert second is not None and second.total("item_view") == 2
        assert second.recent_items[:2] == ["i2", "i1"]

    backend.run(body)


def test_erasure_and_consent_withdrawn_forget_the_decoded_profile(backend: Backend) -> None:
    async def body(store: Store) -> None:
        await store.ingest("s", [view(1, "v1"), view(1, "v2")])
        assert await settled(store, "v1") is not None and await settled(store, "v2") is not None
        assert len(store.decoded) == 2
        await store.erase("s", "v1")
        assert len(store.decoded) == 1 and await settled(store, "v1") is None
        await store.set_consent("s", "v2", "anonymous")
        assert len(store.decoded) == 0 and await settled(store, "v2") is None

    backend.run(body)
