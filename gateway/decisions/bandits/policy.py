# SPDX-License-Identifier: Apache-2.0
"""The base of every policy: settings, the probability floor, the exploration window, state.

A policy's choice is a mixture: with probability `n_arms * min_share` an arm drawn uniformly
(the floor), otherwise, while some arm has fewer than `explore` rewards, an arm drawn uniformly
among those, otherwise the policy's own rule. So `probabilities()` is
`min_share + (1 - n_arms * min_share) * q`, with `q` the inner rule's distribution, and every
arm keeps at least `min_share`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from slotwise.gateway.decisions.bandits.counters import (
    REWARDS,
    Counters,
    check_arm,
    check_n_arms,
    check_number,
    check_reward,
)

Context = Mapping[str, Any] | str | None


class Policy:
    """A bandit policy over plain counters: `choose`, `update`, `probabilities`, `state`."""

    name: ClassVar[str] = "policy"

    def __init__(
        self,
        n_arms: int,
        seed: int | None = None,
        *,
        reward: str = "click",
        min_share: float = 0.0,
        explore: int = 0,
        discount: float = 1.0,
        counters: Counters | None = None,
    ) -> None:
        self.n_arms = check_n_arms(n_arms)
        if reward not in REWARDS:
            raise ValueError(f"reward: must be one of {', '.join(REWARDS)}, got {reward!r}")
        self.reward = reward
        self.binary = reward != "revenue"
        self.min_share = check_number("min_share", min_share, 0.0, 1.0)
        if self.min_share * self.n_arms > 1.0 + 1e-12:
            raise ValueError(
                f"min_share: {min_share} for each of {self.n_arms} arms adds up to more than 1 "
                f"(at most {1.0 / self.n_arms:.6g})"
            )
        self._floor_total = min(self.min_share * self.n_arms, 1.0)
        if isinstance(explore, bool) or not isinstance(explore, int | np.integer) or explore < 0:
            raise ValueError(f"explore: must be a non-negative integer (rewards per arm), got {explore!r}")
        self.explore = int(explore)
        self.discount = check_number("discount", discount, 0.0, 1.0, low_open=True)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
            raise ValueError(f"seed: must be an integer or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self._rng = np.random.default_rng(self.seed)
        if counters is None:
            counters = Counters(self.n_arms)
        elif counters.n_arms != self.n_arms:
            raise ValueError(f"counters: hold {counters.n_arms} arms, the policy has {self.n_arms}")
        self.counters = counters
        self.version = 0  # bumped by every update; caches of derived values key on it

    # -- the public interface -------------------------------------------------------------

    def choose(self, context: Context = None) -> int:
        rng = self._rng
        if self._floor_total and rng.random() < self._floor_total:
            return int(rng.integers(self.n_arms))
        if self.explore:
            pool = self._unexplored(context)
            if pool is not None:
                return int(pool[int(rng.integers(len(pool)))])
        return self._choose(context)

    def probabilities(self, context: Context = None) -> list[float]:
        pool = self._unexplored(context) if self.explore else None
        if pool is not None:
            q = np.zeros(self.n_arms)
            q[pool] = 1.0 / len(pool)
        else:
            q = self._probabilities(context)
        p = self.min_share + (1.0 - self._floor_total) * q
        p = p / p.sum()
        if not np.all(np.isfinite(p)):  # cannot happen with validated counters; never hand out NaN
            p = np.full(self.n_arms, 1.0 / self.n_arms)
        return [float(x) for x in p]

    def update(self, arm: int, reward: float, context: Context = None) -> None:
        arm = check_arm(arm, self.n_arms)
        value = check_reward(reward, self.reward)
        self._update(arm, value, context)
        self.version += 1

    # -- state --------------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        return {
            "reward": self.reward,
            "min_share": self.min_share,
            "explore": self.explore,
            "discount": self.discount,
        }

    def state(self) -> dict[str, Any]:
        """Plain JSON: the policy's name, its settings and its counters."""
        return {
            "policy": self.name,
            "n_arms": self.n_arms,
            "settings": self.settings(),
            "arms": self.counters.to_dict(),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any], seed: int | None = None) -> Policy:
        if not isinstance(state, Mapping):
            raise ValueError("state: must be an object")
        if state.get("policy") != cls.name:
            raise ValueError(f"policy: this state is for {state.get('policy')!r}, not {cls.name!r}")
        n_arms = check_n_arms(state.get("n_arms"))
        settings = state.get("settings") or {}
        if not isinstance(settings, Mapping):
            raise ValueError("settings: must be an object")
        counters = Counters.from_dict(state.get("arms", {}), n_arms)
        try:
            policy = cls(n_arms, seed, counters=counters, **settings)
        except TypeError as exc:
            raise ValueError(f"settings: {exc}") from None
        policy._load_extra(state)
        return policy

    def _load_extra(self, state: Mapping[str, Any]) -> None:
        """Subclasses with more counters (context buckets) read them here."""

    # -- what subclasses provide ----------------------------------------------------------

    def _unexplored(self, context: Context) -> np.ndarray | None:
        pool = np.flatnonzero(self.counters.pulls < self.explore)
        return pool if len(pool) else None

    def _choose(self, context: Context) -> int:
        raise NotImplementedError

    def _probabilities(self, context: Context) -> np.ndarray:
        raise NotImplementedError

    def _update(self, arm: int, reward: float, context: Context) -> None:
        self.counters.add(arm, reward, self.discount)

    def _reward_scale(self) -> float:
        """1 for rewards in [0, 1]; the pooled standard deviation for revenue."""
        if self.binary:
            return 1.0
        _, var = self.counters.pooled_mean_variance()
        return math.sqrt(var) if var > 0 else 1.0


def ties_distribution(best: list[int], n_arms: int) -> np.ndarray:
    q = np.zeros(n_arms)
    q[best] = 1.0 / len(best)
    return q
