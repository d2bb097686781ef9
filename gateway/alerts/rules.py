# SPDX-License-Identifier: Apache-2.0
"""Judging alert rules: each gives a `Check` (firing or not), or None when there is too little
data to tell (the rule keeps its previous state then)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from slotwise.gateway.config.alerts import AlertRule
from slotwise.gateway.measure.results import ResultsError, experiment_results

_RATE_PARTS = {"ctr": ("clicks", "impressions"), "conversion_rate": ("converters", "visitors")}


@dataclass(frozen=True)
class Check:
    key: str
    """The rule's name, or `rule/experiment` for an SRM rule over several experiments."""
    rule: AlertRule
    firing: bool
    message: str
    fields: dict[str, Any] = field(default_factory=dict)
    shared: bool = True
    """Judged on the shared store (every replica sees the same) rather than this process's health."""


class HealthWindow:
    """This process's renders, fallbacks and render-time histogram since the previous round."""

    def __init__(self, metrics: Any):
        self.metrics = metrics
        self._last = self._read()
        self.outcomes: dict[str, float] = {}
        self.buckets: list[tuple[float, float]] = []

    def _read(self) -> tuple[dict[str, float], list[tuple[float, float]]]:
        buckets = [(le, float(count)) for le, count in self.metrics.render_seconds.cumulative()]
        return dict(self.metrics.slot_outcomes), buckets

    def advance(self) -> None:
        outcomes, buckets = self._read()
        old_outcomes, old_buckets = self._last
        self.outcomes = {k: v - old_outcomes.get(k, 0.0) for k, v in outcomes.items()}
        old = dict(old_buckets)
        self.buckets = [(le, count - old.get(le, 0.0)) for le, count in buckets]
        self._last = (outcomes, buckets)


def _window(today: date, days: int, skip: int = 0) -> list[str]:
    end = today - timedelta(days=skip)
    return [(end - timedelta(days=i)).isoformat() for i in range(days)]


def _sum(raw: dict[str, dict[str, float]], days: list[str], rule: AlertRule, names: tuple[str, str]) -> list[float]:
    out = [0.0, 0.0]
    slot, variant, segment = rule.slot or "", rule.variant, rule.segment or ""
    for day in days:
        for key, value in raw.get("kpi|" + day, {}).items():
            parts = key.split("\x1f")
            if len(parts) != 4 or parts[0] != slot or parts[2] != segment:
                continue
            if (variant is not None and parts[1] != variant) or (not slot and parts[1]):
                continue
            if parts[3] in names:
                out[names.index(parts[3])] += value
    return out


async def kpi_check(rule: AlertRule, store: Any, config: Any, today: date) -> Check | None:
    site = rule.site or next(iter(config.sites))
    names = _RATE_PARTS[str(rule.metric)]
    current_days = _window(today, rule.window_days)
    baseline_days = _window(today, rule.baseline_days, skip=rule.window_days)
    raw = await store.counters(site, ["kpi|" + d for d in current_days + baseline_days])
    num, den = _sum(raw, current_days, rule, names)
    if den < max(rule.min_volume, 1):
        return None
    value = num / den
    base_num, base_den = _sum(raw, baseline_days, rule, names)
    baseline = base_num / base_den if base_den >= max(rule.min_volume, 1) else None
    what = f"{rule.metric} of {rule.slot or 'the site'}" + (f" variant {rule.variant}" if rule.variant else "")
    what += f" (segment {rule.segment})" if rule.segment else ""
    reasons = []
    if rule.below is not None and value < rule.below:
        reasons.append(f"below {rule.below:.4g}")
    if rule.drop is not None and baseline is not None and value < baseline * (1 - rule.drop):
        reasons.append(
            f"{(1 - value / baseline) * 100:.0f}% below its {rule.baseline_days}-day baseline {baseline:.4g}"
        )
    fields = {"site": site, "metric": rule.metric, "value": round(value, 6), "volume": den}
    fields.update(baseline=None if baseline is None else round(baseline, 6), slot=rule.slot, variant=rule.variant)
    if reasons:
        message = f"{what} is {value:.4g} over {rule.window_days} day(s), " + " and ".join(reasons)
    else:
        message = f"{what} is {value:.4g} over {rule.window_days} day(s), back to normal"
    return Check(rule.name, rule, bool(reasons), message, fields)


async def srm_checks(rule: AlertRule, store: Any, config: Any) -> list[Check]:
    site = rule.site or next(iter(config.sites))
    keys = (
        [rule.experiment]
        if rule.experiment
        else [
            v.experiment.key
            for s in config.slots.values()
            for v in s.variants
            if v.experiment and getattr(v.experiment, "status", "running") == "running"
        ]
    )
    out = []
    for key in keys:
        try:
            result = await experiment_results(store, config, site, key, {})
        except ResultsError:
            continue  # not enough data yet, or a single arm: nothing to judge
        p = result["srm_p_value"]
        sizes = ", ".join(f"{a['name']} n={a['n']}" for a in result["arms"])
        firing = bool(result["srm_alert"])
        state = "sample ratio mismatch" if firing else "sample ratio back within expectations"
        message = f"experiment {key}: {state} (p = {p:.2g}; {sizes})"
        fields = {"site": site, "experiment": key, "srm_p_value": p, "arms": sizes}
        out.append(Check(rule.name if rule.experiment else f"{rule.name}/{key}", rule, firing, message, fields))
    return out


def health_check(rule: AlertRule, window: HealthWindow) -> Check | None:
    if rule.kind == "fallback_rate":
        total = sum(window.outcomes.values())
        if total < rule.min_renders:
            return None
        fallbacks = total - window.outcomes.get("ok", 0.0)
        rate = fallbacks / total
        firing = rule.above is not None and rate > rule.above
        message = f"fallback rate {rate:.1%} over the last {int(total)} slots rendered (limit {rule.above:.1%})"
        return Check(rule.name, rule, firing, message, {"fallback_rate": round(rate, 6), "slots": total}, shared=False)
    pages = window.buckets[-1][1] if window.buckets else 0.0
    if pages < rule.min_renders:
        return None
    p99 = next((le for le, count in window.buckets if count >= 0.99 * pages), float("inf"))
    p99_ms = p99 * 1000
    firing = rule.above_ms is not None and p99_ms > rule.above_ms
    shown = "over the largest bucket" if p99 == float("inf") else f"≤ {p99_ms:g} ms"
    message = f"render p99 {shown} over the last {int(pages)} pages (limit {rule.above_ms:g} ms)"
    fields = {"render_p99_ms": None if p99 == float("inf") else p99_ms, "pages": pages}
    return Check(rule.name, rule, firing, message, fields, shared=False)


async def judge(rules: list[AlertRule], store: Any, config: Any, window: HealthWindow, today: date) -> list[Check]:
    """Every rule's checks; rules on the store are skipped when the gateway has no store."""
    window.advance()
    out: list[Check] = []
    for rule in rules:
        check: Check | None = None
        if rule.kind == "kpi" and store is not None:
            check = await kpi_check(rule, store, config, today)
        elif rule.kind == "srm" and store is not None:
            out.extend(await srm_checks(rule, store, config))
        elif rule.kind in ("fallback_rate", "render_p99"):
            check = health_check(rule, window)
        if check is not None:
            out.append(check)
    return out
