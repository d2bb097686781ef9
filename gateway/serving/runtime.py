# SPDX-License-Identifier: Apache-2.0
"""Everything built from one configuration; replaced as a whole on reload."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any

from slotwise.gateway.blocks.caches import CountingCache
from slotwise.gateway.blocks.page_cache import PageCache
from slotwise.gateway.blocks.renderer import Renderer
from slotwise.gateway.config.loader import Config, Slot
from slotwise.gateway.context.device import resolve_device
from slotwise.gateway.decisions.bandit_choice import BanditStates
from slotwise.gateway.ops.metrics import Metrics
from slotwise.gateway.recommend.catalog import Catalog
from slotwise.gateway.rules.segments import Segment

# Strategies that never wait on I/O: their slots render in line, without a task each.
INLINE_STRATEGIES = frozenset({"popular", "similar", "recently_viewed"})


@dataclass
class Runtime:
    config: Config
    catalog: Catalog
    renderer: Renderer
    block_cache: CountingCache
    concurrent_slots: frozenset[str]
    """Slots that may wait on a store or a model; they run concurrently, the rest in line."""
    page_cache: PageCache
    """Whole responses for visitors without a profile (`blocks.page_cache`)."""
    bandits: BanditStates = field(default_factory=BanditStates)
    """Each bandit's policy, rebuilt from the store's counters at most a second ago."""

    @property
    def segments(self) -> dict[str, Segment]:
        return self.config.segments


def settle_heap() -> None:
    """Once the gateway has started: what is alive now (modules, configuration, catalog, models,
    compiled templates, about 150,000 objects) leaves the collector's generations (`gc.freeze`).
    A full collection walked all of them, about 80 ms on the render path every few seconds
    while the caches fill, which set the p99 latency; now it walks what was made since.
    `build_runtime` undoes it (`gc.unfreeze`), so the runtime a reload replaces is collected.
    Garbage is collected first, so none of it is frozen."""
    gc.collect()
    gc.freeze()


def build_runtime(config: Config, metrics: Metrics) -> Runtime:
    # A reload: the frozen objects (the old runtime's among them) are the collector's again, or
    # the old runtime's reference cycles (Jinja2's environment) would never be freed.
    gc.unfreeze()
    cache = config.cache
    catalog = Catalog.load(
        config.catalog_path,
        cache_size=cache.catalog.size,
        cache_ttl=cache.catalog.ttl,
        hits=metrics.cache_hits,
        misses=metrics.cache_misses,
    )
    renderer = Renderer(config.gateway.templates_dir)
    for slot in config.slots.values():
        for block in _blocks(slot):
            renderer.prepare(block)  # compiled now: the first render would pay it, over a slot's budget
    resolve_device(WARM_UP_AGENT, None)  # the user-agent parser loads its rules on first use (~0.2 s)
    return Runtime(
        config,
        catalog,
        renderer,
        CountingCache("blocks", cache.blocks.size, cache.blocks.ttl, metrics),
        frozenset(name for name, slot in config.slots.items() if _awaits(slot)),
        PageCache(cache.pages.size, cache.pages.ttl, metrics),
    )


WARM_UP_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"


def _blocks(slot: Slot) -> list[dict[str, Any]]:
    """Every block the slot may show: its default, variants' and arms' blocks."""
    return [
        slot.default,
        *(v.block for v in slot.variants if v.block),
        *(a.block for v in slot.variants if v.experiment for a in v.experiment.arms if a.block),
        *(a.block for v in slot.variants if v.bandit for a in v.bandit.arms if a.block),
    ]


def _awaits(slot: Slot) -> bool:
    return any(b["type"] == "recommendations" and b["strategy"] not in INLINE_STRATEGIES for b in _blocks(slot))
