# SPDX-License-Identifier: Apache-2.0
"""A bandit policy's state in Redis, shared by every replica on it.

One key per bandit, `{prefix}bandit:{site}:{name}`, holding the policy's plain JSON state
(`Policy.state()`). An update reads it, applies the reward with the policy's own `update` and
writes it back under WATCH, retrying when another replica wrote in between: no reward is lost
and every policy (discounted ones too, whose update rescales every arm) works unchanged.
Replicas rebuild the same policy from the same state, so they show the same probabilities.
"""

from __future__ import annotations

import json
from typing import Any

from slotwise.gateway.decisions.bandits import Policy, make_policy, policy_from_state

Context = dict[str, Any] | None


class SharedPolicy:
    """The state of one bandit in Redis (`redis` is a redis.asyncio client)."""

    def __init__(self, redis: Any, prefix: str, site: str, name: str, policy: str, n_arms: int, **settings: Any):
        self.r = redis
        self.key = f"{prefix}bandit:{site}:{name}"
        self._fresh = make_policy(policy, n_arms, **settings)  # the state before any reward

    async def load(self, seed: int | None = None) -> Policy:
        body = await self.r.get(self.key)
        return policy_from_state(json.loads(body), seed) if body else self._fresh

    async def update(self, arm: int, reward: float, context: Context = None) -> None:
        from redis.exceptions import WatchError

        async with self.r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self.key)
                    body = await pipe.get(self.key)
                    policy = policy_from_state(json.loads(body)) if body else policy_from_state(self._fresh.state())
                    policy.update(arm, reward, context)
                    pipe.multi()
                    pipe.set(self.key, json.dumps(policy.state()))
                    await pipe.execute()
                    return
                except WatchError:
                    continue
