# SPDX-License-Identifier: Apache-2.0
"""Validation of experiment summary statistics (the `experiments analyze` input contract).

Every refusal is an `InputError` whose message names the field at fault, so a CLI can exit 2
and an HTTP route can answer 400 with it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slotwise.gateway.measure.stats import Covariate, Sample

MAX_ARMS = 100
MAX_GUARDRAILS = 20
METRICS = ("binomial", "mean")
ENGINES = ("frequentist", "bayesian")
CORRECTIONS = ("holm", "bh")
_ARM_KEYS = {"name", "n", "sum", "sum_squares", "sum_pre", "sum_pre_squares", "sum_cross"}
_TOP_KEYS = {"metric", "name", "inverse", "arms", "weights", "settings", "guardrails"}
_GUARDRAIL_KEYS = {"name", "metric", "inverse", "arms"}
_SETTING_DEFAULTS: dict[str, Any] = {
    "engine": "bayesian",
    "alpha": 0.05,
    "sequential": False,
    "sequential_tuning": 5000,
    "prior": None,
    "correction": None,
    "min_sample": 100,
    "power": 0.8,
    "chance_to_win_threshold": 0.95,
}


class InputError(ValueError):
    """Input that cannot be analysed; the message names the field."""


@dataclass(frozen=True)
class Settings:
    engine: str = "bayesian"
    alpha: float = 0.05
    sequential: bool = False
    sequential_tuning: float = 5000.0
    prior: tuple[float, float] | None = None
    correction: str | None = None
    min_sample: int = 100
    power: float = 0.8
    chance_to_win_threshold: float = 0.95


@dataclass(frozen=True)
class Arm:
    name: str
    sample: Sample
    covariate: Covariate | None = None


@dataclass(frozen=True)
class MetricData:
    name: str
    kind: str
    arms: tuple[Arm, ...]
    inverse: bool = False

    @property
    def cuped(self) -> bool:
        return all(arm.covariate is not None for arm in self.arms)


@dataclass(frozen=True)
class Request:
    metric: MetricData
    weights: tuple[float, ...]
    settings: Settings
    guardrails: tuple[MetricData, ...] = ()


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{field} must be a number")
    if not math.isfinite(value):
        raise InputError(f"{field} must be a finite number, got {value}")
    return float(value)


def _count(value: Any, field: str) -> int:
    number = _number(value, field)
    if not number.is_integer():
        raise InputError(f"{field} must be a whole number, got {value}")
    if number < 1:
        raise InputError(f"{field} must be at least 1, got {value}")
    if number > 1e15:
        raise InputError(f"{field} is too large, got {value}")
    return int(number)


def _mapping(value: Any, field: str, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(f"{field} must be an object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise InputError(f"{field}.{unknown[0]} is not a known field")
    return value


def _choice(value: Any, field: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise InputError(f"{field} must be one of {', '.join(options)}, got {value!r}")
    return str(value)


def _flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{field} must be true or false")
    return value


def _sums(raw: Mapping[str, Any], field: str, n: int, kind: str, keys: tuple[str, str]) -> tuple[float, float]:
    total_key, squares_key = keys
    if total_key not in raw:
        raise InputError(f"{field}.{total_key} is required")
    total = _number(raw[total_key], f"{field}.{total_key}")
    squares = _number(raw.get(squares_key, total if kind == "binomial" else math.nan), f"{field}.{squares_key}")
    if kind == "binomial":
        if not 0 <= total <= n:
            raise InputError(f"{field}.{total_key} must be between 0 and n ({n}) for a binomial metric, got {total}")
        if squares != total:
            raise InputError(f"{field}.{squares_key} must equal {total_key} for a binomial metric")
    elif squares < 0 or total * total > n * squares * (1 + 1e-9) + 1e-9:
        raise InputError(f"{field}.{squares_key} is inconsistent: it must be at least {total_key}²/n")
    return total, squares


def _arm(raw: Any, field: str, kind: str) -> Arm:
    raw = _mapping(raw, field, _ARM_KEYS)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InputError(f"{field}.name must be a non-empty string of at most 200 characters")
    if "n" not in raw:
        raise InputError(f"{field}.n is required")
    n = _count(raw["n"], f"{field}.n")
    total, squares = _sums(raw, field, n, kind, ("sum", "sum_squares"))
    covariate = None
    if any(key in raw for key in ("sum_pre", "sum_pre_squares", "sum_cross")):
        pre, pre_squares = _sums(raw, field, n, kind, ("sum_pre", "sum_pre_squares"))
        if "sum_cross" not in raw:
            raise InputError(f"{field}.sum_cross is required with sum_pre")
        cross = _number(raw["sum_cross"], f"{field}.sum_cross")
        if cross * cross > squares * pre_squares * (1 + 1e-9) + 1e-9:
            raise InputError(
                f"{field}.sum_cross is inconsistent: |sum_cross| must be at most √(sum_squares·sum_pre_squares)"
            )
        covariate = Covariate(pre, pre_squares, cross)
    return Arm(name, Sample(n, total, squares, kind == "binomial"), covariate)


def _metric(raw: Mapping[str, Any], field: str, default_name: str) -> MetricData:
    prefix = f"{field}." if field else ""
    kind = _choice(raw.get("metric"), f"{prefix}metric", METRICS)
    arms_raw = raw.get("arms")
    if not isinstance(arms_raw, list):
        raise InputError(f"{prefix}arms must be a list")
    if not 2 <= len(arms_raw) <= MAX_ARMS:
        raise InputError(f"{prefix}arms must have between 2 and {MAX_ARMS} arms, got {len(arms_raw)}")
    arms = tuple(_arm(arm, f"{prefix}arms[{i}]", kind) for i, arm in enumerate(arms_raw))
    names = [arm.name for arm in arms]
    if len(set(names)) != len(names):
        raise InputError(f"{prefix}arms has a duplicate name")
    with_pre = [arm.covariate is not None for arm in arms]
    if any(with_pre) and not all(with_pre):
        missing = with_pre.index(False)
        raise InputError(f"{prefix}arms[{missing}].sum_pre is required: CUPED needs the covariate for every arm")
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise InputError(f"{prefix}name must be a non-empty string")
    inverse = _flag(raw.get("inverse", False), f"{prefix}inverse")
    return MetricData(name, kind, arms, inverse)


def _settings(raw: Any) -> Settings:
    raw = _mapping({} if raw is None else raw, "settings", set(_SETTING_DEFAULTS))
    values = {**_SETTING_DEFAULTS, **raw}
    alpha = _number(values["alpha"], "settings.alpha")
    if not 0 < alpha < 1:
        raise InputError(f"settings.alpha must be between 0 and 1, got {alpha}")
    tuning = _number(values["sequential_tuning"], "settings.sequential_tuning")
    if tuning <= 0:
        raise InputError(f"settings.sequential_tuning must be positive, got {tuning}")
    prior = None
    if values["prior"] is not None:
        prior_raw = _mapping(values["prior"], "settings.prior", {"mean", "variance"})
        mean = _number(prior_raw.get("mean", 0), "settings.prior.mean")
        variance = _number(prior_raw.get("variance"), "settings.prior.variance")
        if variance <= 0:
            raise InputError(f"settings.prior.variance must be positive, got {variance}")
        prior = (mean, variance)
    correction = values["correction"]
    if correction is not None:
        correction = _choice(correction, "settings.correction", CORRECTIONS)
    power = _number(values["power"], "settings.power")
    threshold = _number(values["chance_to_win_threshold"], "settings.chance_to_win_threshold")
    for field, value in (("power", power), ("chance_to_win_threshold", threshold)):
        if not 0.5 <= value < 1:
            raise InputError(f"settings.{field} must be at least 0.5 and below 1, got {value}")
    min_sample = values["min_sample"]
    if isinstance(min_sample, bool) or not isinstance(min_sample, int) or min_sample < 0:
        raise InputError("settings.min_sample must be a whole number ≥ 0")
    return Settings(
        engine=_choice(values["engine"], "settings.engine", ENGINES),
        alpha=alpha,
        sequential=_flag(values["sequential"], "settings.sequential"),
        sequential_tuning=tuning,
        prior=prior,
        correction=correction,
        min_sample=min_sample,
        power=power,
        chance_to_win_threshold=threshold,
    )


def _weights(raw: Any, arms: int) -> tuple[float, ...]:
    if raw is None:
        return (1.0 / arms,) * arms
    if not isinstance(raw, list) or len(raw) != arms:
        raise InputError(f"weights must be a list of {arms} numbers, one per arm")
    weights = tuple(_number(w, f"weights[{i}]") for i, w in enumerate(raw))
    for i, weight in enumerate(weights):
        if weight < 0:
            raise InputError(f"weights[{i}] must not be negative, got {weight}")
    if sum(weights) <= 0:
        raise InputError("weights must not all be 0")
    return weights


def parse_request(payload: Any) -> Request:
    """Validate an analyze request (see docs/experiments.md) into typed values."""
    payload = _mapping(payload, "input", _TOP_KEYS)
    metric = _metric(payload, "", "metric")
    guardrails_raw = payload.get("guardrails", [])
    if not isinstance(guardrails_raw, list) or len(guardrails_raw) > MAX_GUARDRAILS:
        raise InputError(f"guardrails must be a list of at most {MAX_GUARDRAILS} metrics")
    guardrails = []
    for i, raw in enumerate(guardrails_raw):
        field = f"guardrails[{i}]"
        guardrail = _metric(_mapping(raw, field, _GUARDRAIL_KEYS), field, f"guardrail {i + 1}")
        if [arm.name for arm in guardrail.arms] != [arm.name for arm in metric.arms]:
            raise InputError(f"{field}.arms must name the same arms in the same order as arms")
        guardrails.append(guardrail)
    return Request(
        metric,
        _weights(payload.get("weights"), len(metric.arms)),
        _settings(payload.get("settings")),
        tuple(guardrails),
    )
