# SPDX-License-Identifier: Apache-2.0
"""Attribution: a visitor's measurement state, and which exposures each outcome belongs to.

The state is a function of the *set* of the visitor's events, never of their order, so the
aggregates built from it incrementally equal those rebuilt from the event log (events may
arrive late, shuffled or twice). It holds, for visitors with profiling consent only:

- `x`: per experiment, the first exposure `[ts, arm, slot, event_id]` (the assignment, intention
  to treat: the earliest exposure wins, whatever the visitor saw later);
- `s`: per `slot\\x1fvariant`, the exposure times (the latest `MAX_SEEN` kept) and segments;
- `o`: outcomes and clicks `[ts, type, value, experiment, slot, event_id]`, a bandit's clicks with
  the arm appended (latest `MAX_OUTCOMES`);
- `d`: the UTC days the visitor was active;
- `b`: per bandit, the latest viewable impressions (see `measure.bandit_rewards`).

An outcome (`conversion`, `signup`, `purchase`) at time t belongs to an experiment assigned at
t0 when t0 ≤ t ≤ t0 + window (the experiment's window, default 7 days), and to every slot
variant the visitor was exposed to in [t − window, t].
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from slotwise.gateway.common import jsoncodec
from slotwise.gateway.measure import bandit_rewards
from slotwise.gateway.measure.bandit_rewards import BanditRule
from slotwise.gateway.measure.exposures import OUTCOMES, exposure_of, number

DAY = 86400.0
DEFAULT_WINDOW = 7 * DAY
MAX_SEEN = 100
MAX_KEYS = 100
MAX_OUTCOMES = 500
MAX_DAYS = 400
MAX_EXPERIMENTS = 100
EXPERIMENT_METRICS = ("conversion", "purchase", "signup", "revenue", "clicks")
BINOMIAL = frozenset({"conversion", "purchase", "signup"})


@dataclass(frozen=True)
class MeasureSettings:
    """Attribution windows in seconds: per experiment key, and for slot variants."""

    windows: dict[str, float] = field(default_factory=dict)
    default_window: float = DEFAULT_WINDOW
    bandits: dict[str, BanditRule] = field(default_factory=dict)
    """Per bandit key: its reward kind, window and arms (`measure.bandit_rewards`)."""

    def window(self, key: str) -> float:
        return self.windows.get(key, self.default_window)


def empty() -> dict[str, Any]:
    return {"x": {}, "s": {}, "o": [], "d": []}


def loads(body: str | None) -> dict[str, Any]:
    return jsoncodec.loads(body) if body else empty()


def dumps(state: dict[str, Any]) -> str:
    return jsoncodec.dumps(state)


def _order(item: Any) -> Any:
    """A sort key for a record (a list of numbers, strings and None) or a number: None sorts
    before any value, so two clicks at the same second, one of an experiment and one not, compare
    (Python cannot compare None with a string)."""
    if isinstance(item, list):
        return [(value is not None, value) for value in item]
    return item


def _insort_capped(items: list[Any], item: Any, cap: int) -> bool:
    """Keep the `cap` largest items, sorted: the same result whatever the insertion order.
    False when `items` is unchanged (the item was there, or falls below the cap)."""
    if item in items:
        return False
    bisect.insort(items, item, key=_order)
    if len(items) > cap:
        return items.pop(0) is not item
    return True


_PARSE = object()


def fold(state: dict[str, Any], event: dict[str, Any], exposure: Any = _PARSE) -> bool:
    """Add one (new, deduplicated) event to the state (`exposure`: `exposure_of(event)` if known).

    Returns False only when the state is unchanged (most page views and item views of a known
    visitor on a known day): its contribution to the counters is then unchanged too. True may
    be conservative; False must never be."""
    ts = float(event["ts"])
    day = int(ts // DAY)
    changed = False
    if not state["d"] or state["d"][-1] != day:
        changed = _insort_capped(state["d"], day, MAX_DAYS)
    etype = event["type"]
    if exposure is _PARSE:
        exposure = exposure_of(event)
    if exposure is not None:
        bandit = exposure.propensity is not None  # a bandit's choice is per view, not an assignment
        if exposure.experiment is not None and not bandit:
            current = state["x"].get(exposure.experiment)
            first = [ts, exposure.arm, exposure.slot, event["event_id"]]
            earlier = current is not None and _order(first) < _order(current)
            if (current is None and len(state["x"]) < MAX_EXPERIMENTS) or earlier:
                state["x"][exposure.experiment] = first
                changed = True
        if etype == "impression":
            key = f"{exposure.slot}\x1f{exposure.variant}"
            seen = state["s"].get(key)
            if seen is None and len(state["s"]) < MAX_KEYS:
                seen = state["s"][key] = {"t": [], "g": []}
                changed = True
            if seen is not None:
                changed = _insort_capped(seen["t"], ts, MAX_SEEN) or changed
                segments = sorted(set(seen["g"]) | set(exposure.segments))[:5]
                changed = changed or segments != seen["g"]
                seen["g"] = segments
            if bandit and exposure.experiment is not None and exposure.kind == "viewable":
                changed = True  # conservative: the view may be a repeat or fall below the cap
                bandit_rewards.record(
                    state, ts, exposure.experiment, exposure.arm or "", exposure.bucket, event["event_id"]
                )
        else:
            record = [ts, "click", 0.0, exposure.experiment, exposure.slot, event["event_id"]]
            if bandit:
                record.append(exposure.arm)  # a bandit's click belongs to a view of the same arm
            changed = _insort_capped(state["o"], record, MAX_OUTCOMES) or changed
    elif etype in OUTCOMES:
        value = number(event.get("value"), 0.0, 1e9) if etype == "purchase" else None
        record = [ts, etype, value or 0.0, None, None, event["event_id"]]
        changed = _insort_capped(state["o"], record, MAX_OUTCOMES) or changed
    return changed


def build(events: Iterable[dict[str, Any]]) -> dict[str, Any]:
    state = empty()
    for event in events:
        fold(state, event)
    return state


def _values(outcomes: list[list[Any]], key: str, lo: float, hi: float) -> dict[str, float]:
    values = dict.fromkeys(EXPERIMENT_METRICS, 0.0)
    for outcome in outcomes:
        ts, etype, value, experiment = outcome[0], outcome[1], outcome[2], outcome[3]
        if not lo <= ts <= hi:
            continue
        if etype == "click":
            if experiment == key:
                values["clicks"] += 1.0
            continue
        values["conversion"] = 1.0
        values[etype] = 1.0
        if etype == "purchase":
            values["revenue"] += value
    return values


def experiment_values(
    state: dict[str, Any], key: str, window: float
) -> tuple[str, dict[str, float], dict[str, float]] | None:
    """The visitor's arm, each metric after assignment, and the same metric in the window before."""
    first = state["x"].get(key)
    if first is None:
        return None
    t0, arm = first[0], first[1]
    after = _values(state["o"], key, t0, t0 + window)
    # The covariate is strictly before assignment, so the exposure can not have caused it.
    before = _values([o for o in state["o"] if o[0] < t0], key, t0 - window, t0)
    return arm, after, before


def variant_outcomes(state: dict[str, Any], window: float) -> list[tuple[list[Any], list[tuple[str, str, list[str]]]]]:
    """Each outcome with the slot variants it is attributed to (seen within the window before it)."""
    out = []
    for outcome in state["o"]:
        ts, etype = outcome[0], outcome[1]
        if etype == "click":
            continue
        hits = []
        for key, seen in state["s"].items():
            times = seen["t"]
            i = bisect.bisect_right(times, ts)
            if i and times[i - 1] >= ts - window:
                slot, _, variant = key.partition("\x1f")
                hits.append((slot, variant, seen["g"]))
        out.append((outcome, hits))
    return out


def settings_from_config(config: Any) -> MeasureSettings:
    """The attribution windows of every experiment, and the reward rules of every bandit."""
    windows = {}
    bandits = {}
    for slot in config.slots.values():
        for variant in slot.variants:
            exp = variant.experiment
            if exp is not None:
                windows[exp.key] = float(getattr(exp, "window_days", 7.0)) * DAY
            bandit = getattr(variant, "bandit", None)
            if bandit is not None:
                bandits[bandit.key] = BanditRule(
                    bandit.reward,
                    bandit.window_days * DAY,
                    frozenset(bandit.arm_names),
                    bandit.policy == "contextual_thompson",
                )
    return MeasureSettings(windows=windows, bandits=bandits)
