# SPDX-License-Identifier: Apache-2.0
"""Exposures: what an `impression` or `click` event says was shown, and served-impression counts.

An exposure's `properties` carry `slot`, `variant`, and for experiments and bandits `experiment`,
`arm` (and `propensity`), optionally `segments` (from the render response) and `kind`
(`viewable`, the default, from client.js; `served` when the render itself was the exposure).
`ServedCounter` counts served impressions per block in memory on the render path and writes
them to the store in the background a second later, so a render never waits on a write (a
crash loses at most that second of served counts; viewable impressions are events, never lost).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache

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
    return Exposure(slot, variant, experiment, arm, propensity, segments_of(props), kind)


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
    """Served impressions per (site, day, slot, variant, experiment, arm), flushed every second."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, str, str], float] = {}
        self._events: dict[str, list[dict[str, Any]]] = {}
        self._assigned: LRUCache[str, bool] = LRUCache(maxsize=100_000)
        self._task: asyncio.Task[None] | None = None

    def assign(self, site: str, visitor_id: str, blocks: dict[str, dict[str, Any]], now: float | None = None) -> None:
        """Queue one `served` exposure per visitor, experiment and day (a deterministic event_id,
        so the log keeps one): the assignment of server-rendered pages without client.js."""
        now = time.time() if now is None else now
        for slot, block in blocks.items():
            exp = block.get("experiment")
            if not (isinstance(exp, dict) and isinstance(exp.get("key"), str) and isinstance(exp.get("arm"), str)):
                continue
            day = int(now // 86400)
            digest = hashlib.blake2b(f"{site}\x00{visitor_id}\x00{exp['key']}\x00{day}".encode(), digest_size=12)
            event_id = "srv-" + digest.hexdigest()
            if event_id in self._assigned:
                continue
            self._assigned[event_id] = True
            props = {
                "slot": slot,
                "variant": block.get("variant"),
                "experiment": exp["key"],
                "arm": exp["arm"],
                "kind": "served",
            }
            segments = block.get("segments")
            if isinstance(segments, list) and segments:
                props["segments"] = segments[:MAX_SEGMENTS]
            self._events.setdefault(site, []).append(
                {
                    "event_id": event_id,
                    "visitor_id": visitor_id,
                    "type": "impression",
                    "ts": round(now, 3),
                    "properties": props,
                }
            )

    def add(self, site: str, blocks: dict[str, dict[str, Any]], store: Any, now: float | None = None) -> None:
        from slotwise.gateway.measure.kpis import day_scope, kpi_key

        scope = day_scope(time.time() if now is None else now)
        for slot, block in blocks.items():
            variant = block.get("variant")
            if not isinstance(variant, str) or block.get("html") is None:
                continue
            key = (site, scope, kpi_key(slot, variant, "", "served"))
            self._pending[key] = self._pending.get(key, 0.0) + 1.0
            exp = block.get("experiment")
            if isinstance(exp, dict) and isinstance(exp.get("key"), str) and isinstance(exp.get("arm"), str):
                ekey = (site, "exp|" + exp["key"], f"{exp['arm']}\x1fserved\x1fcount")
                self._pending[ekey] = self._pending.get(ekey, 0.0) + 1.0
        if store is not None and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._later(store))

    async def _later(self, store: Any) -> None:
        """One write per second at most, a second after the first render that had something to count."""
        try:
            await asyncio.sleep(FLUSH_EVERY)
            await self.flush(store)
        finally:
            self._task = None

    async def flush(self, store: Any) -> None:
        pending, self._pending = self._pending, {}
        events, self._events = self._events, {}
        try:
            for site, batch in events.items():
                for start in range(0, len(batch), 500):
                    await store.ingest(site, batch[start : start + 500])
            by_site: dict[str, dict[tuple[str, str], float]] = {}
            for (site, scope, key), value in pending.items():
                by_site.setdefault(site, {})[(scope, key)] = value
            for site, counts in by_site.items():
                await store.add_counts(site, counts)
        except Exception:  # counts are best effort: a store outage must not break rendering
            log.warning("served impressions could not be written", exc_info=True)


def refusal(event: dict[str, Any]) -> str | None:
    """Why the measurement refuses an otherwise valid event (the events route rejects it), or None."""
    value = event.get("value")
    if event.get("type") in OUTCOMES and isinstance(value, int | float) and value < 0:
        return f"'value' of a {event['type']} must not be negative (refunds are not measured), got {value:g}"
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
    if visitor_id and ctx.consent.profiling_allowed:
        counter.assign(site, visitor_id, blocks)
    counter.add(site, blocks, getattr(state.services, "store", None))
