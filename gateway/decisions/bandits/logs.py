# SPDX-License-Identifier: Apache-2.0
"""Logged decisions for off-policy evaluation, from a JSON-lines file of events.

Impressions carry `properties.experiment`, `properties.arm` and `properties.propensity`.
An outcome (a `click` with the same experiment for `click`; `conversion`, `signup` or `purchase`
for `conversion`; the `value` of `purchase` for `revenue`) is attributed to the visitor's latest
impression of that experiment at or before it, within `window` seconds, and counts once:
repeated event ids are read once, and a binary reward is at most 1. Events flagged as bots
(`context.bot` true) are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from slotwise.gateway.decisions.bandits.ope import Logged

OUTCOMES = {"click": ("click",), "conversion": ("conversion", "signup", "purchase"), "revenue": ("purchase",)}


def _ts(value: Any, where: str) -> float:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ValueError(f"{where}.ts: not an RFC 3339 time: {value!r}") from None


def read_logged(
    path: str | Path,
    experiment: str,
    arms: Sequence[str] | None = None,
    reward: str = "click",
    window: float = 7 * 86400.0,
) -> list[Logged]:
    """The experiment's impressions with propensities, each with its attributed reward.

    `arms` maps arm names to indexes; without it `properties.arm` must be an integer index.
    """
    if reward not in OUTCOMES:
        raise ValueError(f"reward: must be one of {', '.join(OUTCOMES)}, got {reward!r}")
    seen: set[str] = set()
    impressions: list[dict[str, Any]] = []
    outcomes: list[tuple[float, str, float]] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                raise ValueError(f"{where}: not JSON") from None
            if not isinstance(event, dict):
                raise ValueError(f"{where}: an event must be an object")
            event_id = str(event.get("event_id", ""))
            if event_id and event_id in seen:
                continue
            seen.add(event_id)
            context = event.get("context") or {}
            if isinstance(context, dict) and context.get("bot"):
                continue
            props = event.get("properties") or {}
            kind = event.get("type")
            if kind == "impression" and props.get("experiment") == experiment:
                if "propensity" not in props:
                    raise ValueError(
                        f"{where}.properties.propensity: missing (the bandit logs it with each impression)"
                    )
                arm = props.get("arm")
                if arms is not None:
                    if arm not in arms:
                        raise ValueError(f"{where}.properties.arm: {arm!r} is not one of {list(arms)}")
                    arm = list(arms).index(str(arm))
                impressions.append(
                    {"ts": _ts(event.get("ts"), where), "visitor": event.get("visitor_id"), "arm": arm,
                     "propensity": props["propensity"], "context": context, "reward": 0.0}
                )  # fmt: skip
            elif kind in OUTCOMES[reward] and (reward != "click" or props.get("experiment") == experiment):
                value = float(event.get("value") or 0.0) if reward == "revenue" else 1.0
                outcomes.append((_ts(event.get("ts"), where), str(event.get("visitor_id")), value))
    by_visitor: dict[str, list[dict[str, Any]]] = {}
    for imp in sorted(impressions, key=lambda i: i["ts"]):
        by_visitor.setdefault(str(imp["visitor"]), []).append(imp)
    for ts, visitor, value in outcomes:
        latest = None
        for imp in by_visitor.get(visitor, ()):
            if imp["ts"] > ts:
                break
            latest = imp
        if latest is not None and ts - latest["ts"] <= window:
            latest["reward"] = min(1.0, latest["reward"] + value) if reward != "revenue" else latest["reward"] + value
    return [Logged(i["context"], i["arm"], i["propensity"], i["reward"]) for i in impressions]
