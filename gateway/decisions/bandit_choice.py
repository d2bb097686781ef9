# SPDX-License-Identifier: Apache-2.0
"""A bandit variant's choice in the render path, from the state every replica shares: the store.

The store's counters (`measure.bandit_rewards`, scope `bandit|KEY`) are the bandit's whole
state. Each process keeps, per site and bandit, the policy rebuilt from them, and rebuilds it
in the background once it is older than `REFRESH` seconds, so every replica chooses from the
same state within about a second of an event and a decision never waits on the store. Between
two rebuilds the state does not change, so a view's arm is drawn from the policy's
probabilities for that state (computed once), which are also the propensity logged. Counters
may be discounted by age (`half_life_days`): a day's counts weigh 0.5 ** (age / half-life).
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import logging
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from slotwise.gateway.config.loader import Arm, Bandit
from slotwise.gateway.decisions.bandits import Counters, Policy, make_policy
from slotwise.gateway.measure.bandit_rewards import UNKNOWN_ARM, parse_key, scope
from slotwise.gateway.rules.expr import Env, in_segment

REFRESH = 1.0
MIN_PROPENSITY = 1e-6  # a propensity is logged only when positive; Thompson's shares have a resolution
log = logging.getLogger("slotwise.bandits")


def policy_from_counts(bandit: Bandit, raw: dict[str, float], today: int, seed: int | None = None) -> Policy:
    """The bandit's policy over the counters of its scope (as `store.counters` returns them)."""
    index = {name: i for i, name in enumerate(bandit.arm_names)}
    n_arms = len(index)
    pooled = Counters(n_arms)
    buckets: dict[str, Counters] = {}
    contextual = bandit.policy == "contextual_thompson"
    half_life = bandit.half_life_days
    for name, value in raw.items():
        parsed = parse_key(name)
        if parsed is None or not math.isfinite(value) or value <= 0:
            continue
        arm, bucket, day, stat = parsed
        i = index.get(arm)
        if i is None:
            continue  # an arm removed from the configuration: its counts stay in the store
        weight = 0.5 ** (max(today - day, 0) / half_life) if half_life else 1.0
        targets = [pooled]
        if contextual and bucket:
            targets.append(buckets.setdefault(bucket, Counters(n_arms)))
        for counts in targets:
            if stat == "pulls":
                counts.pulls[i] += round(value)
                counts.n[i] += weight * value
            elif stat == "sum":
                counts.sum[i] += weight * value
            else:
                counts.sum_squares[i] += weight * value
    binary = bandit.reward != "revenue"
    for counts in (pooled, *buckets.values()):
        if binary:  # float sums of deltas may drift by an ulp; a rate can not leave [0, 1]
            np.minimum(counts.sum, counts.n, out=counts.sum)
            np.minimum(counts.sum_squares, counts.n, out=counts.sum_squares)
    policy = make_policy(bandit.policy, n_arms, seed, reward=bandit.reward, counters=pooled, **bandit.settings)
    if contextual:
        limit = int(bandit.settings.get("max_buckets", 256))
        policy.buckets = dict(sorted(buckets.items(), key=lambda kv: -float(kv[1].n.sum()))[:limit])  # type: ignore[attr-defined]
        policy.version += 1
    return policy


@dataclass
class BanditView:
    """One process's copy of a bandit's state: its policy and the propensities derived from it."""

    bandit: Bandit
    policy: Policy
    loaded: float
    unknown_arm: float = 0.0
    loading: bool = False
    shares: dict[str | None, list[float]] = field(default_factory=dict)
    logged: dict[str | None, list[float]] = field(default_factory=dict)
    edges: dict[str | None, list[float]] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)

    def probabilities(self, bucket: str | None) -> list[float]:
        """The policy's probability per arm in this bucket, computed once per state."""
        cached = self.shares.get(bucket)
        if cached is None:
            cached = self.shares[bucket] = self.policy.probabilities(bucket)
        return cached

    def propensities(self, bucket: str | None) -> list[float]:
        """The same, as logged with the impression: rounded, and never 0 for an arm that was shown."""
        cached = self.logged.get(bucket)
        if cached is None:
            cached = self.logged[bucket] = [max(round(p, 6), MIN_PROPENSITY) for p in self.probabilities(bucket)]
        return cached

    def choose(self, context: dict[str, Any] | None) -> tuple[Arm, float, str | None]:
        """An arm drawn from the logged propensities themselves: the policy's own distribution
        (Thompson's is the chance each arm wins a posterior draw), so what is logged is exactly
        what the choice used, and a decision costs one random number whatever the arm count."""
        bucket = self.policy.bucket(context) if context is not None else None  # type: ignore[attr-defined]
        edges = self.edges.get(bucket)
        if edges is None:
            edges = self.edges[bucket] = list(itertools.accumulate(self.propensities(bucket)))
        i = min(bisect.bisect_right(edges, self.rng.random() * edges[-1]), len(edges) - 1)
        return self.bandit.arms[i], self.logged[bucket][i], bucket


class BanditStates:
    """Per (site, bandit key) the current `BanditView`, refreshed from the store in the background."""

    def __init__(self, refresh: float = REFRESH) -> None:
        self.refresh = refresh
        self._views: dict[tuple[str, str], BanditView] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # held so a running refresh is not collected

    def view(self, site: str, bandit: Bandit, store: Any) -> BanditView:
        key = (site, bandit.key)
        view = self._views.get(key)
        now = time.monotonic()
        if view is None or view.bandit is not bandit:  # first use, or a reloaded configuration
            stale = view
            view = self._views[key] = BanditView(bandit, policy_from_counts(bandit, {}, 0), -math.inf)
            if stale is not None and stale.bandit.arm_names == bandit.arm_names:
                view.policy, view.loaded = stale.policy, stale.loaded
        if store is not None and not view.loading and now - view.loaded >= self.refresh:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return view
            view.loading = True
            task = loop.create_task(self._reload(key, site, bandit, store))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return view

    async def load(self, site: str, bandit: Bandit, store: Any) -> BanditView:
        """A view read from the store now (the admin routes), also kept for the render path."""
        raw = (await store.counters(site, [scope(bandit.key)])).get(scope(bandit.key), {})
        view = BanditView(bandit, policy_from_counts(bandit, raw, int(time.time() // 86400)), time.monotonic())
        view.unknown_arm = raw.get(UNKNOWN_ARM, 0.0)
        self._views[(site, bandit.key)] = view
        return view

    async def _reload(self, key: tuple[str, str], site: str, bandit: Bandit, store: Any) -> None:
        try:
            await self.load(site, bandit, store)
        except Exception:  # the store is down: keep choosing from the last state, retry later
            log.warning("bandit %s could not be read from the store", bandit.key, exc_info=True)
            view = self._views.get(key)
            if view is not None:
                view.loaded = time.monotonic()
        finally:
            view = self._views.get(key)
            if view is not None:
                view.loading = False


FALLBACK = BanditStates()


def context_of(env: Env, keys: tuple[str, ...]) -> dict[str, Any]:
    """The context values a contextual bandit buckets by (`config.bandits.CONTEXT_KEYS`)."""
    ctx = env.ctx
    out: dict[str, Any] = {}
    for key in keys:
        if key == "device":
            out[key] = ctx.device.cls
        elif key == "daypart":
            out[key] = ctx.local.daypart
        elif key == "weekday":
            out[key] = ctx.local.weekday
        elif key == "country":
            out[key] = ctx.geo.country
        elif key == "referrer":
            out[key] = ctx.referrer.cls
        elif key == "segment":
            out[key] = next((name for name in env.runtime.segments if in_segment(env, name)), "none")
    return out


def choose(bandit: Bandit, env: Env) -> tuple[Arm, dict[str, Any]]:
    """The arm to show and the measurement data the block carries (key, arm, propensity, bucket)."""
    states = getattr(env.runtime, "bandits", None) or FALLBACK
    site = env.site.name if env.site is not None else ""
    view = states.view(site, bandit, getattr(env.services, "store", None))
    keys = getattr(view.policy, "keys", None)
    arm, propensity, bucket = view.choose(context_of(env, keys) if keys else None)
    data: dict[str, Any] = {"key": bandit.key, "arm": arm.name, "propensity": propensity, "bandit": True}
    if bucket:
        data["bucket"] = bucket
    return arm, data
