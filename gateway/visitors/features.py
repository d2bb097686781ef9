# SPDX-License-Identifier: Apache-2.0
"""Per-visitor features: ONE definition, used offline (models/) and online (gateway).

Both sides read a visitor `Profile` (gateway/profiles.py): online the store's, offline one
rebuilt from the events file with the same fold (`profiles_from_events`). `feature_vector`
turns a profile into the float32 row the ONNX segment and propensity models read, so the
two sides cannot drift apart. Pure numpy and stdlib: the gateway never imports scikit-learn.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from slotwise.gateway.common.vocabulary import DAYPARTS
from slotwise.gateway.common.vocabulary import DEVICE_CLASSES as DEVICES
from slotwise.gateway.visitors.profiles import SESSION_GAP, WEIGHTS, Profile, rebuild

PURCHASES = frozenset({"purchase", "conversion"})
BASE_FEATURES = (
    "recency_days",
    "sessions_log",
    "events_log",
    "monetary_log",
    "purchases",
    "time_on_page_log",
    "scroll_depth",
    "engagement",
    "cart_size",
    "session_minutes",
    "session_item_views",
    "session_add_to_cart",
    *(f"device_{d}" for d in DEVICES),
    *(f"daypart_{d}" for d in DAYPARTS),
)
NO_HISTORY_DAYS = 365.0


def event_ts(raw: Any) -> float:
    """Unix seconds from a number or RFC 3339 text (offline files carry RFC 3339)."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, str):
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00")).timestamp()
        except ValueError:
            pass
    raise ValueError(f"event 'ts' is neither unix seconds nor RFC 3339: {str(raw)[:40]!r}")


def foldable(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Events the profile fold accepts: known type, unix `ts`, an `event_id` (made up if absent)."""
    out = []
    for n, e in enumerate(events):
        if e.get("type") not in WEIGHTS or not e.get("visitor_id"):
            continue
        ev = dict(e, ts=event_ts(e["ts"]))
        ev.setdefault("event_id", f"{ev['visitor_id']}#{n}")
        out.append(ev)
    return out


def profiles_from_events(events: Iterable[Mapping[str, Any]]) -> dict[str, Profile]:
    """Offline: each visitor's profile, folded exactly as the gateway's store folds it."""
    by_visitor: dict[str, list[dict[str, Any]]] = {}
    for ev in foldable(events):
        by_visitor.setdefault(str(ev["visitor_id"]), []).append(ev)
    return {v: rebuild(evs) for v, evs in by_visitor.items()}


@dataclass(frozen=True)
class FeatureSpec:
    """What a trained model expects: the interest vocabulary (categories) and IDF weights."""

    categories: tuple[str, ...] = ()
    idf: tuple[float, ...] = ()

    @property
    def names(self) -> list[str]:
        return [*BASE_FEATURES, *(f"interest_{c}" for c in self.categories)]

    def to_json(self) -> dict[str, Any]:
        return {"base": list(BASE_FEATURES), "categories": list(self.categories), "idf": list(self.idf)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeatureSpec:
        if list(data.get("base", BASE_FEATURES)) != list(BASE_FEATURES):
            raise ValueError("features.base: the bundle was trained with another feature definition")
        cats, idf = tuple(data.get("categories", ())), tuple(float(x) for x in data.get("idf", ()))
        if len(cats) != len(idf):
            raise ValueError(f"features: {len(cats)} categories but {len(idf)} idf weights")
        return cls(cats, idf)

    @classmethod
    def fit(cls, profiles: Iterable[Profile], max_categories: int = 20) -> FeatureSpec:
        docs = [p.cats for p in profiles]
        df: dict[str, int] = {}
        for d in docs:
            for c, w in d.items():
                if w > 0:
                    df[c] = df.get(c, 0) + 1
        cats = sorted(df, key=lambda c: (-df[c], c))[:max_categories]
        n = len(docs)
        return cls(tuple(cats), tuple(math.log((1 + n) / (1 + df[c])) + 1.0 for c in cats))


def feature_vector(p: Profile | None, spec: FeatureSpec, now: float) -> np.ndarray:
    """The float32 row for one visitor at time `now` (a visitor without profile: no history)."""
    if p is None or p.last_seen is None:
        base = [NO_HISTORY_DAYS] + [0.0] * (len(BASE_FEATURES) - 1)
        return np.asarray(base + [0.0] * len(spec.categories), dtype=np.float32)
    eng = p.engagement_summary()
    mean_top, scroll = float(eng["avg_time_on_page"]), float(eng["avg_scroll_depth"]) / 100.0
    start, end = p.session_list[-1] if p.session_list else (p.last_seen, p.last_seen)
    live = now - end <= SESSION_GAP
    window = now - start + 1.0

    def in_session(etype: str) -> float:
        return float(p.count_within(etype, window, now)[0]) if live else 0.0

    n_dev = sum(p.devices.get(d, 0) for d in DEVICES) or 1
    n_part = sum(p.dayparts.get(d, 0) for d in DAYPARTS) or 1
    base = [
        max(now - p.last_seen, 0.0) / 86400.0,
        math.log1p(p.sessions),
        math.log1p(sum(p.totals.values())),
        math.log1p(p.monetary),
        float(p.purchases),
        math.log1p(mean_top),
        scroll,
        math.log1p(p.sessions) + math.log1p(mean_top / 30.0) + scroll,
        float(len(p.cart)),
        (end - start) / 60.0 if live else 0.0,
        in_session("item_view"),
        in_session("add_to_cart"),
        *(p.devices.get(d, 0) / n_dev for d in DEVICES),
        *(p.dayparts.get(d, 0) / n_part for d in DAYPARTS),
    ]
    whole = sum(p.cats.values())
    tfidf = np.array(
        [
            (p.cats.get(c, 0.0) / whole if whole > 0 else 0.0) * w
            for c, w in zip(spec.categories, spec.idf, strict=False)
        ]
    )
    norm = float(np.linalg.norm(tfidf))
    if norm > 0:
        tfidf /= norm
    return np.concatenate([np.asarray(base), tfidf]).astype(np.float32)


def feature_matrix(profiles: Iterable[Profile], spec: FeatureSpec, now: float) -> np.ndarray:
    rows = [feature_vector(p, spec, now) for p in profiles]
    return np.vstack(rows) if rows else np.zeros((0, len(spec.names)), dtype=np.float32)
