# SPDX-License-Identifier: Apache-2.0
"""Prometheus metrics of one app (its own registry, so apps in one process stay apart)."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Iterator
from math import inf

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.fallbacks = Counter(
            "slotwise_slot_fallbacks", "Slots that fell back to the default block", ["slot", "reason"], registry=r
        )
        self.render_seconds = RenderTimes((0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1))
        r.register(self.render_seconds)
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


class RenderTimes:
    """The render-time histogram (`slotwise_render_seconds`): plain per-bucket tallies bumped by
    the event loop's thread alone, turned into a metric when scraped (prometheus_client's
    Histogram takes a lock and walks its buckets in Python: about 2 us of a 50 us cached render)."""

    def __init__(self, bounds: tuple[float, ...]):
        self.bounds = bounds
        self._counts = [0] * (len(bounds) + 1)  # the last one: beyond the largest bound
        self._sum = 0.0

    def observe(self, seconds: float) -> None:
        self._counts[bisect_left(self.bounds, seconds)] += 1  # a bound is inclusive (le)
        self._sum += seconds

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, renders at most that long), the last bound infinite, as Prometheus counts."""
        out, total = [], 0
        for bound, count in zip([*self.bounds, inf], self._counts, strict=True):
            total += count
            out.append((bound, total))
        return out

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily("slotwise_render_seconds", "Time to render one page's slots")
        buckets = [("+Inf" if bound == inf else str(float(bound)), count) for bound, count in self.cumulative()]
        family.add_metric([], buckets, self._sum)
        yield family


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
