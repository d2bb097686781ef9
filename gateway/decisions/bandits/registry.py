# SPDX-License-Identifier: Apache-2.0
"""Policy names (as written in a slot's `bandit: {policy: ...}`) → classes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slotwise.gateway.decisions.bandits.classic import UCB1, EpsilonGreedy
from slotwise.gateway.decisions.bandits.contextual import ContextualThompson
from slotwise.gateway.decisions.bandits.policy import Policy
from slotwise.gateway.decisions.bandits.thompson import ThompsonSampling

POLICIES: dict[str, type[Policy]] = {
    cls.name: cls for cls in (ThompsonSampling, UCB1, EpsilonGreedy, ContextualThompson)
}


def make_policy(name: str, n_arms: int, seed: int | None = None, **settings: Any) -> Policy:
    cls = POLICIES.get(name)
    if cls is None:
        raise ValueError(f"policy: unknown policy {name!r} (known: {', '.join(POLICIES)})")
    try:
        return cls(n_arms, seed, **settings)
    except TypeError as exc:
        raise ValueError(f"settings: {exc}") from None


def policy_from_state(state: Mapping[str, Any], seed: int | None = None) -> Policy:
    name = state.get("policy") if isinstance(state, Mapping) else None
    cls = POLICIES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"policy: unknown policy {name!r} in state")
    return cls.from_state(state, seed)
