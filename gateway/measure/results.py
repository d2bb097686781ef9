# SPDX-License-Identifier: Apache-2.0
"""Results from the live counters: an experiment's statistics per metric, and daily KPIs.

Both the admin routes and `slotwise experiments report` call these; every refusal is a
`ResultsError` with the HTTP status and a message naming what is at fault.
"""

from __future__ import annotations

import math
import time
from datetime import date
from typing import Any

from slotwise.gateway.measure import counters, kpis
from slotwise.gateway.measure.analysis import analyze
from slotwise.gateway.measure.attribution import EXPERIMENT_METRICS
from slotwise.gateway.measure.inputs import MAX_ARMS, InputError

MAX_DAYS = 400
SETTING_PARAMS = ("engine", "alpha", "sequential", "correction", "min_sample")


class ResultsError(ValueError):
    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.status, self.code, self.details = status, code, details or {}


def find_experiment(config: Any, key: str) -> tuple[Any, Any]:
    """(slot, experiment) of the key, or a 404 naming it."""
    for slot in config.slots.values():
        for variant in slot.variants:
            if variant.experiment is not None and variant.experiment.key == key:
                return slot, variant.experiment
    raise ResultsError(404, "unknown_experiment", f"no experiment with key '{key[:100]}' in the configuration")


def parse_settings(params: dict[str, str]) -> dict[str, Any]:
    """Query parameters to `experiments analyze` settings (validated there; 400 on refusal)."""
    out: dict[str, Any] = {"engine": "frequentist"}
    for name in SETTING_PARAMS:
        raw = params.get(name)
        if raw is None or raw == "":
            continue
        if name == "alpha":
            try:
                out[name] = float(raw)
            except ValueError:
                raise ResultsError(400, "invalid_parameter", f"'alpha' must be a number, got {raw[:40]!r}") from None
        elif name == "min_sample":
            if not raw.isdigit():
                raise ResultsError(
                    400, "invalid_parameter", f"'min_sample' must be a whole number ≥ 0, got {raw[:40]!r}"
                )
            out[name] = int(raw)
        elif name == "sequential":
            if raw not in ("true", "false"):
                raise ResultsError(400, "invalid_parameter", "'sequential' must be true or false")
            out[name] = raw == "true"
        else:
            out[name] = raw
    return out


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def compared_arms(exp: Any, control: str) -> tuple[list[str], list[float]]:
    """The analysed arms, the control first, with their expected traffic shares.

    `control=first` compares the arms with the first arm; `control=holdout` compares every arm
    with the holdout (who saw the slot's default block), which is how personalization is measured.
    """
    names, weights = [arm.name for arm in exp.arms], [float(arm.weight) for arm in exp.arms]
    if control == "first":
        return names, weights
    if control != "holdout":
        raise ResultsError(400, "invalid_parameter", "'control' must be first or holdout")
    if exp.holdout <= 0:
        raise ResultsError(422, "no_holdout", f"experiment '{exp.key}' has no holdout to compare with")
    total = sum(weights)
    return ["holdout", *names], [exp.holdout, *((1.0 - exp.holdout) * w / total for w in weights)]


async def experiment_results(store: Any, config: Any, site: str, key: str, params: dict[str, str]) -> dict[str, Any]:
    slot, exp = find_experiment(config, key)
    arms = [arm.name for arm in exp.arms]
    if len(arms) > MAX_ARMS:
        raise ResultsError(
            422, "too_many_arms", f"experiment '{key}' has {len(arms)} arms; at most {MAX_ARMS} are analysed"
        )
    control = params.get("control") or "first"
    analysed, weights = compared_arms(exp, control)
    if len(analysed) < 2:
        raise ResultsError(422, "single_arm", f"experiment '{key}' has one arm: there is nothing to compare")
    settings = parse_settings(params)
    primary = params.get("metric") or "conversion"
    if primary not in EXPERIMENT_METRICS:
        raise ResultsError(400, "invalid_parameter", f"'metric' must be one of {', '.join(EXPERIMENT_METRICS)}")
    raw = (await store.counters(site, ["exp|" + key])).get("exp|" + key, {})
    table = counters.arm_table(raw)
    summary = []
    for arm in [*arms, "holdout"]:
        stats = table.get(arm, {})
        entry = {"name": arm, "n": round(_finite(stats.get("n", {}).get("n", 0.0)))}
        for name in ("impressions", "clicks", "served"):
            entry[name] = round(_finite(stats.get(name, {}).get("count", 0.0)))
        summary.append(entry)
    empty = [entry["name"] for entry in summary if entry["name"] in analysed and entry["n"] < 1]
    head = {
        "site": site,
        "experiment": key,
        "slot": slot.name,
        "status": getattr(exp, "status", "running"),
        "winner": getattr(exp, "winner", None),
        "control": control,
        "arms": summary[:-1],
        "holdout": summary[-1],
        "weights": [arm.weight for arm in exp.arms],
    }
    if empty:
        raise ResultsError(
            409,
            "not_enough_data",
            f"arm '{empty[0]}' of experiment '{key}' has no assigned visitors yet",
            {"arms": summary[:-1] if control == "first" else summary},
        )
    metrics = {}
    started = time.perf_counter()
    for metric in EXPERIMENT_METRICS:
        payload = counters.metric_payload(metric, analysed, table, counters.has_covariate(metric, analysed, table))
        payload.update(weights=weights, settings=settings)
        try:
            metrics[metric] = analyze(payload)
        except InputError as exc:
            raise ResultsError(400, "invalid_parameter", str(exc)) from None
    first = metrics[primary]
    return {
        **head,
        "primary_metric": primary,
        "srm_p_value": first["srm_p_value"],
        "srm_alert": first["srm_alert"],
        "verdict": first["verdict"],
        "metrics": metrics,
        "analysis_ms": round((time.perf_counter() - started) * 1000, 3),
    }


def parse_day(raw: str | None, default: date, name: str) -> date:
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ResultsError(400, "invalid_parameter", f"'{name}' must be a date YYYY-MM-DD, got {raw[:40]!r}") from None


async def kpi_results(store: Any, site: str, params: dict[str, str], today: date | None = None) -> dict[str, Any]:
    today = today or date.today()
    end = parse_day(params.get("to"), today, "to")
    start = parse_day(params.get("from"), end.fromordinal(end.toordinal() - 29), "from")
    if start > end:
        raise ResultsError(400, "invalid_parameter", "'from' must not be after 'to'")
    if (end - start).days >= MAX_DAYS:
        raise ResultsError(400, "invalid_parameter", f"at most {MAX_DAYS} days per request")
    days = kpis.days_between(start, end)
    raw = await store.counters(site, ["kpi|" + day for day in days])
    slot = params.get("slot") or None
    return {"site": site, "slot": slot, **kpis.report(raw, days, slot)}
