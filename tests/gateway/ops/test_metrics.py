# SPDX-License-Identifier: Apache-2.0
"""The render-time histogram: inclusive bounds, cumulative counts, the Prometheus text format."""

from __future__ import annotations

from slotwise.gateway.ops.metrics import Metrics


def test_render_times_count_each_render_in_its_bucket_bounds_inclusive() -> None:
    metrics = Metrics()
    for seconds in (0.0001, 0.0005, 0.001, 0.003, 2.0):
        metrics.render_seconds.observe(seconds)
    cumulative = dict(metrics.render_seconds.cumulative())
    assert cumulative[0.0005] == 2  # 0.5 ms itself is "le 0.5 ms", as Prometheus defines buckets
    assert cumulative[0.001] == 3
    assert cumulative[0.005] == 4
    assert cumulative[1] == 4
    assert cumulative[float("inf")] == 5


def test_render_times_export_as_a_prometheus_histogram() -> None:
    metrics = Metrics()
    metrics.render_seconds.observe(0.002)
    metrics.render_seconds.observe(0.3)
    text = metrics.export().decode()
    assert "# TYPE slotwise_render_seconds histogram" in text
    assert 'slotwise_render_seconds_bucket{le="0.002"} 1.0' in text
    assert 'slotwise_render_seconds_bucket{le="0.25"} 1.0' in text
    assert 'slotwise_render_seconds_bucket{le="1.0"} 2.0' in text
    assert 'slotwise_render_seconds_bucket{le="+Inf"} 2.0' in text
    assert "slotwise_render_seconds_count 2.0" in text
    assert "slotwise_render_seconds_sum 0.302" in text
