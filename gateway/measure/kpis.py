# SPDX-License-Identifier: Apache-2.0
"""KPIs per site, slot, variant, segment and UTC day: the counters, and the figures derived from them.

Counters live under the scope `kpi|YYYY-MM-DD` with keys `slot\\x1fvariant\\x1fsegment\\x1fname`;
the site row has slot and variant `""`, and segment `""` means all visitors. Two kinds:

- per event (no visitor state, so visitors with consent `anonymous` count too): `impressions`
  (viewable), `served`, `clicks`, `engagements`, `time_on_page`, `scroll_depth`; on the site row
  also `conversions`, `signups`, `purchases`, `revenue`;
- per visitor (from the attribution state, profiling consent only): `visitors` (distinct visitors
  exposed that day, or active on the site row), and outcomes attributed to the variant:
  `conversions`, `purchases`, `revenue`, `converters`; on the site row `converters`, `buyers`,
  `new_visitors`, `returned_7`, `returned_30` (by the day of the visitor's first visit).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from slotwise.gateway.measure.attribution import DAY, MeasureSettings, variant_outcomes
from slotwise.gateway.measure.exposures import OUTCOMES, Exposure, exposure_of, number, page_variants

Counts = dict[tuple[str, str], float]
SITE = ("", "")
MAX_TIME_ON_PAGE = 4 * 3600.0
CLV_MAX_RETENTION = 0.95


@functools.lru_cache(maxsize=4096)
def _scope_of_day(day: int) -> str:
    return "kpi|" + datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%d")


def day_scope(ts: float) -> str:
    return _scope_of_day(int(ts // DAY))


def kpi_key(slot: str, variant: str, segment: str, name: str) -> str:
    return f"{slot}\x1f{variant}\x1f{segment}\x1f{name}"


def _add(counts: Counts, scope: str, key: str, value: float) -> None:
    if value:
        counts[(scope, key)] = counts.get((scope, key), 0.0) + value


def event_counts(
    events: Iterable[dict[str, Any]], counts: Counts, exposures: Iterable[Exposure | None] | None = None
) -> None:
    """Counters that each event adds on its own, whoever the visitor is (`exposures`: parsed already)."""
    events = list(events)
    for event, exposure in zip(events, exposures or map(exposure_of, events), strict=True):
        etype = event["type"]
        if exposure is None and etype not in OUTCOMES and etype != "engagement":
            continue  # page and item views, carts: nothing of their own (most events)
        scope = day_scope(event["ts"])
        if exposure is not None:
            if etype == "impression" and exposure.kind == "served":
                continue  # the render path counts served impressions itself
            name = "impressions" if etype == "impression" else "clicks"
            for segment in ("", *exposure.segments):
                _add(counts, scope, kpi_key(exposure.slot, exposure.variant, segment, name), 1.0)
            if exposure.experiment is not None:
                _add(counts, "exp|" + exposure.experiment, f"{exposure.arm}\x1f{name}\x1fcount", 1.0)
        elif etype in OUTCOMES:
            _add(counts, scope, kpi_key(*SITE, "", "conversions"), 1.0)
            if etype == "signup":
                _add(counts, scope, kpi_key(*SITE, "", "signups"), 1.0)
            if etype == "purchase":
                _add(counts, scope, kpi_key(*SITE, "", "purchases"), 1.0)
                _add(counts, scope, kpi_key(*SITE, "", "revenue"), number(event.get("value"), 0.0, 1e9) or 0.0)
        elif etype == "engagement":
            props = event.get("properties") or {}
            seconds = number(props.get("time_on_page"), 0.0, MAX_TIME_ON_PAGE)
            depth = number(props.get("scroll_depth"), 0.0, 1.0)
            for slot, variant in [SITE, *page_variants(event)]:
                _add(counts, scope, kpi_key(slot, variant, "", "engagements"), 1.0)
                _add(counts, scope, kpi_key(slot, variant, "", "time_on_page"), seconds or 0.0)
                _add(counts, scope, kpi_key(slot, variant, "", "scroll_depth"), depth or 0.0)


def visitor_counts(state: dict[str, Any], settings: MeasureSettings, counts: Counts) -> None:
    """The counters one visitor's state contributes (their sum over visitors is the aggregate)."""
    days = state["d"]
    for day in days:
        _add(counts, _scope_of_day(day), kpi_key(*SITE, "", "visitors"), 1.0)
    if days:
        first = days[0]
        scope = _scope_of_day(first)
        _add(counts, scope, kpi_key(*SITE, "", "new_visitors"), 1.0)
        later = [d - first for d in days[1:]]
        _add(counts, scope, kpi_key(*SITE, "", "returned_7"), float(any(d <= 7 for d in later)))
        _add(counts, scope, kpi_key(*SITE, "", "returned_30"), float(any(d <= 30 for d in later)))
    for key, seen in state["s"].items():
        slot, _, variant = key.partition("\x1f")
        for day in sorted({int(t // DAY) for t in seen["t"]}):
            for segment in ("", *seen["g"]):
                _add(counts, _scope_of_day(day), kpi_key(slot, variant, segment, "visitors"), 1.0)
    site_flags: set[tuple[str, str]] = set()
    variant_flags: set[tuple[str, str, str, str]] = set()
    for outcome, hits in variant_outcomes(state, settings.default_window):
        ts, etype, value = outcome[0], outcome[1], outcome[2]
        scope = _scope_of_day(int(ts // DAY))
        site_flags.add((scope, "converters"))
        if etype == "purchase":
            site_flags.add((scope, "buyers"))
        for slot, variant, segments in hits:
            for segment in ("", *segments):
                _add(counts, scope, kpi_key(slot, variant, segment, "conversions"), 1.0)
                if etype == "purchase":
                    _add(counts, scope, kpi_key(slot, variant, segment, "purchases"), 1.0)
                    _add(counts, scope, kpi_key(slot, variant, segment, "revenue"), value)
                variant_flags.add((scope, slot, variant, segment))
    for scope, name in site_flags:
        _add(counts, scope, kpi_key(*SITE, "", name), 1.0)
    for scope, slot, variant, segment in variant_flags:
        _add(counts, scope, kpi_key(slot, variant, segment, "converters"), 1.0)


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def derive(row: dict[str, float]) -> dict[str, float | None]:
    """The rates of one row of counters (null where the denominator is 0)."""
    get = row.get
    return {
        "ctr": _ratio(get("clicks", 0.0), get("impressions", 0.0)),
        "conversion_rate": _ratio(get("converters", 0.0), get("visitors", 0.0)),
        "aov": _ratio(get("revenue", 0.0), get("purchases", 0.0)),
        "revenue_per_visitor": _ratio(get("revenue", 0.0), get("visitors", 0.0)),
        "avg_time_on_page": _ratio(get("time_on_page", 0.0), get("engagements", 0.0)),
        "avg_scroll_depth": _ratio(get("scroll_depth", 0.0), get("engagements", 0.0)),
        "return_rate_7": _ratio(get("returned_7", 0.0), get("new_visitors", 0.0)),
        "return_rate_30": _ratio(get("returned_30", 0.0), get("new_visitors", 0.0)),
    }


def clv(total: dict[str, float]) -> float | None:
    """Revenue per buyer in the range × expected lifetime in 30-day periods, 1 / (1 − r30)."""
    per_buyer = _ratio(total.get("revenue", 0.0), total.get("buyers", 0.0))
    retention = _ratio(total.get("returned_30", 0.0), total.get("new_visitors", 0.0))
    if per_buyer is None or retention is None:
        return None
    return per_buyer / (1.0 - min(retention, CLV_MAX_RETENTION))


def days_between(start: date, end: date) -> list[str]:
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def report(raw: dict[str, dict[str, float]], days: list[str], slot: str | None = None) -> dict[str, Any]:
    """Daily rows (one per day, slot, variant and segment) with counters and rates, plus totals."""
    rows = []
    totals: dict[tuple[str, str, str], dict[str, float]] = {}
    for day in days:
        grouped: dict[tuple[str, str, str], dict[str, float]] = {}
        for key, value in raw.get("kpi|" + day, {}).items():
            parts = key.split("\x1f")
            if len(parts) != 4 or (slot is not None and parts[0] not in (slot, "")):
                continue
            grouped.setdefault((parts[0], parts[1], parts[2]), {})[parts[3]] = value
        for (s, v, g), counters in sorted(grouped.items()):
            rows.append(
                {
                    "day": day,
                    "slot": s or None,
                    "variant": v or None,
                    "segment": g or None,
                    "counters": counters,
                    **derive(counters),
                }
            )
            total = totals.setdefault((s, v, g), {})
            for name, value in counters.items():
                total[name] = total.get(name, 0.0) + value
    summary = []
    for (s, v, g), counters in sorted(totals.items()):
        entry = {
            "slot": s or None,
            "variant": v or None,
            "segment": g or None,
            "counters": counters,
            **derive(counters),
        }
        if not s:
            entry["clv"] = clv(counters)
        summary.append(entry)
    return {"days": days, "rows": rows, "totals": summary, "generated_at": time.time()}
