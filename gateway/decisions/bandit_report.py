# SPDX-License-Identifier: Apache-2.0
"""What a bandit has learned, for people and tools: per arm its probability, pulls and rewards.

Read by the admin route `GET /v1/admin/bandits/{key}` (and the studio through it): the policy
is rebuilt from the store's counters at the moment of the request, so the figures are the ones
every replica chooses from within a second.
"""

from __future__ import annotations

import math
from typing import Any

from slotwise.gateway.config.loader import Bandit, Config, Slot, Variant
from slotwise.gateway.decisions.bandit_choice import BanditStates, BanditView
from slotwise.gateway.decisions.bandits import Counters


class UnknownBandit(LookupError):
    pass


def bandits_of(config: Config) -> list[tuple[Slot, Variant, Bandit]]:
    return [(slot, v, v.bandit) for slot in config.slots.values() for v in slot.variants if v.bandit is not None]


def find_bandit(config: Config, key: str) -> tuple[Slot, Variant, Bandit]:
    for found in bandits_of(config):
        if found[2].key == key:
            return found
    raise UnknownBandit(f"no bandit with key '{key[:100]}' in the configuration")


def _num(x: float) -> float:
    return round(float(x), 6) if math.isfinite(x) else 0.0


def _arms(bandit: Bandit, counts: Counters, probabilities: list[float]) -> list[dict[str, Any]]:
    mean = counts.mean()
    return [
        {
            "name": name,
            "probability": _num(probabilities[i]),
            "pulls": int(counts.pulls[i]),
            "weight": _num(counts.n[i]),
            "reward_sum": _num(counts.sum[i]),
            "mean_reward": _num(mean[i]) if counts.n[i] > 0 else None,
        }
        for i, name in enumerate(bandit.arm_names)
    ]


def summary(slot: Slot, variant: Variant, bandit: Bandit) -> dict[str, Any]:
    return {
        "key": bandit.key,
        "slot": slot.name,
        "variant": variant.id,
        "policy": bandit.policy,
        "reward": bandit.reward,
        "status": bandit.status,
        "arms": list(bandit.arm_names),
    }


async def bandit_results(
    store: Any, config: Config, states: BanditStates, site: str, key: str, events: dict[str, float]
) -> dict[str, Any]:
    """The payload of the admin route (`events`: the per-event counters of scope `exp|KEY`)."""
    slot, variant, bandit = find_bandit(config, key)
    view: BanditView = await states.load(site, bandit, store)
    policy = view.policy
    arms = _arms(bandit, policy.counters, view.probabilities(None))
    for arm in arms:
        for name in ("impressions", "clicks", "served"):
            arm[name] = round(_num(events.get(f"{arm['name']}\x1f{name}\x1fcount", 0.0)))
    out: dict[str, Any] = {
        "site": site,
        **summary(slot, variant, bandit),
        "settings": dict(bandit.settings),
        "window_days": bandit.window_days,
        "half_life_days": bandit.half_life_days,
        "arms": arms,
        "pulls": sum(a["pulls"] for a in arms),
        "ignored": {"unknown_arm": round(view.unknown_arm)},
    }
    buckets = getattr(policy, "buckets", None)
    if buckets is not None:
        out["buckets"] = {
            name: {"arms": _arms(bandit, counts, view.probabilities(name))} for name, counts in sorted(buckets.items())
        }
    return out
