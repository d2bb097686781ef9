# SPDX-License-Identifier: Apache-2.0
"""Exposures: what an `impression` or `click` event says was shown, and served-impression counts.

An exposure's `properties` carry `slot`, `variant`, and for experiments and bandits `experiment`,
`arm` (and `propensity`), optionally `segments` (from the render response) and `kind`
(`viewable`, the default, from client.js; `served` when the render itself was the exposure).
`ServedCounter` counts served impressions per block in memory on the render path and writes
them to the store in the background a second later, so a render never waits on a write (a
crash loses at most that second of served counts, a clean stop writes it first; viewable
impressions are events, never lost; a store outage keeps them in memory, bounded, until the
next write succeeds).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import time
from array import array
from dataclasses import dataclass
from typing import Any

MAX_SEGMENTS = 5
MAX_NAME = 128
OUTCOMES = frozenset({"conversion", "signup", "purchase"})
FLUSH_EVERY = 1.0
log = logging.getLogger("slotwise.measure")


@dataclass(frozen=True)
class Exposure:
    slot: str
    variant: str
    experiment: str | None = None
    arm: str | None = None
    propensity: float | None = None
    segments: tuple[str, ...] = ()
    kind: str = "viewable"
    bucket: str = ""
    """A contextual bandit's context bucket at the decision (`properties.bucket`)."""


def _name(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= MAX_NAME and "\x1f" not in value else None


def segments_of(props: dict[str, Any]) -> tuple[str, ...]:
    raw = props.get("segments")
    if not isinstance(raw, list):
        return ()
    return tuple(sorted({s for s in (_name(x) for x in raw) if s}))[:MAX_SEGMENTS]


def exposure_of(event: dict[str, Any]) -> Exposure | None:
    """The exposure an impression or click event describes, or None if it names no slot."""
    if event.get("type") not in ("impression", "click"):
        return None
    props = event.get("properties") or {}
    slot, variant = _name(props.get("slot")), _name(props.get("variant"))
    if slot is None or variant is None:
        return None
    experiment, arm = _name(props.get("experiment")), _name(props.get("arm"))
    if experiment is None or arm is None:
        experiment = arm = None
    propensity = props.get("propensity")
    if not (isinstance(propensity, int | float) and not isinstance(propensity, bool) and 0 < propensity <= 1):
        propensity = None
    kind = "served" if props.get("kind") == "served" else "viewable"
    return Exposure(
        slot, variant, experiment, arm, propensity, segments_of(props), kind, _name(props.get("bucket")) or ""
    )


def page_variants(event: dict[str, Any]) -> list[tuple[str, str]]:
    """The (slot, variant) pairs an `engagement` event says its page showed (`properties.variants`)."""
    raw = (event.get("properties") or {}).get("variants")
    if not isinstance(raw, dict):
        return []
    pairs = [(s, v) for s, v in ((_name(k), _name(x)) for k, x in raw.items()) if s and v]
    return sorted(pairs)[:20]


def number(value: Any, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(min(max(value, low), high))


class ServedCounter:
    """Served impressions per (site, day, slot, variant, experiment, arm), written a second later.

    The render path only bumps a tally keyed by a tuple; keys, hashes and events are built when
    the tallies are written, off the request. Memory is bounded whatever the traffic: the tally
    has one entry per counted block kind (a handful per slot and day); queued assignments are
    written at once when `MAX_PENDING` wait (not a second later); the visitors already queued
    today are remembered in a fixed array of `SEEN_SLOTS` hashes, direct-mapped and never resized
    (a dict used as a FIFO was rebuilt every few thousand fresh visitors, a megabyte each time, and
    fragmented the heap): a collision forgets a visitor early, and a repeat only re-sends an
    idempotent event, which the store counts once. A failed write keeps its tallies and
    assignments for the next one; only assignments beyond `MAX_QUEUED` (a long store outage) are
    given up, and counted in the log."""

    SEEN_SLOTS = 32_768  # 256 KiB
    MAX_PENDING = 2_000
    MAX_QUEUED = 50_000  # about 15 MB

    def __init__(self, seen_slots: int = SEEN_SLOTS) -> None:
        self._tally: dict[tuple[str, int, str, str, str | None, str | None], int] = {}
        self._assignments: dict[tuple[str, str, str, int], tuple[str, Any, Any, Any, float]] = {}
        self._seen = array("q", bytes(8 * seen_slots))  # hashes of (site, visitor, experiment, day)
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None  # set to write before the second is up
        self.dropped = 0

    def add(
        self,
        site: str,
        blocks: dict[str, dict[str, Any]],
        store: Any,
        visitor_id: str | None = None,
        now: float | None = None,
    ) -> None:
        """Count the page's blocks; with a `visitor_id` (profiling consent) also queue the arms
        the render assigned, once per visitor, experiment and day."""
        now = time.time() if now is None else now
        day = int(now // 86400)
        tally = self._tally
        for slot, block in blocks.items():
            variant = block.get("variant")
            if variant is None or block.get("html") is None:
                continue
            exp = block.get("experiment")
            key = exp.get("key") if exp else None
            arm = exp.get("arm") if exp else None
            counted = (site, day, slot, variant, key, arm)
            tally[counted] = tally.get(counted, 0) + 1
            if visitor_id is not None and key is not None and not (exp or {}).get("bandit"):
                self._assign((site, visitor_id, key, day), (slot, variant, arm, block.get("segments"), now))
        if store is not None and self._task is None:
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._later(store, self._wake))
        if len(self._assignments) >= self.MAX_PENDING and self._wake is not None:
            self._wake.set()
            # Backpressure: the store's writer thread (SQLite) is behind, and while this loop
            # renders without a pause it gets the GIL only at the interpreter's forced switches,
            # a few statements a second: the queue grew to its bound on a quiet machine (issue
            # 11's memory test). Handing the GIL over once per such render lets it keep up.
            time.sleep(0)

    def _assign(self, key: tuple[str, str, str, int], value: tuple[str, Any, Any, Any, float]) -> None:
        mark = hash(key) or 1  # 0 marks an empty slot
        slot = mark % len(self._seen)
        if self._seen[slot] == mark:
            return
        self._seen[slot] = mark
        if len(self._assignments) >= self.MAX_QUEUED:  # the store has not taken writes for a while
            self.dropped += 1
            return
        self._assignments[key] = value

    async def _later(self, store: Any, wake: asyncio.Event) -> None:
        """A second after the first render that had something to count, or as soon as
        `MAX_PENDING` assignments wait."""
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), FLUSH_EVERY)
            await self.flush(store)
        finally:
            self._task = self._wake = None

    async def close(self, store: Any) -> None:
        """On shutdown, before the store closes: the pending write now, not a second later
        into a closed store (it was lost, with a warning, on every clean stop). The waiting
        task is woken, not cancelled: cancelled inside its write it would drop what it took."""
        task, wake = self._task, self._wake
        # Only a task of this loop: an app can outlive the loop of an earlier lifespan (tests).
        if task is not None and wake is not None and task.get_loop() is asyncio.get_running_loop():
            wake.set()
            await task
        if store is not None and (self._tally or self._assignments):
            await self.flush(store)

    def _counts(self, tally: dict[tuple[Any, ...], int]) -> dict[str, dict[tuple[str, str], float]]:
        from slotwise.gateway.measure.kpis import day_scope, kpi_key

        by_site: dict[str, dict[tuple[str, str], float]] = {}
        for (site, day, slot, variant, key, arm), n in tally.items():
            counts = by_site.setdefault(site, {})
            if not (_name(slot) and _name(variant)):
                continue
            scoped = (day_scope(day * 86400.0), kpi_key(slot, variant, "", "served"))
            counts[scoped] = counts.get(scoped, 0.0) + n
            if _name(key) and _name(arm):
                counts[("exp|" + key, f"{arm}\x1fserved\x1fcount")] = (
                    counts.get(("exp|" + key, f"{arm}\x1fserved\x1fcount"), 0.0) + n
                )
        return by_site

    @staticmethod
    def _event(key: tuple[str, str, str, int], value: tuple[str, Any, Any, Any, float]) -> dict[str, Any]:
        site, visitor_id, experiment, day = key
        slot, variant, arm, segments, ts = value
        digest = hashlib.blake2b(f"{site}\x00{visitor_id}\x00{experiment}\x00{day}".encode(), digest_size=12)
        props: dict[str, Any] = {"slot": slot, "variant": variant, "experiment": experiment, "arm": arm}
        props["kind"] = "served"
        if isinstance(segments, list) and segments:
            props["segments"] = segments[:MAX_SEGMENTS]
        return {
            "event_id": "srv-" + digest.hexdigest(),
            "visitor_id": visitor_id,
            "type": "impression",
            "ts": round(ts, 3),
            "properties": props,
        }

    async def flush(self, store: Any) -> None:
        """Write what is counted; what a failing store did not take is kept for the next write."""
        tally, self._tally = self._tally, {}
        assignments, self._assignments = self._assignments, {}
        by_site: dict[str, list[tuple[str, str, str, int]]] = {}
        for key in assignments:
            by_site.setdefault(key[0], []).append(key)
        try:
            for site, keys in by_site.items():
                while keys:
                    chunk = keys[:500]
                    await store.ingest(site, [self._event(k, assignments[k]) for k in chunk])
                    for k in chunk:
                        del assignments[k]
                    keys = keys[500:]
            for site, counts in self._counts(tally).items():
                await store.add_counts(site, counts)
                tally = {k: n for k, n in tally.items() if k[0] != site}
        except Exception:  # a store outage must not break rendering: keep the rest for later
            log.warning("served impressions could not be written yet", exc_info=True)
            for counted, n in tally.items():
                self._tally[counted] = self._tally.get(counted, 0) + n
            for key, value in assignments.items():
                self._assignments.setdefault(key, value)
        if self.dropped:
            log.warning("%d served assignments given up while the store did not keep up", self.dropped)
            self.dropped = 0


def refusal(event: dict[str, Any]) -> str | None:
    """Why the measurement refuses an otherwise valid event (the events route rejects it), or None."""
    value = event.get("value")
    if event.get("type") in OUTCOMES and isinstance(value, int | float) and value < 0:
        return f"'value' of a {event['type']} must not be negative (refunds are not measured), got {value:g}"
    props = event.get("properties")
    if event.get("type") in ("impression", "click") and isinstance(props, dict) and "propensity" in props:
        p = props["propensity"]
        if isinstance(p, bool) or not isinstance(p, int | float) or not (math.isfinite(p) and 0 < p <= 1):
            return f"'properties.propensity' must be a number in (0, 1], got {str(p)[:40]}"
    return None


def aggregates_allowed(level: str, is_bot: bool) -> bool:
    """Events without profiling consent still count in aggregates, unless a bot's or consent 'none'."""
    return not is_bot and level != "none"


def count_served(
    state: Any, site: str, blocks: dict[str, dict[str, Any]], ctx: Any, visitor_id: str | None = None
) -> None:
    """The render path's one call: served impressions of this page (never for bots or consent 'none'),
    and, with profiling consent, the render's experiment assignments as `served` exposures."""
    if not aggregates_allowed(ctx.consent.level, ctx.device.is_bot):
        return
    counter = getattr(state, "served_counter", None)
    if counter is None:
        counter = state.served_counter = ServedCounter()
    visitor = visitor_id if visitor_id and ctx.consent.profiling_allowed else None
    counter.add(site, blocks, getattr(state.services, "store", None), visitor)
