# SPDX-License-Identifier: Apache-2.0
"""Schema of `segments:` and `slots:`: rules compiled with their column errors, variants, experiments.

Expressions need the names of all segments and attributes; the loader passes them as the
validation context (`{"segments": {...}, "attributes": {...}}`). Blocks are checked by
`blocks.renderer.validate_block` in `check_blocks`, before the schema sees the slot.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from slotwise.gateway.blocks.renderer import validate_block
from slotwise.gateway.config.bandits import BanditSchema
from slotwise.gateway.config.errors import fail
from slotwise.gateway.config.fields import NAME_PATTERN, Strict, between, check_unique
from slotwise.gateway.config.model import Arm, Experiment, Slot, Variant
from slotwise.gateway.rules.expr import Compiled, ExprError, compile_expr
from slotwise.gateway.rules.segments import Segment

_NAME = re.compile(NAME_PATTERN)


def compile_when(raw: Any, info: ValidationInfo) -> Compiled:
    """A segment name, a list of them (all must match), or an expression."""
    if isinstance(raw, Compiled):
        return raw
    ctx = info.context or {}
    segments: set[str] = ctx.get("segments", set())
    if isinstance(raw, list):
        if not raw or not all(isinstance(x, str) for x in raw):
            fail("a list of segment names must hold at least one name")
        for name in raw:
            if name not in segments:
                fail(f"unknown segment '{name}'")
        source = " and ".join(f"segment('{name}')" for name in raw)
    elif isinstance(raw, str):
        if raw in segments:
            source = f"segment('{raw}')"
        elif _NAME.fullmatch(raw) and "-" in raw:
            fail(f"unknown segment '{raw}'")
        else:
            source = raw
    else:
        fail(f"expected a segment name, a list of them, or an expression, got {type(raw).__name__}")
    try:
        return compile_expr(source, segments, ctx.get("attributes", set()))
    except ExprError as exc:
        fail(str(exc))


class SegmentSchema(Strict):
    """`name: rule` or `name: {when: rule, description: ...}`."""

    when: Any
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, raw: Any, info: ValidationInfo) -> Any:
        # The short form's errors belong to the segment itself (segments.NAME: ...).
        return raw if isinstance(raw, dict) else {"when": compile_when(raw, info)}

    @field_validator("when")
    @classmethod
    def _compile(cls, raw: Any, info: ValidationInfo) -> Compiled:
        return compile_when(raw, info)

    def runtime(self, name: str) -> Segment:
        return Segment(name, self.when, self.description)


class ArmSchema(Strict):
    name: str
    weight: between(0, 1e6) = 1.0  # type: ignore[valid-type]
    block: Any = None  # none: the slot's later variants decide (a holdout for personalization)


EXPERIMENT_STATUSES = ("draft", "running", "paused", "stopped")


def _instant(raw: Any) -> float | None:
    """A date (midnight UTC) or an RFC 3339 date-time, as Unix seconds."""
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        return (raw if raw.tzinfo else raw.replace(tzinfo=dt.UTC)).timestamp()
    if isinstance(raw, dt.date):
        return dt.datetime(raw.year, raw.month, raw.day, tzinfo=dt.UTC).timestamp()
    if isinstance(raw, str):
        try:
            when = dt.datetime.fromisoformat(raw)
        except ValueError:
            pass
        else:
            return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()
    fail(f"must be a date (2026-01-31) or a date-time with offset, got {raw!r}")
    return None


class ExperimentSchema(Strict):
    key: str
    holdout: between(0, 0.99) = 0.0  # type: ignore[valid-type]
    arms: list[ArmSchema]
    status: Literal["draft", "running", "paused", "stopped"] = "running"
    winner: str | None = None
    start: Any = None
    end: Any = None
    traffic: between(0, 1) = 1.0  # type: ignore[valid-type]
    window_days: between(0.01, 365) = 7.0  # type: ignore[valid-type]

    @field_validator("start")
    @classmethod
    def _start(cls, raw: Any) -> float | None:
        return _instant(raw)

    @field_validator("end")
    @classmethod
    def _end(cls, raw: Any, info: ValidationInfo) -> float | None:
        end, start = _instant(raw), info.data.get("start")
        if end is not None and start is not None and end <= start:
            fail("must be after start")
        return end

    @field_validator("winner")
    @classmethod
    def _winner(cls, winner: str | None, info: ValidationInfo) -> str | None:
        names = [a.name for a in info.data.get("arms") or []]
        if winner is not None and names and winner not in names:
            fail(f"unknown arm '{winner}'; one of {', '.join(names)}")
        return winner

    @field_validator("arms")
    @classmethod
    def _arms(cls, arms: list[ArmSchema]) -> list[ArmSchema]:
        if not arms:
            fail("needs at least one arm")
        check_unique([a.name for a in arms], "arm name")
        if sum(a.weight for a in arms) <= 0:
            fail("weights must add up to more than 0")
        return arms

    def runtime(self) -> Experiment:
        arms = tuple(Arm(a.name, a.weight, a.block) for a in self.arms)
        return Experiment(
            self.key, self.holdout, arms, self.status, self.winner, self.start, self.end, self.traffic, self.window_days
        )


class VariantSchema(Strict):
    id: str | None = None
    when: Any = None
    block: Any = None
    experiment: ExperimentSchema | None = None
    bandit: BanditSchema | None = None

    @field_validator("when")
    @classmethod
    def _compile(cls, raw: Any, info: ValidationInfo) -> Compiled:
        return compile_when(raw, info)

    @model_validator(mode="after")
    def _one_content(self) -> VariantSchema:
        if [self.block is None, self.experiment is None, self.bandit is None].count(False) != 1:
            fail("needs exactly one of 'block', 'experiment' or 'bandit'")
        return self

    def runtime(self, index: int, slot: str) -> Variant:
        exp = self.experiment.runtime() if self.experiment else None
        bandit = self.bandit.runtime(slot) if self.bandit else None
        return Variant(self.id or f"v{index + 1}", self.when, block=self.block, experiment=exp, bandit=bandit)


class AuthoredSchema(Strict):
    """Who wrote a slot outside the file (a CMS, through `PUT /v1/admin/slots/{slot}`)."""

    site: str
    source: str = ""


class SlotSchema(Strict):
    description: str = ""
    authored: AuthoredSchema | None = None
    default: Any
    variants: list[VariantSchema] = Field(default_factory=list)
    budget_ms: float | None = None
    ttl: int | None = None

    @field_validator("variants")
    @classmethod
    def _unique_experiments(cls, variants: list[VariantSchema]) -> list[VariantSchema]:
        check_unique([v.experiment.key for v in variants if v.experiment], "experiment key")
        if sum(1 for v in variants if v.bandit and v.bandit.key is None) > 1:
            fail("several bandits in one slot need a 'key' each")
        return variants

    def runtime(self, name: str) -> Slot:
        variants = tuple(v.runtime(i, name) for i, v in enumerate(self.variants))
        return Slot(name, self.default, variants, self.description, self.budget_ms, self.ttl)


def check_blocks(slots: Any, ctx: dict[str, Any], errors: list[str]) -> Any:
    """Every block of every slot through `validate_block`, normalized in place; errors collected."""
    if not isinstance(slots, dict):
        return slots

    def check(holder: dict[str, Any], key: str, path: str) -> None:
        if holder.get(key) is not None:
            block = validate_block(holder[key], path, lambda p, m: errors.append(f"{p}: {m}"), ctx, required=True)
            if block is not None:
                holder[key] = block

    for name, slot in slots.items():
        if not isinstance(slot, dict):
            continue
        check(slot, "default", f"slots.{name}.default")
        variants = slot.get("variants")
        for i, variant in enumerate(variants if isinstance(variants, list) else []):
            if not isinstance(variant, dict):
                continue
            check(variant, "block", f"slots.{name}.variants[{i}].block")
            for kind in ("experiment", "bandit"):
                holder = variant.get(kind)
                arms = holder.get("arms") if isinstance(holder, dict) else None
                for j, arm in enumerate(arms if isinstance(arms, list) else []):
                    if isinstance(arm, dict):
                        check(arm, "block", f"slots.{name}.variants[{i}].{kind}.arms[{j}].block")
    return slots


def find_cycle(graph: dict[str, frozenset[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*trail, node, nxt]
            if nxt not in state:
                found = visit(nxt, [*trail, node])
                if found:
                    return found
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node, [])
            if cycle:
                return cycle
    return None
