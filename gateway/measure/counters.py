# SPDX-License-Identifier: Apache-2.0
"""Experiment counters: per arm, n and the sums the statistics need, from visitors' states.

Scope `exp|KEY`, keys `arm\\x1fmetric\\x1fstat`: `n` (assigned visitors, stat `""`); per metric of
`attribution.EXPERIMENT_METRICS` the stats `sum`, `sumsq` (the metric after assignment, within
the window) and `pre`, `presq`, `cross` (the same metric in the window before assignment, the
CUPED covariate). `impressions`, `clicks` and `served` event counts have the stat `count`.
"""

from __future__ import annotations

from typing import Any

from slotwise.gateway.measure.attribution import BINOMIAL, EXPERIMENT_METRICS, MeasureSettings, experiment_values
from slotwise.gateway.measure.kpis import Counts


def visitor_counts(state: dict[str, Any], settings: MeasureSettings, counts: Counts) -> None:
    for key in state["x"]:
        found = experiment_values(state, key, settings.window(key))
        if found is None:
            continue
        arm, after, before = found
        scope = "exp|" + key

        def add(name: str, value: float, scope: str = scope) -> None:
            if value:
                counts[(scope, name)] = counts.get((scope, name), 0.0) + value

        add(f"{arm}\x1fn\x1f", 1.0)
        for metric in EXPERIMENT_METRICS:
            x, pre = after[metric], before[metric]
            add(f"{arm}\x1f{metric}\x1fsum", x)
            add(f"{arm}\x1f{metric}\x1fsumsq", x * x)
            add(f"{arm}\x1f{metric}\x1fpre", pre)
            add(f"{arm}\x1f{metric}\x1fpresq", pre * pre)
            add(f"{arm}\x1f{metric}\x1fcross", x * pre)


def arm_table(raw: dict[str, float]) -> dict[str, dict[str, dict[str, float]]]:
    """`{arm: {metric: {stat: value}}}` from the counters of one experiment (n under metric `n`)."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    for key, value in raw.items():
        parts = key.split("\x1f")
        if len(parts) != 3:
            continue
        arm, metric, stat = parts
        table.setdefault(arm, {}).setdefault(metric, {})[stat or "n"] = value
    return table


def _clean(value: float, n: int) -> float:
    # Sums of float deltas may drift by an ulp; a count can not leave [0, n].
    return min(max(round(value, 9), 0.0), float(n))


def metric_payload(
    metric: str, arms: list[str], table: dict[str, dict[str, dict[str, float]]], cuped: bool
) -> dict[str, Any]:
    """One `experiments analyze` input (arms in config order, the first is the control)."""
    binomial = metric in BINOMIAL
    rows = []
    for arm in arms:
        stats = table.get(arm, {})
        n = round(stats.get("n", {}).get("n", 0.0))
        m = stats.get(metric, {})
        total = _clean(m.get("sum", 0.0), n) if binomial else max(m.get("sum", 0.0), 0.0)
        row: dict[str, Any] = {
            "name": arm,
            "n": n,
            "sum": total,
            "sum_squares": total if binomial else max(m.get("sumsq", 0.0), total * total / n if n else 0.0),
        }
        if cuped:
            pre = _clean(m.get("pre", 0.0), n) if binomial else max(m.get("pre", 0.0), 0.0)
            presq = pre if binomial else max(m.get("presq", 0.0), pre * pre / n if n else 0.0)
            row.update(sum_pre=pre, sum_pre_squares=presq, sum_cross=max(m.get("cross", 0.0), 0.0))
        rows.append(row)
    return {"metric": "binomial" if binomial else "mean", "name": metric, "arms": rows}


def has_covariate(metric: str, arms: list[str], table: dict[str, dict[str, dict[str, float]]]) -> bool:
    """CUPED only helps (and only validates) when the pre-period metric varies in every arm."""
    for arm in arms:
        stats = table.get(arm, {})
        n = stats.get("n", {}).get("n", 0.0)
        m = stats.get(metric, {})
        pre, presq = m.get("pre", 0.0), m.get("presq", 0.0)
        if n < 2 or presq - pre * pre / n <= 1e-9 * max(presq, 1.0):
            return False
    return True
