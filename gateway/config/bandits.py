# SPDX-License-Identifier: Apache-2.0
"""Schema of a slot variant's `bandit:`: a policy over arms that learns from measured rewards.

The policy's own checks (`decisions.bandits.make_policy`) run at load time, so every hostile
setting (no arm, a negative or NaN number, an unknown policy or setting) is refused with the
path of the field at fault, and nothing can make a decision fail later.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import field_validator, model_validator

from slotwise.gateway.config.errors import fail
from slotwise.gateway.config.fields import CheckedName, Strict, between, check_unique
from slotwise.gateway.config.model import Arm, Bandit
from slotwise.gateway.decisions.bandits import make_policy

POLICY_NAMES = {
    "thompson": "thompson",
    "ucb1": "ucb1",
    "epsilon_greedy": "epsilon_greedy",
    "contextual": "contextual_thompson",
    "contextual_thompson": "contextual_thompson",
}
CONTEXT_KEYS = ("device", "daypart", "weekday", "country", "referrer", "segment")
# Which settings each policy reads (beyond reward, min_share and explore, which all read).
POLICY_SETTINGS = {
    "thompson": ("prior", "prior_strength", "mc_draws"),
    "ucb1": ("c",),
    "epsilon_greedy": ("epsilon",),
    "contextual_thompson": ("prior", "prior_strength", "mc_draws", "keys", "shrinkage", "max_buckets"),
}
OPTIONAL = ("min_share", "explore", "epsilon", "c", "prior", "prior_strength", "mc_draws", "keys", "shrinkage",
            "max_buckets")  # fmt: skip
MAX_ARMS = 100


class BanditArmSchema(Strict):
    name: CheckedName
    block: Any


class BanditSchema(Strict):
    key: CheckedName | None = None
    """The name impressions carry as `properties.experiment`; the slot's name by default."""
    policy: str
    reward: Literal["click", "conversion", "revenue"] = "click"
    arms: list[BanditArmSchema]
    status: Literal["running", "paused"] = "running"
    window_days: between(0.001, 365) = 1.0  # type: ignore[valid-type]
    half_life_days: between(0.01, 3650) | None = None  # type: ignore[valid-type]
    min_share: float | None = None
    explore: int | None = None
    epsilon: float | None = None
    c: float | None = None
    prior: list[float] | None = None
    prior_strength: float | None = None
    mc_draws: int | None = None
    keys: list[str] | None = None
    shrinkage: float | None = None
    max_buckets: int | None = None

    @field_validator("policy")
    @classmethod
    def _policy(cls, name: str) -> str:
        if name not in POLICY_NAMES:
            fail(f"unknown policy {name[:40]!r}; one of thompson, ucb1, epsilon_greedy, contextual")
        return POLICY_NAMES[name]

    @field_validator("arms")
    @classmethod
    def _arms(cls, arms: list[BanditArmSchema]) -> list[BanditArmSchema]:
        if not arms:
            fail("needs at least one arm")
        if len(arms) > MAX_ARMS:
            fail(f"at most {MAX_ARMS} arms, got {len(arms)}")
        check_unique([a.name for a in arms], "arm name")
        return arms

    @field_validator("keys")
    @classmethod
    def _keys(cls, keys: list[str] | None) -> list[str] | None:
        if keys is not None:
            if not keys:
                fail(f"needs at least one context key; one of {', '.join(CONTEXT_KEYS)}")
            for key in keys:
                if key not in CONTEXT_KEYS:
                    fail(f"unknown context key {key[:40]!r}; one of {', '.join(CONTEXT_KEYS)}")
        return keys

    @model_validator(mode="after")
    def _settings(self) -> BanditSchema:
        given = self.settings()
        allowed = POLICY_SETTINGS[self.policy]
        for name in given:
            if name not in ("min_share", "explore") and name not in allowed:
                fail(f"'{name}' is not a setting of policy {self.policy}")
        for name, value in given.items():
            if isinstance(value, float) and not math.isfinite(value):
                fail(f"{name}: must be a finite number, got {value}")
        try:
            make_policy(self.policy, len(self.arms), reward=self.reward, **given)
        except ValueError as exc:
            fail(str(exc))
        return self

    def settings(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in OPTIONAL if getattr(self, name) is not None}

    def runtime(self, slot: str) -> Bandit:
        arms = tuple(Arm(a.name, 1.0, a.block) for a in self.arms)
        return Bandit(
            self.key or slot,
            self.policy,
            self.reward,
            arms,
            self.settings(),
            self.status,
            self.window_days,
            self.half_life_days,
        )
