# SPDX-License-Identifier: Apache-2.0
"""Off-policy evaluation: what a target policy would have earned on logged decisions.

Each logged decision is (context, arm, propensity, reward), the propensity being the
probability with which the logging policy chose that arm. With w = π(arm | context) / propensity:

- IPS: mean(w r), unbiased when every arm the target may choose had a positive propensity;
- self-normalised IPS: sum(w r) / sum(w), slightly biased, much lower variance;
- doubly robust: mean(Σ_a π(a|x) q(x, a) + w (r - q(x, arm))), with q a per-(context, arm)
  mean reward fitted on the other half of the logs (two-fold cross-fitting).

Intervals are normal approximations (delta method for SNIPS) at level 1 - alpha.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Logged:
    context: Any
    arm: int
    propensity: float
    reward: float


@dataclass(frozen=True)
class Estimate:
    method: str
    value: float
    ci: tuple[float, float]
    n: int
    effective_n: float  # (Σw)² / Σw², the number of logs the estimate is really worth
    max_weight: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "value": self.value,
            "ci": list(self.ci),
            "n": self.n,
            "effective_n": self.effective_n,
            "max_weight": self.max_weight,
        }


Target = Callable[[Any], Sequence[float]] | Any  # a function of the context, or an object with probabilities()


def _target_fn(target: Target) -> Callable[[Any], Sequence[float]]:
    if hasattr(target, "probabilities"):
        return target.probabilities  # type: ignore[no-any-return]
    if callable(target):
        return target
    raise ValueError("target: must be a function of the context or a policy with probabilities()")


def _arrays(logs: Sequence[Logged], target: Target) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rewards, weights, the target's full distributions, and the logged arms."""
    if not logs:
        raise ValueError("logs: no logged decisions")
    fn = _target_fn(target)
    rewards = np.empty(len(logs))
    props = np.empty(len(logs))
    arms = np.empty(len(logs), dtype=np.int64)
    dists: list[np.ndarray] = []
    for i, row in enumerate(logs):
        if not (isinstance(row.propensity, int | float) and 0 < row.propensity <= 1):
            raise ValueError(f"logs[{i}].propensity: must lie in (0, 1], got {row.propensity!r}")
        if not (isinstance(row.reward, int | float) and math.isfinite(row.reward)):
            raise ValueError(f"logs[{i}].reward: must be a finite number, got {row.reward!r}")
        dist = np.asarray(fn(row.context), dtype=float)
        if dist.ndim != 1 or not np.all(np.isfinite(dist)) or np.any(dist < 0) or abs(dist.sum() - 1) > 1e-6:
            raise ValueError(f"target: its probabilities for logs[{i}] are not a distribution")
        if isinstance(row.arm, bool) or not isinstance(row.arm, int | np.integer) or not 0 <= row.arm < len(dist):
            raise ValueError(f"logs[{i}].arm: {row.arm!r} is not an arm (0..{len(dist) - 1})")
        rewards[i], props[i], arms[i] = row.reward, row.propensity, row.arm
        dists.append(dist)
    k = max(len(d) for d in dists)
    if any(len(d) != k for d in dists):
        raise ValueError("target: the number of arms changes between contexts")
    matrix = np.vstack(dists)
    weights = matrix[np.arange(len(logs)), arms] / props
    return rewards, weights, matrix, arms


def _z(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: must lie in (0, 1), got {alpha}")
    return NormalDist().inv_cdf(1 - alpha / 2)


def _finish(method: str, value: float, se: float, weights: np.ndarray, alpha: float) -> Estimate:
    half = _z(alpha) * se
    sq = float(np.sum(weights**2))
    ess = float(np.sum(weights)) ** 2 / sq if sq > 0 else 0.0
    return Estimate(method, value, (value - half, value + half), len(weights), ess, float(weights.max()))


def ips(logs: Sequence[Logged], target: Target, alpha: float = 0.05) -> Estimate:
    rewards, weights, _, _ = _arrays(logs, target)
    terms = weights * rewards
    n = len(terms)
    se = float(terms.std(ddof=1)) / math.sqrt(n) if n > 1 else math.inf
    return _finish("ips", float(terms.mean()), se, weights, alpha)


def snips(logs: Sequence[Logged], target: Target, alpha: float = 0.05) -> Estimate:
    rewards, weights, _, _ = _arrays(logs, target)
    n = len(weights)
    mean_w = float(weights.mean())
    if mean_w <= 0:
        raise ValueError("target: it never chooses an arm the logs hold (all weights are 0)")
    value = float(np.sum(weights * rewards) / np.sum(weights))
    resid = weights * (rewards - value)
    se = math.sqrt(float(np.mean(resid**2)) / (n - 1)) / mean_w if n > 1 else math.inf
    return _finish("snips", value, se, weights, alpha)


def _key(context: Any) -> Hashable:
    if context is None or isinstance(context, str | int | float | bool):
        return context
    if isinstance(context, Mapping):
        return json.dumps(context, sort_keys=True, default=str)
    return repr(context)


def _reward_model(logs: Sequence[Logged], index: np.ndarray, k: int) -> Callable[[Any], np.ndarray]:
    """Mean reward per (context, arm) over the rows in `index`, falling back to the arm's mean."""
    by_key: dict[tuple[Hashable, int], list[float]] = {}
    by_arm = np.zeros((k, 2))
    for i in index:
        row = logs[int(i)]
        cell = by_key.setdefault((_key(row.context), row.arm), [0.0, 0.0])
        cell[0] += row.reward
        cell[1] += 1
        by_arm[row.arm] += (row.reward, 1)
    total = by_arm[:, 1].sum()
    overall = by_arm[:, 0].sum() / total if total else 0.0
    arm_mean = np.where(by_arm[:, 1] > 0, by_arm[:, 0] / np.maximum(by_arm[:, 1], 1), overall)

    def predict(context: Any) -> np.ndarray:
        key = _key(context)
        out = arm_mean.copy()
        for a in range(k):
            cell = by_key.get((key, a))
            if cell:
                out[a] = cell[0] / cell[1]
        return out

    return predict


def doubly_robust(logs: Sequence[Logged], target: Target, alpha: float = 0.05, seed: int = 0) -> Estimate:
    rewards, weights, matrix, arms = _arrays(logs, target)
    n, k = matrix.shape
    folds = np.random.default_rng(seed).permutation(n) % 2
    terms = np.empty(n)
    for fold in (0, 1):
        model = _reward_model(logs, np.flatnonzero(folds != fold), k)
        for i in np.flatnonzero(folds == fold):
            q = model(logs[int(i)].context)
            terms[i] = float(matrix[i] @ q) + weights[i] * (rewards[i] - q[arms[i]])
    se = float(terms.std(ddof=1)) / math.sqrt(n) if n > 1 else math.inf
    return _finish("doubly_robust", float(terms.mean()), se, weights, alpha)


def evaluate(logs: Sequence[Logged], target: Target, alpha: float = 0.05) -> dict[str, Any]:
    """All three estimates, as JSON-ready dicts (what `slotwise experiments ope` prints)."""
    logs = list(logs)
    return {e.method: e.to_dict() for e in (ips(logs, target, alpha), snips(logs, target, alpha),
                                            doubly_robust(logs, target, alpha))}  # fmt: skip


def logged(rows: Iterable[tuple[Any, int, float, float]]) -> list[Logged]:
    return [Logged(c, a, p, r) for c, a, p, r in rows]
