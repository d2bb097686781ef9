# SPDX-License-Identifier: Apache-2.0
"""Per-arm counters, the whole learned state of a policy, and the checks on what goes into them.

Four numbers per arm: `pulls` (rewards received, lifetime, never discounted; drives the
exploration window), `n`, `sum` and `sum_squares` (the same weight, reward sum and squared-reward
sum, multiplied by the discount factor at each update when discounting is on; without it `n`
equals `pulls`). Without discounting every update is four additions, which a store can do
atomically (SQL `SET n = n + 1`, Redis `HINCRBYFLOAT`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

FIELDS = ("pulls", "n", "sum", "sum_squares")
BINARY_REWARDS = ("click", "conversion")
MAX_REWARD = 1e12  # far above any order value; keeps squares and sums of squares finite
REWARDS = (*BINARY_REWARDS, "revenue")


def check_n_arms(n_arms: object) -> int:
    if isinstance(n_arms, bool) or not isinstance(n_arms, int | np.integer):
        raise ValueError(f"n_arms: must be an integer, got {n_arms!r}")
    if n_arms < 1:
        raise ValueError(f"n_arms: must be at least 1, got {n_arms}")
    return int(n_arms)


def check_arm(arm: object, n_arms: int) -> int:
    if isinstance(arm, bool) or not isinstance(arm, int | np.integer):
        raise ValueError(f"arm: must be an integer index, got {arm!r}")
    if not 0 <= arm < n_arms:
        raise ValueError(f"arm: {arm} is not an arm (0..{n_arms - 1})")
    return int(arm)


def check_reward(reward: object, kind: str) -> float:
    if isinstance(reward, bool):
        reward = float(reward)
    if not isinstance(reward, int | float | np.integer | np.floating):
        raise ValueError(f"reward: must be a number, got {reward!r}")
    value = float(reward)
    if not math.isfinite(value):
        raise ValueError(f"reward: must be finite, got {value}")
    if value < 0:
        raise ValueError(f"reward: must not be negative, got {value}")
    if value > MAX_REWARD:
        raise ValueError(f"reward: more than {MAX_REWARD:g}, got {value}")
    if kind in BINARY_REWARDS and value > 1:
        raise ValueError(f"reward: a {kind} reward lies in [0, 1], got {value}")
    return value


def check_number(name: str, value: object, low: float, high: float, *, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name}: must be a number, got {value!r}")
    x = float(value)
    if not math.isfinite(x) or x < low or x > high or (low_open and x == low):
        bracket = "(" if low_open else "["
        raise ValueError(f"{name}: must lie in {bracket}{low}, {high}], got {value!r}")
    return x


class Counters:
    """Counters of one population (all traffic, or one context bucket), arrays indexed by arm."""

    __slots__ = ("n", "n_arms", "pulls", "sum", "sum_squares")

    def __init__(self, n_arms: int) -> None:
        self.n_arms = check_n_arms(n_arms)
        self.pulls = np.zeros(self.n_arms, dtype=np.int64)
        self.n = np.zeros(self.n_arms)
        self.sum = np.zeros(self.n_arms)
        self.sum_squares = np.zeros(self.n_arms)

    def add(self, arm: int, reward: float, discount: float = 1.0) -> None:
        if discount < 1.0:
            self.n *= discount
            self.sum *= discount
            self.sum_squares *= discount
        self.pulls[arm] += 1
        self.n[arm] += 1.0
        self.sum[arm] += reward
        self.sum_squares[arm] += reward * reward

    def to_dict(self) -> dict[str, list[float] | list[int]]:
        return {
            "pulls": [int(x) for x in self.pulls],
            "n": [float(x) for x in self.n],
            "sum": [float(x) for x in self.sum],
            "sum_squares": [float(x) for x in self.sum_squares],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], n_arms: int, where: str = "arms") -> Counters:
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: must be an object with {', '.join(FIELDS)}")
        out = cls(n_arms)
        for field in FIELDS:
            values = data.get(field)
            if not isinstance(values, list | tuple) or len(values) != n_arms:
                raise ValueError(f"{where}.{field}: must be a list of {n_arms} numbers")
            try:
                arr = np.asarray(values, dtype=float)
            except (TypeError, ValueError):
                raise ValueError(f"{where}.{field}: must be a list of {n_arms} numbers") from None
            if not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise ValueError(f"{where}.{field}: must be finite and non-negative")
            if field == "pulls":
                out.pulls = arr.astype(np.int64)
            else:
                setattr(out, field, arr)
        return out

    def mean(self) -> np.ndarray:
        """Mean reward per arm (0 where an arm has no weight yet)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.n > 0, self.sum / np.where(self.n > 0, self.n, 1.0), 0.0)

    def pooled_mean_variance(self) -> tuple[float, float]:
        """Mean and variance of all rewards across arms (0, 1 without data)."""
        n = float(self.n.sum())
        if n <= 0:
            return 0.0, 1.0
        mean = float(self.sum.sum()) / n
        var = max(float(self.sum_squares.sum()) / n - mean * mean, 0.0)
        return mean, var

    def minus(self, other: Counters) -> Counters:
        """These counters without another population's share (for leave-one-out priors)."""
        out = Counters(self.n_arms)
        out.pulls = np.maximum(self.pulls - other.pulls, 0)
        out.n = np.maximum(self.n - other.n, 0.0)
        out.sum = np.maximum(self.sum - other.sum, 0.0)
        out.sum_squares = np.maximum(self.sum_squares - other.sum_squares, 0.0)
        return out
