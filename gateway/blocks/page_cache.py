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
A slot whose decision read the visitor (an experiment's assignment by visitor hash, a bandit's
draw, a template reading the visitor, a failure) is a hole in the entry: it is rendered anew on
every hit, with the page's segment memberships, and the rest of the page comes from the entry.
A page of holes only is not kept. The CORS headers are computed by the route, outside the entry.
"""

from __future__ import annotations

import json
import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii  # json.dumps of a str, without its Python layers
from math import isinf
from typing import Any

from slotwise.gateway.blocks.page import encode_block, page_prefix
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
    head: tuple[str, str]
    """The encoded response up to its blocks, split around the visitor id."""
    parts: tuple[tuple[str, str, float, int] | str, ...]
    """Per block in order: (text before its ttl, text after it, boundary, max_ttl), or the name
    of a live slot (a hole rendered on each hit)."""
    blocks: dict[str, dict[str, Any]]
    """Variant and experiment of each kept block, for the served-impression counts."""
    live: tuple[str, ...]
    """The slots rendered on each hit."""
    segments: list[str]
    """The page's segment memberships (context only: no profile), for the live slots."""

    def encode(self, visitor_id: str | None, now: float, live: dict[str, dict[str, Any]]) -> bytes:
        """The response for this hit; `live`: the blocks rendered for it (one per live slot)."""
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(encode_block(part, live[part]))
                continue
            before, after, boundary, max_ttl = part
            # block_ttl, inline (four blocks per hit)
            ttl = max_ttl if isinf(boundary) else max(0, min(max_ttl, int(boundary - now)))
            out.append(f"{before}{ttl}{after}")
        quoted = "null" if visitor_id is None else encode_basestring_ascii(visitor_id)
        head = f"{self.head[0]}{quoted}{self.head[1]}"
        return f"{head}{','.join(out)}}}}}".encode("utf-8", "replace")


class PageCache:
    """A bounded LRU of `CachedPage`s with hit/miss counters (label `pages`): a dict in recency
    order (a hit moves its key to the end, the first key is the oldest), all C operations.

    A page is kept the second time its key misses, not the first: a doorkeeper (a fixed array of
    key hashes, direct-mapped, never resized) remembers keys seen once. Traffic whose contexts
    never repeat (a crawler's URLs, fresh UTM values) then never churns the cache's entries,
    which only fragmented the heap; a repeating context costs one more full render."""

    def __init__(self, size: int, ttl: float, metrics: Metrics):
        self._cache: dict[tuple[Any, ...], CachedPage] | None = {} if size and ttl else None
        self._door = array("q", bytes(8 * max(1024, 2 * size))) if self._cache is not None else array("q")
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

    def _admit(self, key: tuple[Any, ...]) -> bool:
        """Whether `key` missed before (its hash is in the doorkeeper); marks it otherwise."""
        door = self._door
        mark = hash(key) or 1
        slot = mark % len(door)
        if door[slot] == mark:
            return True
        door[slot] = mark
        return False

    def put(
        self,
        key: tuple[Any, ...],
        head: dict[str, Any],
        blocks: dict[str, dict[str, Any]],
        bounds: dict[str, tuple[float, int]],
        live: dict[str, dict[str, Any]],
        segments: list[str],
        valid_until: float,
        now: float,
        sent: bytes,
    ) -> None:
        """Keep the response `sent` (rendered at `now`) for its context: `blocks` are the page's
        blocks in order, `live` those of them rendered anew on each hit, `bounds` the others'
        (boundary, max_ttl), `valid_until` the earliest change of anything the kept part read.
        The entry is kept only if it rebuilds `sent` byte for byte."""
        if self._cache is None or len(live) == len(blocks) or not self._admit(key):
            return
        before, _, after = page_prefix({**head, "visitor_id": _VISITOR}).partition(json.dumps(_VISITOR))
        parts: list[tuple[str, str, float, int] | str] = []
        for name, block in blocks.items():
            if name in live:
                parts.append(name)
                continue
            split = encode_block(name, {**block, "ttl": _TTL_BASE}).split(str(_TTL_BASE))
            if len(split) != 2:
                return  # the stand-in also stands in the content
            parts.append((split[0], split[1], *bounds[name]))
        counted = {
            n: {"variant": b["variant"], "experiment": b["experiment"], "html": ""}
            for n, b in blocks.items()
            if n not in live
        }
        entry = CachedPage(
            now, min(valid_until, now + self._ttl), (before, after), tuple(parts), counted, tuple(live), segments
        )
        fresh = {name: dict(block) for name, block in live.items()}
        if entry.encode(head["visitor_id"], now, fresh) == sent:
            cache = self._cache
            cache.pop(key, None)
            cache[key] = entry
            while len(cache) > self._size:
                del cache[next(iter(cache))]
