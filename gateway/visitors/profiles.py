# SPDX-License-Identifier: Apache-2.0
"""Visitor profiles: an incremental fold of events that does not depend on arrival order.

Every part of the state is a function of the *set* of events folded in (sums, minima, maxima,
latest-by-(ts, event_id), intervals merged by gap), so folding in any order gives what a rebuild
from the log gives, up to float rounding in the decayed scores. Duplicates are the store's job
(it folds an event only when its event_id is new). Pure Python, JSON-serializable: `models/` replays files through it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from slotwise.gateway.common.eventlog import read_event_lines
from slotwise.gateway.common.jsoncodec import dumps, loads

SESSION_GAP = 1800.0
HALF_LIFE = 7 * 86400.0
RECENT_MAX = 20
ITEMS_MAX = 200
CART_MAX = 200
FEEDBACK_MAX = 200
# Bucket tiers: (width s, kept at this width while younger than s before last_seen).
TIERS = ((60, 7200.0), (3600, 32 * 86400.0), (86400, math.inf))
WEIGHTS = {
    "page_view": 0.5,
    "item_view": 1.0,
    "click": 1.0,
    "add_to_cart": 3.0,
    "purchase": 5.0,
    "conversion": 2.0,
    "signup": 0.0,
    "engagement": 0.5,
    "impression": 0.0,
    "remove_from_cart": 0.0,
    "feedback": 0.0,
}


def _cents(value: Any) -> int:
    return round(float(value) * 100) if isinstance(value, (int, float)) else 0


def _strings(value: Any, limit: int = 10) -> list[str]:
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        value = value[0]  # the common cases, one name, without a set and a sort:
    if isinstance(value, str):
        return [value[:100]] if value else []
    if not isinstance(value, list):
        return []
    return sorted({v[:100] for v in value if isinstance(v, str) and v})[:limit]


class Profile:
    """One visitor's profile. Read-only properties serve expressions and strategies."""

    def __init__(self, state: dict[str, Any] | None = None):
        s = state or {}
        self.first_seen: float | None = s.get("first_seen")
        self.last_seen: float | None = s.get("last_seen")
        # Latest-by-(ts, event_id) values: [ts, event_id, value].
        self.device_at: list[Any] = s.get("device") or [-math.inf, "", None]
        self.country_at: list[Any] = s.get("country") or [-math.inf, "", None]
        self.totals: dict[str, int] = s.get("totals", {})
        self.buckets: dict[str, list[dict[int, int]]] = {
            t: [{int(k): v for k, v in tier.items()} for tier in tiers] for t, tiers in s.get("buckets", {}).items()
        }
        self.session_list: list[list[float]] = s.get("sessions", [])
        self.cats: dict[str, float] = s.get("cats", {})
        self.tags: dict[str, float] = s.get("tags", {})
        self.item_scores: dict[str, float] = s.get("items", {})
        self.recent: dict[str, float] = s.get("recent", {})
        # JSON has no -inf: state() writes null, read back here.
        self.cart_lines: dict[str, list[float]] = {
            k: [-math.inf if a is None else a, -math.inf if r is None else r] for k, (a, r) in s.get("cart", {}).items()
        }
        pts = s.get("purchase_ts")
        self.purchase_ts: float = -math.inf if pts is None else pts
        self.purchases: int = s.get("purchases", 0)
        self.monetary_cents: int = s.get("monetary_cents", 0)
        self.conversion_cents: int = s.get("conversion_cents", 0)
        self.engagement: dict[str, int] = s.get("engagement", {"n": 0, "ms": 0, "scroll": 0, "max_scroll": 0})
        self.devices: dict[str, int] = s.get("devices", {})
        self.dayparts: dict[str, int] = s.get("dayparts", {})
        self.email: list[Any] = s.get("email") or [-math.inf, "", None]
        # Latest rating per item, [ts, event_id, rating]: the fold order does not matter.
        self.feedback: dict[str, list[Any]] = s.get("feedback", {})

    # --- folding ---------------------------------------------------------------------------

    def fold(self, e: dict[str, Any]) -> None:
        ts: float = e["ts"]
        etype: str = e["type"]
        ctx = e.get("context") or {}
        props = e.get("properties") or {}
        item = e.get("item_id")
        self.first_seen = ts if self.first_seen is None else min(self.first_seen, ts)
        if self.last_seen is None or ts > self.last_seen:
            self._advance(ts)
        key = [ts, e["event_id"]]
        if ctx.get("device") and key > self.device_at[:2]:
            self.device_at = [ts, e["event_id"], ctx["device"]]
        if ctx.get("country") and key > self.country_at[:2]:
            self.country_at = [ts, e["event_id"], ctx["country"]]
        self.totals[etype] = self.totals.get(etype, 0) + 1
        self._bucket(etype, ts)
        self._session(ts)
        if ctx.get("device"):
            self.devices[ctx["device"]] = self.devices.get(ctx["device"], 0) + 1
        if ctx.get("daypart"):
            self.dayparts[ctx["daypart"]] = self.dayparts.get(ctx["daypart"], 0) + 1
        weight = WEIGHTS.get(etype, 0.0) * 0.5 ** ((self.last_seen - ts) / HALF_LIFE)  # type: ignore[operator]
        if weight > 0:
            for c in _strings(props.get("categories")):
                self.cats[c] = self.cats.get(c, 0.0) + weight
            for t in _strings(props.get("tags")):
                self.tags[t] = self.tags.get(t, 0.0) + weight
            if item:
                self.item_scores[item] = self.item_scores.get(item, 0.0) + weight
                self._cap(self.item_scores, ITEMS_MAX)
        if (
            item
            and etype in {"item_view", "click", "add_to_cart", "purchase"}
            and ts > self.recent.get(item, -math.inf)
        ):
            self.recent[item] = ts
            self._cap(self.recent, RECENT_MAX)
        if etype in {"add_to_cart", "remove_from_cart"} and item:
            line = self.cart_lines.setdefault(item, [-math.inf, -math.inf])
            i = 0 if etype == "add_to_cart" else 1
            line[i] = max(line[i], ts)
            self._cap(self.cart_lines, CART_MAX, key=lambda k: max(self.cart_lines[k]))
        if etype == "purchase":
            self.purchase_ts = max(self.purchase_ts, ts)
            self.purchases += 1
            self.monetary_cents += _cents(e.get("value"))
        elif etype == "conversion":
            self.conversion_cents += _cents(e.get("value"))
        elif etype == "engagement":
            self._engagement(props)
        if etype == "feedback" and item and key > self.feedback.get(item, [-math.inf, ""])[:2]:
            self.feedback[item] = [ts, e["event_id"], props.get("rating")]
            self._cap(self.feedback, FEEDBACK_MAX, key=lambda k: self.feedback[k][:2])
        if isinstance(props.get("email_sha256"), str) and key > self.email[:2]:
            self.email = [ts, e["event_id"], props["email_sha256"][:128]]

    def _advance(self, ts: float) -> None:
        """A newer event: rescale decayed scores to the new reference time, coarsen buckets."""
        if self.last_seen is not None:
            factor = 0.5 ** ((ts - self.last_seen) / HALF_LIFE)
            for scores in (self.cats, self.tags, self.item_scores):
                for k in scores:
                    scores[k] *= factor
        self.last_seen = ts
        for tiers in self.buckets.values():
            for i in range(len(TIERS) - 1):
                width, keep = TIERS[i]
                limit = (ts - keep) // width
                for b in [b for b in tiers[i] if b < limit]:
                    n = tiers[i].pop(b)
                    start = b * width
                    j = self._tier_of(start)
                    nb = int(start // TIERS[j][0])
                    tiers[j][nb] = tiers[j].get(nb, 0) + n

    def _tier_of(self, ts: float) -> int:
        """The finest tier whose horizon (back from last_seen) holds the bucket of `ts`."""
        ref = self.last_seen if self.last_seen is not None else ts
        for i, (width, keep) in enumerate(TIERS):
            if math.isinf(keep) or ts // width >= (ref - keep) // width:
                return i
        return len(TIERS) - 1

    def _put(self, tiers: list[dict[int, int]], ts: float) -> None:
        i = self._tier_of(ts)
        b = int(ts // TIERS[i][0])
        tiers[i][b] = tiers[i].get(b, 0) + 1

    def _bucket(self, etype: str, ts: float) -> None:
        tiers = self.buckets.get(etype)
        if tiers is None:
            tiers = self.buckets[etype] = [{} for _ in TIERS]
        self._put(tiers, ts)

    def _session(self, ts: float) -> None:
        s = self.session_list
        end = ts + SESSION_GAP  # mostly the event belongs at the end: no list of starts to build
        i = len(s) if not s or s[-1][0] <= end else bisect.bisect_right(s, end, key=itemgetter(0))
        j = i
        while j > 0 and s[j - 1][1] >= ts - SESSION_GAP:
            j -= 1
        if j == i:
            s.insert(i, [ts, ts])
            return
        merged = [min(s[j][0], ts), max(max(x[1] for x in s[j:i]), ts)]
        s[j:i] = [merged]

    def _engagement(self, props: dict[str, Any]) -> None:
        top = props.get("time_on_page")
        depth = props.get("scroll_depth")
        g = self.engagement
        g["n"] += 1
        if isinstance(top, (int, float)) and not isinstance(top, bool) and 0 <= top <= 86400:
            g["ms"] += round(top * 1000)
        if isinstance(depth, (int, float)) and not isinstance(depth, bool) and 0 <= depth <= 100:
            pct = round(depth * 100 if depth <= 1 and isinstance(depth, float) else depth)
            g["scroll"] += pct
            g["max_scroll"] = max(g["max_scroll"], pct)

    @staticmethod
    def _cap(d: dict[str, Any], limit: int, key: Any = None) -> None:
        if len(d) > limit:  # by default the least (value, key): compared in C, no key function
            del d[min(d, key=key) if key else min(zip(d.values(), d.keys(), strict=True))[1]]

    # --- reading ---------------------------------------------------------------------------

    def count_within(self, etype: str, seconds: float, now: float) -> tuple[int, float]:
        """Events of `etype` in the window ending at `now`, and when that count next drops.

        A bucket counts while `now < bucket_end + seconds`, so an event stays in the window
        at most one bucket width longer than exact (a minute in the last two hours).
        """
        tiers = self.buckets.get(etype)
        if not tiers:
            return 0, math.inf
        total, nxt = 0, math.inf
        for (width, _), tier in zip(TIERS, tiers, strict=False):
            for b, n in tier.items():
                leaves = (b + 1) * width + seconds
                if now < leaves:
                    total += n
                    if leaves < nxt:
                        nxt = leaves
        return total, nxt

    def total(self, etype: str) -> int:
        return self.totals.get(etype, 0)

    def recency_days(self, now: float) -> tuple[int | None, float]:
        if self.last_seen is None:
            return None, math.inf
        days = max(0, int((now - self.last_seen) // 86400))
        return days, self.last_seen + (days + 1) * 86400

    def affinity(self, kind: str, name: str) -> float:
        """Share of the visitor's decayed interest in this category or tag, 0..1."""
        scores = self.cats if kind == "category" else self.tags
        whole = sum(scores.values())
        return scores.get(name, 0.0) / whole if whole > 0 else 0.0

    @property
    def sessions(self) -> int:
        return len(self.session_list)

    @property
    def returning(self) -> bool:
        return len(self.session_list) > 1

    @property
    def frequency(self) -> int:
        return self.purchases

    @property
    def monetary(self) -> float:
        return self.monetary_cents / 100

    @property
    def lifetime_value(self) -> float:
        return (self.monetary_cents + self.conversion_cents) / 100

    @property
    def recent_items(self) -> list[str]:
        return [k for k, _ in sorted(self.recent.items(), key=lambda kv: (-kv[1], kv[0]))]

    @property
    def hidden_items(self) -> frozenset[str]:
        """Items the visitor rated `down` or `not_interested` (latest rating): never recommended."""
        return frozenset(k for k, (_, _, rating) in self.feedback.items() if rating in ("down", "not_interested"))

    @property
    def items(self) -> dict[str, float]:
        return dict(self.item_scores)

    @property
    def cart(self) -> list[str]:
        inside = [(add, k) for k, (add, rem) in self.cart_lines.items() if add > max(rem, self.purchase_ts)]
        return [k for _, k in sorted(inside, reverse=True)]

    @property
    def device(self) -> str | None:
        value: str | None = self.device_at[2]
        return value

    @property
    def country(self) -> str | None:
        value: str | None = self.country_at[2]
        return value

    @property
    def email_sha256(self) -> str | None:
        value: str | None = self.email[2]
        return value

    def engagement_summary(self) -> dict[str, float]:
        g = self.engagement
        n = max(g["n"], 1)
        return {
            "events": g["n"],
            "avg_time_on_page": g["ms"] / 1000 / n,
            "avg_scroll_depth": g["scroll"] / n,
            "max_scroll_depth": g["max_scroll"],
        }

    # --- serialization -----------------------------------------------------------------------

    def state(self, str_keys: bool = True) -> dict[str, Any]:
        """JSON-ready; `str_keys=False` keeps bucket numbers as integers (for `to_json`: no copy)."""

        def inf(x: float) -> float | None:
            return None if math.isinf(x) else x

        buckets = self.buckets
        return {
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "device": self.device_at if self.device_at[2] else None,
            "country": self.country_at if self.country_at[2] else None,
            "totals": self.totals,
            "buckets": {t: [{str(k): v for k, v in tier.items()} for tier in tiers] for t, tiers in buckets.items()}
            if str_keys
            else buckets,
            "sessions": self.session_list,
            "cats": self.cats,
            "tags": self.tags,
            "items": self.item_scores,
            "recent": self.recent,
            "cart": {k: [inf(a), inf(r)] for k, (a, r) in self.cart_lines.items()},
            "purchase_ts": inf(self.purchase_ts),
            "purchases": self.purchases,
            "monetary_cents": self.monetary_cents,
            "conversion_cents": self.conversion_cents,
            "engagement": self.engagement,
            "devices": self.devices,
            "dayparts": self.dayparts,
            "email": self.email if self.email[2] else None,
            **({"feedback": self.feedback} if self.feedback else {}),
        }

    def to_json(self) -> str:
        return dumps(self.state(str_keys=False), int_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Profile:
        return cls(loads(text))

    def describe(self, now: float) -> dict[str, Any]:
        """The visitor's own view (GET /v1/visitors/{id}) and the admin's."""
        spans = (("1h", 3600), ("24h", 86400), ("7d", 604800), ("30d", 2592000))
        windows = {t: {w: self.count_within(t, s, now)[0] for w, s in spans} for t in sorted(self.totals)}
        return {
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "totals": self.totals,
            "windows": windows,
            "sessions": self.sessions,
            "rfm": {"recency_days": self.recency_days(now)[0], "frequency": self.frequency, "monetary": self.monetary},
            "lifetime_value": self.lifetime_value,
            "categories": self.cats,
            "tags": self.tags,
            "recent_items": self.recent_items,
            "cart": self.cart,
            "device": self.device,
            "country": self.country,
            "devices": self.devices,
            "dayparts": self.dayparts,
            "engagement": self.engagement_summary(),
        }


def rebuild(events: Iterable[dict[str, Any]]) -> Profile:
    """The profile of a set of events (duplicates by event_id count once)."""
    seen: set[str] = set()
    profile = Profile()
    for e in sorted(events, key=lambda e: (e["ts"], e["event_id"])):
        if e["event_id"] not in seen:
            seen.add(e["event_id"])
            profile.fold(e)
    return profile


def replay(lines: Iterable[str]) -> dict[str, Profile]:
    """Profiles per visitor from an events JSON-lines file (what `models/` trains on)."""
    by_visitor: dict[str, list[dict[str, Any]]] = {}
    for e in read_event_lines(lines):
        by_visitor.setdefault(e["visitor_id"], []).append(e)
    return {v: rebuild(evs) for v, evs in by_visitor.items()}
