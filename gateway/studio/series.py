# SPDX-License-Identifier: Apache-2.0
"""Daily series for the studio's plots, from the store's KPI counters (`measure.kpis`).

One shape for every plot: `{"x": [day, ...], "series": [{"label", "values": [float|None]}],
"unit": "%"|""}`, read by `static/studio.js` into uPlot. A day without data is None (a gap).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from slotwise.gateway.measure import kpis

Raw = dict[str, dict[str, float]]
RATES = {"ctr", "conversion_rate", "revenue_per_visitor", "aov", "avg_time_on_page", "avg_scroll_depth"}
METRICS = ("ctr", "conversion_rate", "revenue_per_visitor", "impressions", "clicks", "visitors", "conversions")
PERCENT = {"ctr", "conversion_rate"}
REWARD_RATES = {
    "click": ("clicks", "impressions"),
    "conversion": ("conversions", "visitors"),
    "revenue": ("revenue", "visitors"),
}


def last_days(n: int, today: datetime | None = None) -> list[str]:
    end = (today or datetime.now(UTC)).date()
    return [(end - timedelta(days=i)).isoformat() for i in range(n - 1, -1, -1)]


async def read(store: Any, site: str, days: list[str]) -> Raw:
    return await store.counters(site, ["kpi|" + d for d in days])  # type: ignore[no-any-return]


def counters(raw: Raw, day: str, slot: str, segment: str = "", variant: str | None = None) -> dict[str, float]:
    """The counters of one day summed over the variants of `slot` ('' = the site row), or of one variant."""
    out: dict[str, float] = {}
    for key, value in raw.get("kpi|" + day, {}).items():
        parts = key.split("\x1f")
        if len(parts) != 4 or parts[0] != slot or parts[2] != segment:
            continue
        if variant is not None and parts[1] != variant:
            continue
        out[parts[3]] = out.get(parts[3], 0.0) + value
    return out


def value(row: dict[str, float], metric: str) -> float | None:
    if metric in RATES:
        rate = kpis.derive(row).get(metric)
        return None if rate is None else rate * (100 if metric in PERCENT else 1)
    return row.get(metric, 0.0)


def variants_of(raw: Raw, days: list[str], slot: str) -> list[str]:
    found = {
        key.split("\x1f")[1]
        for day in days
        for key in raw.get("kpi|" + day, {})
        if key.split("\x1f")[0] == slot and len(key.split("\x1f")) == 4
    }
    return sorted(v for v in found if v)


def kpi_plot(
    raw: Raw, days: list[str], metric: str, slots: list[str], slot: str | None, segment: str
) -> dict[str, Any]:
    """One line per variant of `slot`, or per slot (variants summed) plus the site when none is chosen."""
    lines: list[tuple[str, str, str | None]]
    if slot:
        lines = [(v, slot, v) for v in variants_of(raw, days, slot)] or [(slot, slot, None)]
    else:
        lines = [("site", "", None)] if metric not in ("ctr", "impressions", "clicks") else []
        lines += [(s, s, None) for s in slots]
    series = [
        {"label": label, "values": [value(counters(raw, d, s, segment, v), metric) for d in days]}
        for label, s, v in lines
    ]
    return {"x": days, "series": series, "unit": "%" if metric in PERCENT else ""}


def cumulative_lift(raw: Raw, days: list[str], slot: str, variant_id: str, arms: list[str]) -> dict[str, Any]:
    """Lift of each arm over the first, in %, on the counters summed from the first day up to each
    day: conversion rate (converters / visitors) and CTR (clicks / impressions)."""
    series = []
    for metric, (num, den) in (("conversion", ("converters", "visitors")), ("ctr", ("clicks", "impressions"))):
        totals = {arm: [0.0, 0.0] for arm in arms}
        per_day: dict[str, list[float | None]] = {arm: [] for arm in arms[1:]}
        for day in days:
            for arm in arms:
                row = counters(raw, day, slot, "", f"{variant_id}:{arm}")
                totals[arm][0] += row.get(num, 0.0)
                totals[arm][1] += row.get(den, 0.0)
            control = totals[arms[0]][0] / totals[arms[0]][1] if totals[arms[0]][1] else None
            for arm in arms[1:]:
                n, d = totals[arm]
                rate = n / d if d else None
                ok = control not in (None, 0.0) and rate is not None
                per_day[arm].append(round((rate / control - 1) * 100, 3) if ok else None)  # type: ignore[operator]
        series += [{"label": f"{arm} vs {arms[0]}: {metric}", "values": v} for arm, v in per_day.items()]
    return {"x": days, "series": series, "unit": "%"}


def bandit_plots(raw: Raw, days: list[str], slot: str, variant_id: str, arms: list[str], reward: str) -> dict[str, Any]:
    """Per day and arm: its share of the bandit's served views (the probabilities it chose with),
    and its reward rate (clicks per impression, or conversions per visitor)."""
    rows = {arm: [counters(raw, d, slot, "", f"{variant_id}:{arm}") for d in days] for arm in arms}
    num, den = REWARD_RATES.get(reward, REWARD_RATES["click"])
    scale = 1.0 if reward == "revenue" else 100.0
    share: list[dict[str, Any]] = []
    rate: list[dict[str, Any]] = []
    for arm in arms:
        values, rewards = [], []
        for i, row in enumerate(rows[arm]):
            views = sum(rows[a][i].get("served", 0.0) or rows[a][i].get("impressions", 0.0) for a in arms)
            mine = row.get("served", 0.0) or row.get("impressions", 0.0)
            values.append(round(100 * mine / views, 3) if views else None)
            rewards.append(round(scale * row.get(num, 0.0) / row[den], 4) if row.get(den) else None)
        share.append({"label": arm, "values": values})
        rate.append({"label": arm, "values": rewards})
    unit = "" if reward == "revenue" else "%"
    return {"share": {"x": days, "series": share, "unit": "%"}, "reward": {"x": days, "series": rate, "unit": unit}}
