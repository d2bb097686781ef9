# SPDX-License-Identifier: Apache-2.0
"""UCB1 and ε-greedy: deterministic given the counters, so their probabilities are exact.

Both keep the set of best arms per state version: a decision between two updates is one
random number and a list lookup.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from slotwise.gateway.decisions.bandits.counters import check_number
from slotwise.gateway.decisions.bandits.policy import Context, Policy, ties_distribution


class _BestArms(Policy):
    """A policy whose inner rule is 'one of the best arms by some index, ties uniform'; arms
    without rewards come before any index."""

    def __init__(self, n_arms: int, seed: int | None = None, **settings: Any) -> None:
        super().__init__(n_arms, seed, **settings)
        self._best_version = -1
        self._best: list[int] = []

    def _index(self) -> np.ndarray:
        """The index of each arm, once every arm has rewards."""
        raise NotImplementedError

    def best(self) -> list[int]:
        if self._best_version != self.version:
            tried = self.counters.n > 0
            index = self._index() if tried.all() else np.where(tried, 0.0, 1.0)
            top = index.max()
            self._best = [int(i) for i in np.flatnonzero(index >= top)]
            self._best_version = self.version
        return self._best

    def _greedy_choice(self) -> int:
        best = self.best()
        if len(best) == 1:
            return best[0]
        return best[int(self._rng.integers(len(best)))]


class UCB1(_BestArms):
    """Auer et al. (2002): the arm maximising mean + c · scale · sqrt(2 ln N / n).

    Arms without rewards come first. `scale` is 1 for click/conversion rewards and the pooled
    standard deviation of rewards for revenue. With discounting, N and n are the discounted
    weights (discounted UCB, Garivier & Moulines 2011).
    """

    name: ClassVar[str] = "ucb1"

    def __init__(self, n_arms: int, seed: int | None = None, *, c: float = 1.0, **settings: Any) -> None:
        self.c = check_number("c", c, 0.0, 1e6)
        super().__init__(n_arms, seed, **settings)

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "c": self.c}

    def _index(self) -> np.ndarray:
        counts = self.counters
        n = counts.n
        total = float(n.sum())
        bonus = self.c * self._reward_scale() * np.sqrt(2.0 * np.log(max(total, 1.0)) / n)
        index: np.ndarray = counts.sum / n + bonus
        return index

    def _choose(self, context: Context) -> int:
        return self._greedy_choice()

    def _probabilities(self, context: Context) -> np.ndarray:
        return ties_distribution(self.best(), self.n_arms)


class EpsilonGreedy(_BestArms):
    """With probability ε a uniform arm, otherwise the arm with the best mean (untried arms first)."""

    name: ClassVar[str] = "epsilon_greedy"

    def __init__(self, n_arms: int, seed: int | None = None, *, epsilon: float = 0.1, **settings: Any) -> None:
        self.epsilon = check_number("epsilon", epsilon, 0.0, 1.0)
        super().__init__(n_arms, seed, **settings)

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "epsilon": self.epsilon}

    def _index(self) -> np.ndarray:
        return self.counters.sum / self.counters.n

    def _choose(self, context: Context) -> int:
        if self.epsilon and self._rng.random() < self.epsilon:
            return int(self._rng.integers(self.n_arms))
        return self._greedy_choice()

    def _probabilities(self, context: Context) -> np.ndarray:
        greedy = ties_distribution(self.best(), self.n_arms)
        return self.epsilon / self.n_arms + (1.0 - self.epsilon) * greedy
