# SPDX-License-Identifier: Apache-2.0
"""Prometheus metrics of one app (its own registry, so apps in one process stay apart)."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.fallbacks = Counter(
            "slotwise_slot_fallbacks", "Slots that fell back to the default block", ["slot", "reason"], registry=r
        )
        self.render_seconds = Histogram(
            "slotwise_render_seconds",
            "Time to render one page's slots",
            registry=r,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
        )
        self.config_reloads = Counter("slotwise_config_reloads", "Configuration reloads", ["result"], registry=r)
        self.alerts = Counter("slotwise_alerts", "Alerts raised (ops/alerts.py), by kind", ["kind"], registry=r)
        self.retrain_runs = Counter(
            "slotwise_retrain_runs", "Scheduled retraining runs, by result", ["result"], registry=r
        )
        # Counted several times per render: plain tallies, turned into metrics only when scraped
        # (a prometheus_client child's lock and label look-up cost more than the work counted).
        self.requests: Tally[tuple[str, str]] = Tally()
        self.slot_outcomes: Tally[str] = Tally()
        self.cache_hits: Tally[str] = Tally()
        self.cache_misses: Tally[str] = Tally()
        r.register(_Tallies(self))

    def export(self) -> bytes:
        return generate_latest(self.registry)


class _Tallies:
    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        m = self.metrics
        requests = CounterMetricFamily(
            "slotwise_requests", "HTTP requests by route and status", labels=["route", "status"]
        )
        for (route, status), value in sorted(m.requests.items()):
            requests.add_metric([route, status], value)
        yield requests
        for name, doc, label, tally in (
            ("slotwise_slots_rendered", "Slots rendered, by outcome", "outcome", m.slot_outcomes),
            ("slotwise_cache_hits", "Cache hits", "cache", m.cache_hits),
            ("slotwise_cache_misses", "Cache misses", "cache", m.cache_misses),
        ):
            family = CounterMetricFamily(name, doc, labels=[label])
            for key, value in sorted(tally.items()):
                family.add_metric([key], value)
            yield family
