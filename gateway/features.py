"""Per-visitor features: ONE definition, used offline (models/) and online (gateway).

Offline, training folds a visitor's events into a `VisitorSummary`; online, the same summary
comes from the visitor's profile (`summary_from_profile`). `feature_vector` turns a summary into
the float32 row the ONNX segment and propensity models read, so both sides cannot drift apart.
Pure numpy and stdlib: the gateway never imports scikit-learn.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

import numpy as np

SESSION_GAP_S = 1800.0
DEVICES = ("mobile", "tablet", "desktop")
DAYPARTS = ("night", "morning", "afternoon", "evening")
# Strength of each event type in the interest vector (views count once, purchases most).
INTEREST_WEIGHTS = {"item_view": 1.0, "click": 1.0, "add_to_cart": 3.0, "purchase": 5.0,
                    "conversion": 5.0}
PURCHASES = {"purchase", "conversion"}
BASE_FEATURES = ("recency_days", "sessions_log", "events_log", "monetary_log", "purchases",
                 "time_on_page_log", "scroll_depth", "engagement", "cart_size",
                 "session_events_log", "session_item_views", "session_add_to_cart",
                 *(f"device_{d}" for d in DEVICES), *(f"daypart_{d}" for d in DAYPARTS))


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


def daypart_of(hour: int) -> str:
    return "night" if hour < 6 else "morning" if hour < 12 else "afternoon" if hour < 18 else "evening"


@dataclass
class VisitorSummary:
    """Running totals of one visitor's events; `add` is the only way to change them."""

    first_ts: float = 0.0
    last_ts: float = 0.0
    events: int = 0
    sessions: int = 0
    purchases: int = 0
    monetary: float = 0.0
    time_on_page: float = 0.0
    engagements: int = 0
    scroll: float = 0.0
    scrolls: int = 0
    cart: list[str] = field(default_factory=list)
    devices: dict[str, int] = field(default_factory=dict)
    dayparts: dict[str, int] = field(default_factory=dict)
    interests: dict[str, float] = field(default_factory=dict)
    session_events: int = 0
    session_item_views: int = 0
    session_add_to_cart: int = 0

    def add(self, event: Mapping[str, Any], categories_of: Callable[[str], Iterable[str]]) -> None:
        ts = event_ts(event["ts"])
        etype = str(event.get("type", ""))
        if self.events == 0 or ts - self.last_ts > SESSION_GAP_S:
            self.sessions += 1
            self.session_events = self.session_item_views = self.session_add_to_cart = 0
        if self.events == 0:
            self.first_ts = ts
        self.last_ts = max(self.last_ts, ts)
        self.events += 1
        self.session_events += 1
        ctx = event.get("context") or {}
        device = ctx.get("device")
        if device in DEVICES:
            self.devices[device] = self.devices.get(device, 0) + 1
        part = ctx.get("daypart")
        if part not in DAYPARTS:
            hour = ctx.get("hour")
            part = daypart_of(int(hour) if isinstance(hour, (int, float)) and 0 <= hour < 24
                              else datetime.fromtimestamp(ts, timezone.utc).hour)
        self.dayparts[part] = self.dayparts.get(part, 0) + 1
        item = event.get("item_id")
        if etype == "item_view":
            self.session_item_views += 1
        elif etype == "add_to_cart" and item:
            self.session_add_to_cart += 1
            if item not in self.cart:
                self.cart.append(str(item))
        elif etype == "remove_from_cart" and item in self.cart:
            self.cart.remove(str(item))
        elif etype in PURCHASES:
            self.purchases += 1
            self.monetary += max(float(event.get("value") or 0.0), 0.0)
            self.cart.clear()
        elif etype == "engagement":
            props = event.get("properties") or {}
            top = props.get("time_on_page", props.get("seconds"))
            if isinstance(top, (int, float)) and top >= 0:
                self.time_on_page += float(top)
                self.engagements += 1
            depth = props.get("scroll_depth", props.get("scroll"))
            if isinstance(depth, (int, float)) and depth >= 0:
                self.scroll += float(depth) / 100.0 if depth > 1 else float(depth)
                self.scrolls += 1
        weight = INTEREST_WEIGHTS.get(etype)
        if weight and item:
            for cat in categories_of(str(item)):
                self.interests[cat] = self.interests.get(cat, 0.0) + weight


def summarize(events: Iterable[Mapping[str, Any]],
              categories_of: Callable[[str], Iterable[str]]) -> dict[str, VisitorSummary]:
    """Offline: one summary per visitor, events folded in time order."""
    out: dict[str, VisitorSummary] = {}
    for ev in sorted(events, key=lambda e: event_ts(e["ts"])):
        out.setdefault(str(ev["visitor_id"]), VisitorSummary()).add(ev, categories_of)
    return out


@dataclass(frozen=True)
class FeatureSpec:
    """What a trained model expects: the interest vocabulary and its IDF weights."""

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
            raise ValueError("bundle was trained with a different feature definition (features.base)")
        cats, idf = tuple(data.get("categories", ())), tuple(float(x) for x in data.get("idf", ()))
        if len(cats) != len(idf):
            raise ValueError(f"features: {len(cats)} categories but {len(idf)} idf weights")
        return cls(cats, idf)

    @classmethod
    def fit(cls, summaries: Iterable[VisitorSummary], max_categories: int = 50) -> FeatureSpec:
        docs = [s.interests for s in summaries]
        df: dict[str, int] = {}
        for d in docs:
            for c in d:
                df[c] = df.get(c, 0) + 1
        cats = sorted(df, key=lambda c: (-df[c], c))[:max_categories]
        n = len(docs)
        return cls(tuple(cats), tuple(math.log((1 + n) / (1 + df[c])) + 1.0 for c in cats))


def feature_vector(s: VisitorSummary, spec: FeatureSpec, now: float) -> np.ndarray:
    """The float32 row for one visitor at time `now`."""
    mean_top = s.time_on_page / s.engagements if s.engagements else 0.0
    mean_scroll = s.scroll / s.scrolls if s.scrolls else 0.0
    engagement = math.log1p(s.sessions) + math.log1p(mean_top / 30.0) + mean_scroll
    n_dev = sum(s.devices.values()) or 1
    n_part = sum(s.dayparts.values()) or 1
    base = [
        max(now - s.last_ts, 0.0) / 86400.0 if s.events else 365.0,
        math.log1p(s.sessions), math.log1p(s.events), math.log1p(s.monetary), float(s.purchases),
        math.log1p(mean_top), mean_scroll, engagement, float(len(s.cart)),
        math.log1p(s.session_events), float(s.session_item_views), float(s.session_add_to_cart),
        *(s.devices.get(d, 0) / n_dev for d in DEVICES),
        *(s.dayparts.get(d, 0) / n_part for d in DAYPARTS),
    ]
    tfidf = np.array([math.log1p(s.interests.get(c, 0.0)) * w for c, w in zip(spec.categories, spec.idf)])
    norm = float(np.linalg.norm(tfidf))
    if norm > 0:
        tfidf /= norm
    return np.concatenate([np.asarray(base), tfidf]).astype(np.float32)


def feature_matrix(summaries: Iterable[VisitorSummary], spec: FeatureSpec, now: float) -> np.ndarray:
    rows = [feature_vector(s, spec, now) for s in summaries]
    return np.vstack(rows) if rows else np.zeros((0, len(spec.names)), dtype=np.float32)


def summary_from_profile(profile: Any) -> VisitorSummary | None:
    """Online: the visitor's summary as kept with the profile, or None for a new visitor.

    Profiles keep the running `VisitorSummary` (as an object or its dict) under `features`;
    failing that, a profile exposing its raw `events` is folded here the same way.
    """
    if profile is None:
        return None
    kept = getattr(profile, "features", None)
    if isinstance(kept, VisitorSummary):
        return kept
    if isinstance(kept, Mapping):
        return VisitorSummary(**{k: v for k, v in kept.items() if k in VisitorSummary.__dataclass_fields__})
    events = getattr(profile, "events", None)
    if events:
        catalog = getattr(profile, "categories_of", None) or (lambda _i: ())
        s = VisitorSummary()
        for ev in sorted(events, key=lambda e: event_ts(e["ts"])):
            s.add(ev, catalog)
        return s
    return None
