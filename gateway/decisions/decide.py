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
    # Set by an arm without a block (a personalization holdout): the later variants decide,
    # and whatever they choose is reported as that arm.
    tag: dict[str, Any] | None = None
    for variant in slot.variants:
        if variant.when is not None and not variant.when.fn(env):  # Compiled.evaluate, one call fewer
            continue
        if variant.block is not None:
            if _available(variant.block, env):
                return Decision(variant.id, variant.block, tag)
            continue
        if variant.bandit is not None:
            if variant.bandit.status != "running":
                continue
            env.read_visitor()  # a new draw per view: never a cached page
            chosen, data = bandit_choice.choose(variant.bandit, env)
            if chosen.block is None or not _available(chosen.block, env):  # a bandit arm always has one
                continue
            env.bound(env.now + bandit_choice.REFRESH)  # a new choice per view: cache it no longer
            # Inside a personalization arm the bandit's own key and propensity are reported (its
            # learning needs them); the page's other slots carry the holdout's assignment.
            return Decision(f"{variant.id}:{chosen.name}", chosen.block, data)
        exp = variant.experiment
        assert exp is not None
        if tag is not None:
            continue  # one experiment per decision: none nested inside a personalization arm
        for edge in (exp.start, exp.end):
            if edge is not None and edge > env.now:
                env.bound(edge)  # a cached block must not outlive a start or an end
        now_phase = phase(exp, env.now)
        best = winner(exp) if now_phase == "stopped" else None
        if best is not None and best.block is not None and _available(best.block, env):
            return Decision(f"{variant.id}:{best.name}", best.block)  # the winner, for everyone
        if now_phase != "running":
            continue
        if visitor_id is None or not ctx.consent.identifier_allowed:
            continue  # no identifier, no sticky assignment: fall through to later variants
        env.read_visitor()  # the visitor's hash decides from here on
        if not in_traffic(exp, visitor_id):
            continue
        arm = assign(exp, visitor_id)
        if arm is None:
            return Decision(f"{variant.id}:holdout", slot.default, {"key": exp.key, "arm": "holdout", "holdout": True})
        if arm.block is None:
            tag = {"key": exp.key, "arm": arm.name, "holdout": False}
            continue
        if not _available(arm.block, env):
            continue
        return Decision(f"{variant.id}:{arm.name}", arm.block, {"key": exp.key, "arm": arm.name, "holdout": False})
    return Decision("default", slot.default, tag)
