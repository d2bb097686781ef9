# SPDX-License-Identifier: Apache-2.0
"""Thompson sampling per context bucket, shrunk toward the pooled estimates of each arm.

A bucket is the values of a few context keys (device class, day part, segment). Each bucket
keeps its own counters; its prior for arm i is the arm's estimate over all *other* traffic,
worth w_i = min(shrinkage, n_i of that traffic) pseudo-observations:

    Beta(a0 + w_i p_i + s_bi, b0 + w_i (1 - p_i) + n_bi - s_bi)

so a new or small bucket behaves like the pooled policy and a bucket with much more data than
`shrinkage` follows its own counts (the posterior mean is (s_bi + w_i p_i) / (n_bi + w_i)).
Revenue rewards use the Normal–Inverse-Gamma analogue (prior mean p_i, kappa0 = w_i).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from slotwise.gateway.decisions.bandits.counters import Counters, check_number
from slotwise.gateway.decisions.bandits.policy import Context
from slotwise.gateway.decisions.bandits.thompson import (
    VARIANCE_STRENGTH,
    DrawBuffer,
    Posterior,
    ThompsonSampling,
    beta_posterior,
    monte_carlo_shares,
    nig_posterior,
    state_seed,
)


class ContextualThompson(ThompsonSampling):
    """Settings beyond Thompson's: `keys` (context keys making a bucket, default device),
    `shrinkage` (pseudo-observations of the pooled prior, default 20), `max_buckets` (default
    256; traffic of further buckets updates and uses the pooled counters only)."""

    name: ClassVar[str] = "contextual_thompson"

    def __init__(
        self,
        n_arms: int,
        seed: int | None = None,
        *,
        keys: tuple[str, ...] | list[str] = ("device",),
        shrinkage: float = 20.0,
        max_buckets: int = 256,
        **settings: Any,
    ) -> None:
        if isinstance(keys, str) or not isinstance(keys, list | tuple) or not keys:
            raise ValueError(f"keys: must be a non-empty list of context keys, got {keys!r}")
        if not all(isinstance(k, str) and k for k in keys):
            raise ValueError(f"keys: every key must be a non-empty string, got {keys!r}")
        self.keys = tuple(keys)
        self.shrinkage = check_number("shrinkage", shrinkage, 0.0, 1e9)
        if isinstance(max_buckets, bool) or not isinstance(max_buckets, int) or not 1 <= max_buckets <= 100_000:
            raise ValueError(f"max_buckets: must be an integer in [1, 100000], got {max_buckets!r}")
        self.max_buckets = max_buckets
        super().__init__(n_arms, seed, **settings)
        self.buckets: dict[str, Counters] = {}
        self._buffers: dict[str | None, DrawBuffer] = {}
        self._bucket_shares: dict[str | None, np.ndarray] = {}
        self._shares_version = -1

    def settings(self) -> dict[str, Any]:
        return {
            **super().settings(),
            "keys": list(self.keys),
            "shrinkage": self.shrinkage,
            "max_buckets": self.max_buckets,
        }

    def bucket(self, context: Context) -> str | None:
        """The bucket name of a context: a string as it is, a mapping by its `keys`, else None."""
        if context is None:
            return None
        if isinstance(context, str):
            return context
        if not isinstance(context, Mapping):
            raise ValueError(f"context: must be a mapping, a bucket name or None, got {type(context).__name__}")
        values = [context.get(k) for k in self.keys]
        if all(v is None for v in values):
            return None
        return "|".join("" if v is None else str(v) for v in values)

    def state(self) -> dict[str, Any]:
        return {**super().state(), "buckets": {name: c.to_dict() for name, c in self.buckets.items()}}

    def _load_extra(self, state: Mapping[str, Any]) -> None:
        buckets = state.get("buckets") or {}
        if not isinstance(buckets, Mapping):
            raise ValueError("buckets: must be an object of bucket name → counters")
        if len(buckets) > self.max_buckets:
            raise ValueError(f"buckets: {len(buckets)} buckets, more than max_buckets {self.max_buckets}")
        self.buckets = {
            str(name): Counters.from_dict(data, self.n_arms, f"buckets.{name}") for name, data in buckets.items()
        }

    def _update(self, arm: int, reward: float, context: Context) -> None:
        self.counters.add(arm, reward, self.discount)
        name = self.bucket(context)
        if name is None:
            return
        counts = self.buckets.get(name)
        if counts is None:
            if len(self.buckets) >= self.max_buckets:
                return
            counts = self.buckets[name] = Counters(self.n_arms)
        counts.add(arm, reward, self.discount)

    def posterior(self, context: Context = None) -> Posterior:
        name = self.bucket(context)
        own = self.buckets.get(name) if name is not None else None
        if own is None:
            return super().posterior(None)
        rest = self.counters.minus(own)
        w = np.minimum(self.shrinkage, rest.n)
        if self.binary:
            a0, b0 = self.prior
            p = np.where(rest.n > 0, rest.mean(), a0 / (a0 + b0))
            return beta_posterior(own, a0 + w * p, b0 + w * (1.0 - p))
        mean_all, var_all = self.counters.pooled_mean_variance()
        safe = np.where(rest.n > 0, rest.n, 1.0)
        mu0 = np.where(rest.n > 0, rest.sum / safe, mean_all)
        var0 = np.where(rest.n > 1, np.maximum(rest.sum_squares / safe - mu0 * mu0, 0.0), var_all)
        kappa0 = np.maximum(w, self.prior_strength)
        alpha0 = 1.0 + VARIANCE_STRENGTH / 2.0
        return nig_posterior(own, mu0, kappa0, alpha0, (alpha0 - 1.0) * np.maximum(var0, 1e-12))

    def _choose(self, context: Context) -> int:
        name = self.bucket(context)
        key = name if name in self.buckets else None
        buffer = self._buffers.get(key)
        if buffer is None:
            buffer = self._buffers[key] = DrawBuffer()
        return buffer.next(self.version, lambda: self.posterior(key), self._rng)

    def _probabilities(self, context: Context) -> np.ndarray:
        if self._shares_version != self.version:
            self._bucket_shares = {}
            self._shares_version = self.version
        name = self.bucket(context)
        key = name if name in self.buckets else None
        shares = self._bucket_shares.get(key)
        if shares is None:
            parts = (self.counters,) if key is None else (self.counters, self.buckets[key])
            shares = monte_carlo_shares(self.posterior(key), self.mc_draws, state_seed(self.seed, *parts))
            self._bucket_shares[key] = shares
        return shares
