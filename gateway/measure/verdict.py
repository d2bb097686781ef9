# SPDX-License-Identifier: Apache-2.0
"""A plain-language verdict for an analysed experiment.

Order of checks: a sample-ratio mismatch (p < 0.001) invalidates everything; then every arm
needs `min_sample` units; then an arm wins when it is significant (frequentist: adjusted or raw
p < alpha) or likely enough (Bayesian: chance to win ≥ threshold) in the good direction, and a
winner is shipped only when no guardrail metric shows significant harm for it. Otherwise the
leader is named with the extra units per arm that a power calculation says it needs.
"""

from __future__ import annotations

import math
from typing import Any

from slotwise.gateway.measure import stats
from slotwise.gateway.measure.inputs import MetricData, Settings

SRM_ALERT_P = 0.001


def _pct(x: float) -> str:
    return f"{x * 100:+.1f}%"


def _about(n: float) -> str:
    """2 significant figures with thousands separators: 2,347 → "2,300"."""
    if n < 100:
        return str(math.ceil(n))
    digits = math.floor(math.log10(n)) - 1
    return f"{round(n, -digits):,.0f}"


def _direction(row: dict[str, Any], settings: Settings, inverse: bool) -> int:
    """+1 significantly better than control, −1 significantly worse, 0 not (yet) either."""
    lift = row["relative_lift"]
    if lift is None:
        return 0
    good = lift < 0 if inverse else lift > 0
    if settings.engine == "frequentist":
        p = row["p_value_adjusted"] if row["p_value_adjusted"] is not None else row["p_value"]
        if p is None or p >= settings.alpha:
            return 0
        return 1 if good else -1
    chance = row["chance_to_win"]
    if chance is None:
        return 0
    if chance >= settings.chance_to_win_threshold:
        return 1
    return -1 if chance <= 1.0 - settings.chance_to_win_threshold else 0


def more_units_needed(row: dict[str, Any], control_n: int, settings: Settings) -> float | None:
    """Extra units per arm before the observed lift would be detected with `settings.power`."""
    lift, unit_variance = row["relative_lift"], row.get("_unit_variance")
    if lift is None or unit_variance is None:
        return None
    if settings.engine == "frequentist":
        tuning = settings.sequential_tuning if settings.sequential else None
        needed = stats.sample_size_per_arm(lift, unit_variance, settings.alpha, settings.power, tuning)
    else:
        alpha = 1.0 - settings.chance_to_win_threshold
        needed = stats.sample_size_per_arm(lift, unit_variance, alpha, settings.power, two_sided=False)
    arm_n: float = row["n"]
    return max(0.0, needed - min(control_n, arm_n))


def _harmed_guardrails(guardrails: list[dict[str, Any]], arm_index: int, settings: Settings) -> list[str]:
    harmed = []
    for guardrail in guardrails:
        row = guardrail["rows"][arm_index]
        if _direction(row, settings, guardrail["inverse"]) < 0:
            harmed.append(f"{guardrail['name']} ({_pct(row['relative_lift'])})")
    return harmed


def verdict(
    metric: MetricData, rows: list[dict[str, Any]], srm_p: float, settings: Settings, guardrails: list[dict[str, Any]]
) -> dict[str, Any]:
    """{"decision", "winner", "text", "arms": [{"name", "status", "more_per_arm"}]} for the metric's arms."""
    control = rows[0]
    result: dict[str, Any] = {"decision": "keep_running", "winner": None, "text": "", "arms": []}
    if srm_p < SRM_ALERT_P:
        result["decision"] = "invalid"
        result["text"] = (
            f"Sample ratio mismatch (p = {srm_p:.2g}): the arms' sizes do not match the configured weights, "
            "so the results cannot be trusted. Fix the assignment before reading them."
        )
        return result
    small = [row for row in rows if row["n"] < settings.min_sample]
    if small:
        worst = min(small, key=lambda row: row["n"])
        result["decision"] = "too_early"
        result["text"] = (
            f"Too early: every arm needs at least {settings.min_sample:,} visitors before a verdict "
            f"({worst['name']} has {worst['n']:,})."
        )
        return result
    winners, losers, leader = [], [], None
    for index, row in enumerate(rows[1:], start=1):
        direction = _direction(row, settings, metric.inverse)
        more = None if direction else more_units_needed(row, control["n"], settings)
        status = {1: "winning", -1: "losing", 0: "inconclusive"}[direction]
        result["arms"].append({"name": row["name"], "status": status, "more_per_arm": _rounded(more)})
        if direction > 0:
            winners.append((index, row))
        elif direction < 0:
            losers.append(row)
        lift = row["relative_lift"]
        if lift is not None:
            score = -lift if metric.inverse else lift
            if leader is None or score > leader[0]:
                leader = (score, index, row, more)
    if winners:
        index, best = max(
            winners, key=lambda item: -item[1]["relative_lift"] if metric.inverse else item[1]["relative_lift"]
        )
        harmed = _harmed_guardrails(guardrails, index, settings)
        what = f"{best['name']} beats {control['name']} on {metric.name}: {_pct(best['relative_lift'])}"
        if harmed:
            result["decision"] = "blocked"
            result["text"] = f"{what}, but it harms the guardrail {', '.join(harmed)}: do not ship it."
        else:
            result["decision"] = "ship"
            result["winner"] = best["name"]
            result["text"] = f"{what}, {_evidence(best, settings)}. Ship {best['name']}."
        return result
    if losers and len(losers) == len(rows) - 1:
        result["decision"] = "keep_control"
        result["winner"] = control["name"]
        evidence = _evidence(losers[0], settings)
        result["text"] = (
            f"{control['name']} is ahead of every variant on {metric.name}, {evidence}: keep {control['name']}."
        )
        return result
    result["text"] = _leader_text(leader, control["name"], metric.name)
    return result


def _rounded(more: float | None) -> int | None:
    return None if more is None or not math.isfinite(more) else math.ceil(more)


def _evidence(row: dict[str, Any], settings: Settings) -> str:
    if settings.engine == "frequentist":
        p = row["p_value_adjusted"] if row["p_value_adjusted"] is not None else row["p_value"]
        return f"significant (p = {p:.2g})"
    return f"chance to beat control {row['chance_to_win'] * 100:.1f}%"


def _leader_text(leader: tuple[float, int, dict[str, Any], float | None] | None, control: str, metric: str) -> str:
    if leader is None:
        return f"No comparison with {control} on {metric} is possible yet (see the arms' notes)."
    score, _, row, more = leader
    if score <= 0:
        return f"No variant is ahead of {control} on {metric} so far, and none is significantly behind: keep running."
    if more is None or not math.isfinite(more):
        return f"{row['name']} is ahead ({_pct(row['relative_lift'])}), not yet significant."
    return (
        f"{row['name']} is ahead ({_pct(row['relative_lift'])}), not yet significant: "
        f"about {_about(more)} more visitors per arm needed."
    )
