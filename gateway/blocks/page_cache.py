# SPDX-License-Identifier: Apache-2.0
"""Whole render responses for visitors without a profile (first visits, no consent, bots).

Such a response depends only on the request context, the slots asked for and the
configuration, never on who asks, unless the render read something of the visitor: an
experiment's assignment by visitor hash, a block whose template or strategy reads the
visitor, a bandit's draw (new each view), a failed slot (`Env.read_visitor` marks those; never kept).
The key is every context value a rule or a template can read (the minute only through the
ttl boundary it sets); an entry holds from the moment it was rendered until the earliest
moment a value it read changes (`env.bound`), at most `cache.pages.ttl` seconds. What differs
per request is filled in on each hit: the visitor id, and each block's ttl from this request's clock.
The CORS headers are computed by the route, outside the entry.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slotwise.gateway.ops.metrics import Metrics

_VISITOR = "\x00slotwise-visitor\x00"  # stand-ins, replaced on each hit
_TTL_BASE = 7_000_000_000


def page_key(site: str, slot_names: Sequence[str], ctx: Any, anonymous: bool) -> tuple[Any, ...]:
    """Everything of the request a response without visitor data can depend on."""
    local, device, geo, ref, consent = ctx.local, ctx.device, ctx.geo, ctx.referrer, ctx.consent
    # Plain strings, numbers and booleans: tuples of them hash in C (the frozen dataclasses in Python).
    return (
        site,
        tuple(slot_names),
        anonymous,  # with no id, experiments fall through to later variants
        device.cls,
        device.os,
        device.browser,
        device.is_bot,
        local.tz,
        local.hour,
        local.weekday,
        local.daypart,
        local.business_hours,
        local.date,
        geo.country,
        geo.region,
        geo.source,
        ref.cls,
        ref.host,
        tuple(sorted(ctx.utm.items())) if ctx.utm else (),
        ctx.language,
        consent.level,
        consent.gpc,
        consent.dnt,
        ctx.url,
        ctx.path,
        ctx.item_id,
        ctx.simulated,
    )


def block_ttl(boundary: float, max_ttl: int, now: float) -> int:
    """A block's ttl: until the earliest change of what it read, at most `max_ttl` (as `render_slot`)."""
    if math.isinf(boundary):
        return max_ttl
    return max(0, min(max_ttl, int(boundary - now)))


@dataclass(frozen=True, slots=True)
class CachedPage:
    rendered: float
    expires: float
    """The entry holds on [rendered, expires) of the request clock `ctx.now` (which a simulated
    hour or weekday moves back and forth): what it read was read at `rendered` and next changes
    at `expires` at the earliest."""
    parts: tuple[str, ...]
    """The encoded response split around the visitor id and each block's ttl."""
    ttls: tuple[tuple[float, int], ...]
    """Per block: (boundary, max_ttl)."""
    blocks: dict[str, dict[str, Any]]
    """Variant and experiment per block, for the served-impression counts."""

    def encode(self, visitor_id: str | None, now: float) -> bytes:
        parts = self.parts
        out = [parts[0], json.dumps(visitor_id), parts[1]]
        for i, (boundary, max_ttl) in enumerate(self.ttls):
            out.append(str(block_ttl(boundary, max_ttl, now)))
            out.append(parts[i + 2])
        return "".join(out).encode("utf-8", "replace")


class PageCache:
    """A bounded LRU of `CachedPage`s with hit/miss counters (label `pages`): a dict in recency
    order (a hit moves its key to the end, the first key is the oldest), all C operations."""

    def __init__(self, size: int, ttl: float, metrics: Metrics):
        self._cache: dict[tuple[Any, ...], CachedPage] | None = {} if size and ttl else None
        self._size = size
        self._ttl = ttl
        self._hits = metrics.cache_hits
        self._misses = metrics.cache_misses

    @property
    def enabled(self) -> bool:
        return self._cache is not None

    def get(self, key: tuple[Any, ...], now: float) -> CachedPage | None:
        if self._cache is None:
            return None
        entry = self._cache.pop(key, None)
        if entry is not None and entry.rendered <= now < entry.expires:
            self._cache[key] = entry
            self._hits["pages"] += 1
            return entry
        self._misses["pages"] += 1
        return None

    def put(
        self,
        key: tuple[Any, ...],
        encode: Any,
        head: dict[str, Any],
        blocks: dict[str, dict[str, Any]],
        bounds: Sequence[tuple[float, int]],
        valid_until: float,
        now: float,
        sent: bytes,
    ) -> None:
        """Keep the response `sent` (`encode(head, blocks)`, rendered at `now`); `bounds` are the
        blocks' (boundary, max_ttl) in order; `valid_until` the earliest change of anything it read.
        The entry is kept only if it rebuilds `sent` byte for byte."""
        if self._cache is None:
            return
        marked = {name: {**b, "ttl": _TTL_BASE + i} for i, (name, b) in enumerate(blocks.items())}
        text = encode({**head, "visitor_id": _VISITOR}, marked).decode("utf-8")
        parts = text.split(json.dumps(_VISITOR), 1)
        for i in range(len(blocks)):
            parts[-1:] = parts[-1].split(str(_TTL_BASE + i), 1)
        if len(parts) != len(blocks) + 2:
            return
        counted = {n: {"variant": b["variant"], "experiment": b["experiment"], "html": ""} for n, b in blocks.items()}
        entry = CachedPage(now, min(valid_until, now + self._ttl), tuple(parts), tuple(bounds), counted)
        if entry.encode(head["visitor_id"], now) == sent:  # a stand-in inside the content would break this
            cache = self._cache
            cache.pop(key, None)
            cache[key] = entry
            while len(cache) > self._size:
                del cache[next(iter(cache))]
