"""Prometheus metrics of one app (its own registry, so apps in one process stay apart)."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("slotwise_requests", "HTTP requests by route and status",
                                ["route", "status"], registry=r)
        self.slots = Counter("slotwise_slots_rendered", "Slots rendered, by outcome",
                             ["outcome"], registry=r)
        self.slots_ok = self.slots.labels("ok")
        self.fallbacks = Counter("slotwise_slot_fallbacks", "Slots that fell back to the default block",
                                 ["slot", "reason"], registry=r)
        self.cache_hits = Counter("slotwise_cache_hits", "Cache hits", ["cache"], registry=r)
        self.cache_misses = Counter("slotwise_cache_misses", "Cache misses", ["cache"], registry=r)
        self.render_seconds = Histogram("slotwise_render_seconds", "Time to render one page's slots",
                                        registry=r, buckets=(.0005, .001, .002, .005, .01, .025, .05, .1, .25, 1))
        self.config_reloads = Counter("slotwise_config_reloads", "Configuration reloads", ["result"], registry=r)

    def export(self) -> bytes:
        return generate_latest(self.registry)
