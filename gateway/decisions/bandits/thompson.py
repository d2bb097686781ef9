# SPDX-License-Identifier: Apache-2.0
"""Thompson sampling: Beta–Bernoulli for clicks and conversions, Normal–Inverse-Gamma for revenue.

A decision draws one value per arm from its posterior and takes the largest. Draws between two
updates come from the same posterior, so they are made in blocks (1, 2, 4, ... up to 256 after
each update) and handed out one by one: the same distribution as drawing each time, at a
fraction of the cost. `probabilities()` is the share of Monte Carlo draws each arm wins,
seeded by the counters themselves (the same state gives the same figures, also after a round
trip through the store) and cached until the next update.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from slotwise.gateway.decisions.bandits.counters import Counters, check_number
from slotwise.gateway.decisions.bandits.policy import Context, Policy

MAX_BLOCK = 256
# Revenue per visit is mostly zeros: an arm's own variance looks tiny after a few empty visits
# and its posterior would starve it. The prior variance (the pooled one) is worth this many
# observations, so a few zeros cannot make an arm look certain.
VARIANCE_STRENGTH = 20.0


@dataclass(frozen=True)
class Posterior:
    """Per-arm posterior parameters: Beta(a, b), or Normal–Inverse-Gamma(mu, kappa, alpha, beta)."""

    kind: str
    params: tuple[np.ndarray, ...]

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """`size` joint draws of every arm's mean reward, shape (size, n_arms)."""
        if self.kind == "beta":
            a, b = self.params
            drawn: np.ndarray = rng.beta(np.broadcast_to(a, (size, len(a))), np.broadcast_to(b, (size, len(b))))
            return drawn
        mu, kappa, alpha, beta = self.params
        k = len(mu)
        variance = beta / rng.standard_gamma(np.broadcast_to(alpha, (size, k)))
        drawn_normal: np.ndarray = mu + np.sqrt(variance / kappa) * rng.standard_normal((size, k))
        return drawn_normal


def beta_posterior(counts: Counters, prior_a: np.ndarray | float, prior_b: np.ndarray | float) -> Posterior:
    a = prior_a + counts.sum
    b = prior_b + np.maximum(counts.n - counts.sum, 0.0)
    return Posterior("beta", (a, b))


def nig_posterior(
    counts: Counters, mu0: np.ndarray | float, kappa0: np.ndarray | float, alpha0: float, beta0: np.ndarray | float
) -> Posterior:
    """Conjugate update of a Normal–Inverse-Gamma prior by the arms' n, sum and sum of squares."""
    n, s = counts.n, counts.sum
    safe_n = np.where(n > 0, n, 1.0)
    mean = np.where(n > 0, s / safe_n, 0.0)
    scatter = np.maximum(counts.sum_squares - n * mean * mean, 0.0)
    kappa = kappa0 + n
    mu = (kappa0 * mu0 + s) / kappa
    alpha = alpha0 + n / 2.0
    beta = beta0 + scatter / 2.0 + kappa0 * n * (mean - mu0) ** 2 / (2.0 * kappa)
    return Posterior("nig", (np.broadcast_to(mu, n.shape), kappa, alpha, np.broadcast_to(beta, n.shape)))


def monte_carlo_shares(posterior: Posterior, draws: int, seed: list[int]) -> np.ndarray:
    """The share of `draws` joint posterior draws in which each arm is the largest."""
    rng = np.random.default_rng(seed)
    k = len(posterior.params[0])
    wins = np.zeros(k)
    chunk = max(1, min(draws, 2_000_000 // max(k, 1)))
    left = draws
    while left > 0:
        m = min(chunk, left)
        wins += np.bincount(posterior.draw(rng, m).argmax(axis=1), minlength=k)
        left -= m
    return wins / draws


def state_seed(seed: int | None, *counters: Counters) -> list[int]:
    digest = 0
    for c in counters:
        digest = zlib.crc32(c.n.tobytes() + c.sum.tobytes() + c.sum_squares.tobytes(), digest)
    return [seed or 0, digest]


class DrawBuffer:
    """Posterior winners drawn in blocks and handed out one by one until the state changes."""

    __slots__ = ("arms", "block", "pos", "version")

    def __init__(self) -> None:
        self.version = -1
        self.block = 0
        self.arms: list[int] = []
        self.pos = 0

    def next(self, version: int, posterior: Any, rng: np.random.Generator) -> int:
        if self.pos >= len(self.arms) or self.version != version:
            self.block = 1 if self.version != version else min(self.block * 2, MAX_BLOCK)
            self.version = version
            post = posterior() if callable(posterior) else posterior
            self.arms = post.draw(rng, self.block).argmax(axis=1).tolist()
            self.pos = 0
        arm = self.arms[self.pos]
        self.pos += 1
        return int(arm)


class ThompsonSampling(Policy):
    """Thompson sampling. Settings: `prior` (Beta a, b for click/conversion, default 1, 1);
    `prior_strength` (revenue: pseudo-observations behind the prior mean, default 1) and
    `mc_draws` (Monte Carlo draws behind `probabilities()`, default 10,000)."""

    name: ClassVar[str] = "thompson"

    def __init__(
        self,
        n_arms: int,
        seed: int | None = None,
        *,
        prior: tuple[float, float] | list[float] = (1.0, 1.0),
        prior_strength: float = 1.0,
        mc_draws: int = 10_000,
        **settings: Any,
    ) -> None:
        if not isinstance(prior, list | tuple) or len(prior) != 2:
            raise ValueError(f"prior: must be two numbers (a, b), got {prior!r}")
        self.prior = (check_number("prior", prior[0], 0.0, 1e9, low_open=True),
                      check_number("prior", prior[1], 0.0, 1e9, low_open=True))  # fmt: skip
        self.prior_strength = check_number("prior_strength", prior_strength, 0.0, 1e9, low_open=True)
        if isinstance(mc_draws, bool) or not isinstance(mc_draws, int) or not 100 <= mc_draws <= 10_000_000:
            raise ValueError(f"mc_draws: must be an integer in [100, 10000000], got {mc_draws!r}")
        self.mc_draws = mc_draws
        super().__init__(n_arms, seed, **settings)
        self._buffer = DrawBuffer()
        self._shares: tuple[Any, np.ndarray] | None = None

    def settings(self) -> dict[str, Any]:
        return {
            **super().settings(),
            "prior": list(self.prior),
            "prior_strength": self.prior_strength,
            "mc_draws": self.mc_draws,
        }

    def posterior(self, context: Context = None) -> Posterior:
        counts = self.counters
        if self.binary:
            return beta_posterior(counts, self.prior[0], self.prior[1])
        mu0, var0 = counts.pooled_mean_variance()
        alpha0 = 1.0 + VARIANCE_STRENGTH / 2.0
        return nig_posterior(counts, mu0, self.prior_strength, alpha0, (alpha0 - 1.0) * max(var0, 1e-12))

    def _choose(self, context: Context) -> int:
        return self._buffer.next(self.version, self.posterior, self._rng)

    def _probabilities(self, context: Context) -> np.ndarray:
        key = (self.version, None)
        if self._shares is None or self._shares[0] != key:
            seed = state_seed(self.seed, self.counters)
            self._shares = (key, monte_carlo_shares(self.posterior(context), self.mc_draws, seed))
        return self._shares[1]
