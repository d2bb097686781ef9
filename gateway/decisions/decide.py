# SPDX-License-Identifier: Apache-2.0
"""Which variant of a slot a visitor gets: first matching variant wins, else the default.

A variant is a block, an experiment (a sticky arm per visitor) or a bandit (an arm per view,
chosen by `bandit_choice` from the shared state; the block carries its propensity)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slotwise.gateway.blocks.renderer import parse_expiry
from slotwise.gateway.config.loader import Slot
from slotwise.gateway.decisions import bandit_choice
from slotwise.gateway.decisions.experiments import assign, in_traffic, phase, winner
from slotwise.gateway.rules.expr import Env


@dataclass(frozen=True)
class Decision:
    variant: str
    block: dict[str, Any]
    experiment: dict[str, Any] | None = None


def _available(block: dict[str, Any], env: Env) -> bool:
    """An offer past its expiry is skipped; until then it bounds the block's ttl."""
    if block["type"] == "offer" and "expires" in block:
        expires = parse_expiry(block["expires"])
        if expires is not None:
            if env.now >= expires:
                return False
            env.bound(expires)
    return True


def decide(slot: Slot, env: Env, visitor_id: str | None) -> Decision:
    ctx = env.ctx
    if ctx.device.is_bot:
        # Crawlers see stable content and never enter experiments.
        return Decision("default", slot.default)
    for variant in slot.variants:
        if variant.when is not None and not variant.when.evaluate(env):
            continue
        if variant.block is not None:
            if _available(variant.block, env):
                return Decision(variant.id, variant.block)
            continue
        if variant.bandit is not None:
            if variant.bandit.status != "running":
                continue
            chosen, data = bandit_choice.choose(variant.bandit, env)
            if not _available(chosen.block, env):
                continue
            env.bound(env.now + bandit_choice.REFRESH)  # a new choice per view: cache it no longer
            return Decision(f"{variant.id}:{chosen.name}", chosen.block, data)
        exp = variant.experiment
        assert exp is not None
        for edge in (exp.start, exp.end):
            if edge is not None and edge > env.now:
                env.bound(edge)  # a cached block must not outlive a start or an end
        now_phase = phase(exp, env.now)
        if now_phase == "stopped" and (best := winner(exp)) is not None and _available(best.block, env):
            return Decision(f"{variant.id}:{best.name}", best.block)  # the winner, for everyone
        if now_phase != "running":
            continue
        if visitor_id is None or not ctx.consent.identifier_allowed or not in_traffic(exp, visitor_id):
            continue  # no identifier, no sticky assignment: fall through to later variants
        arm = assign(exp, visitor_id)
        if arm is None:
            return Decision(f"{variant.id}:holdout", slot.default, {"key": exp.key, "arm": "holdout", "holdout": True})
        if not _available(arm.block, env):
            continue
        return Decision(f"{variant.id}:{arm.name}", arm.block, {"key": exp.key, "arm": arm.name, "holdout": False})
    return Decision("default", slot.default)
