# SPDX-License-Identifier: Apache-2.0
"""Everything built from one configuration; replaced as a whole on reload."""

from __future__ import annotations

from dataclasses import dataclass, field

from slotwise.gateway.blocks.caches import CountingCache
from slotwise.gateway.blocks.renderer import Renderer
from slotwise.gateway.config.loader import Config, Slot
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
    bandits: BanditStates = field(default_factory=BanditStates)
    """Each bandit's policy, rebuilt from the store's counters at most a second ago."""

    @property
    def segments(self) -> dict[str, Segment]:
        return self.config.segments


def build_runtime(config: Config, metrics: Metrics) -> Runtime:
    cache = config.cache
    catalog = Catalog.load(
        config.catalog_path,
        cache_size=cache.catalog_size,
        cache_ttl=cache.catalog_ttl,
        hits=metrics.cache_hits,
        misses=metrics.cache_misses,
    )
    return Runtime(
        config,
        catalog,
        Renderer(config.gateway.templates_dir),
        CountingCache("blocks", cache.blocks_size, cache.blocks_ttl, metrics),
        frozenset(name for name, slot in config.slots.items() if _awaits(slot)),
    )


def _awaits(slot: Slot) -> bool:
    blocks = [
        slot.default,
        *(v.block for v in slot.variants if v.block),
        *(a.block for v in slot.variants if v.experiment for a in v.experiment.arms),
        *(a.block for v in slot.variants if v.bandit for a in v.bandit.arms),
    ]
    return any(b["type"] == "recommendations" and b["strategy"] not in INLINE_STRATEGIES for b in blocks)
