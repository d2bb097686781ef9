# SPDX-License-Identifier: Apache-2.0
"""Bandit rewards: each viewable impression of a bandit is a pull, its attributed outcome the reward.

Folded into the visitor's attribution state (`b`: per bandit key, the visitor's latest
`MAX_VIEWS` viewable impressions `[ts, arm, bucket, event_id]`), and counted like every other
measure: the counters are a function of the state, so a reward counts once whatever the
delivery order, duplicates or delays (a late conversion moves its impression from 0 to 1).

A reward at time t belongs to the visitor's latest impression of that bandit at or before t,
when it lies within the bandit's window: a `click` carrying the bandit's key and arm (`click`
reward; the latest view of that arm, or, as client.js sends the impression only after one
visible second, the first view of that arm up to `CLICK_GRACE` seconds after the click), any
conversion, signup or purchase (`conversion`, at most 1 per impression), or the purchases'
`value` (`revenue`). Counters, scope `bandit|KEY`, keys
`arm\\x1fbucket\\x1fday\\x1fstat` with stat `pulls`, `sum`, `sumsq` (the UTC day of the
impression, so a reader can discount old days); impressions naming an arm the configuration
does not have add to `\\x1f\\x1f\\x1funknown_arm` instead.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

DAY = 86400.0
MAX_VIEWS = 200
MAX_BANDITS = 20
CLICK_GRACE = 5.0
UNKNOWN_ARM = "\x1f\x1f\x1funknown_arm"
STATS = ("pulls", "sum", "sumsq")


@dataclass(frozen=True)
class BanditRule:
    """What one bandit learns from: the reward kind, the window (seconds) and its arms."""

    reward: str
    window: float
    arms: frozenset[str]
    contextual: bool = False
    """Only a contextual bandit keeps counters per bucket (a bucket sent to another is dropped)."""


def scope(key: str) -> str:
    return "bandit|" + key


def record(state: dict[str, Any], ts: float, key: str, arm: str, bucket: str, event_id: str) -> None:
    """Add one viewable impression (deduplicated by the store) to the state, keeping the latest."""
    views = state.setdefault("b", {})
    mine = views.get(key)
    if mine is None:
        if len(views) >= MAX_BANDITS:
            return
        mine = views[key] = []
    item = [ts, arm, bucket, event_id]
    if item in mine:
        return
    bisect.insort(mine, item)
    if len(mine) > MAX_VIEWS:
        del mine[0]  # a visitor counts with their latest views: no one visitor can steer a bandit


def _click_view(views: list[list[Any]], times: list[float], ts: float, arm: Any) -> int:
    """The view a click belongs to: the latest view of its arm at or before it, else (client.js
    sends the impression after a visible second) the first view of its arm within CLICK_GRACE after."""
    i = bisect.bisect_right(times, ts)
    for j in range(i - 1, -1, -1):
        if arm is None or views[j][1] == arm:
            return j
    for j in range(i, len(views)):
        if times[j] > ts + CLICK_GRACE:
            break
        if arm is None or views[j][1] == arm:
            return j
    return -1


def rewards(views: list[list[Any]], outcomes: list[list[Any]], key: str, rule: BanditRule) -> list[float]:
    """The reward of each view (same order) from the visitor's outcomes and clicks."""
    times = [v[0] for v in views]
    out = [0.0] * len(views)
    for outcome in outcomes:
        ts, etype, value, experiment = outcome[0], outcome[1], outcome[2], outcome[3]
        if etype == "click":
            if rule.reward != "click" or experiment != key:
                continue
            j = _click_view(views, times, ts, outcome[6] if len(outcome) > 6 else None)
            if j >= 0 and ts - times[j] <= rule.window:
                out[j] = 1.0
            continue
        if rule.reward == "click" or (rule.reward == "revenue" and etype != "purchase"):
            continue
        j = bisect.bisect_right(times, ts) - 1
        if j < 0 or ts - times[j] > rule.window:
            continue
        if rule.reward == "revenue":
            out[j] += float(value)
        else:
            out[j] = 1.0
    return out


def visitor_counts(state: dict[str, Any], bandits: dict[str, BanditRule], counts: dict[tuple[str, str], float]) -> None:
    for key, views in (state.get("b") or {}).items():
        rule = bandits.get(key)
        if rule is None or not views:
            continue  # a bandit no longer configured: its views stay in the state, uncounted
        where = scope(key)
        for (ts, arm, bucket, _id), reward in zip(views, rewards(views, state["o"], key, rule), strict=True):
            if arm not in rule.arms:
                counts[(where, UNKNOWN_ARM)] = counts.get((where, UNKNOWN_ARM), 0.0) + 1.0
                continue
            prefix = f"{arm}\x1f{bucket if rule.contextual else ''}\x1f{int(ts // DAY)}\x1f"
            for stat, value in (("pulls", 1.0), ("sum", reward), ("sumsq", reward * reward)):
                if value:
                    counts[(where, prefix + stat)] = counts.get((where, prefix + stat), 0.0) + value


def parse_key(name: str) -> tuple[str, str, int, str] | None:
    """(arm, bucket, day, stat) of a counter key, or None for other keys."""
    parts = name.split("\x1f")
    if len(parts) != 4 or not parts[0] or parts[3] not in STATS:
        return None
    try:
        return parts[0], parts[1], int(parts[2]), parts[3]
    except ValueError:
        return None
