# SPDX-License-Identifier: Apache-2.0
"""Profile terms for the editors' expression language (imported by the config loader).

    events.add_to_cart.within(24h) >= 1 and events.purchase.within(24h) == 0
    rfm.recency_days <= 7 and affinity.category('shoes') > 0.3

A visitor without a profile (new, no consent, a bot) reads zeros, false and null, so
comparisons such as `rfm.recency_days <= 7` are simply false. Windowed counts call
`env.bound` with the moment the oldest counted event leaves the window.
"""

from __future__ import annotations

from typing import Any

from slotwise.gateway.common.vocabulary import EVENT_TYPE_SET as EVENT_TYPES
from slotwise.gateway.rules.expr import Env, NameSpec, name_spec
from slotwise.gateway.visitors.profiles import Profile

Args = tuple[Any, ...]
Wild = tuple[str, ...]


def _within(env: Env, wild: Wild, args: Args) -> int:
    p: Profile | None = env.profile
    if p is None:
        return 0
    count, leaves = p.count_within(wild[0], float(args[0]), env.now)
    env.bound(leaves)
    return count


def _total(env: Env, wild: Wild, args: Args) -> int:
    return env.profile.total(wild[0]) if env.profile is not None else 0


def _recency(env: Env, wild: Wild, args: Args) -> int | None:
    p: Profile | None = env.profile
    if p is None:
        return None
    days, changes = p.recency_days(env.now)
    env.bound(changes)
    return days


def _attr(name: str, default: Any) -> Any:
    return lambda env, wild, args: getattr(env.profile, name) if env.profile is not None else default


def _affinity(kind: str) -> Any:
    return lambda env, wild, args: env.profile.affinity(kind, str(args[0])) if env.profile is not None else 0.0


def _cart_contains(env: Env, wild: Wild, args: Args) -> bool:
    return env.profile is not None and str(args[0]) in env.profile.cart


def _engagement(key: str) -> Any:
    return lambda env, wild, args: env.profile.engagement_summary()[key] if env.profile is not None else 0.0


def _share(attr: str) -> Any:
    """Share of events seen on a device class / in a day part, 0..1."""

    def resolve(env: Env, wild: Wild, args: Args) -> float:
        p = env.profile
        if p is None:
            return 0.0
        counts = getattr(p, attr)
        whole = sum(counts.values())
        return counts.get(str(args[0]), 0) / whole if whole else 0.0

    return resolve


# Registered by config.registries (never on import).
PROFILE_NAMES: tuple[NameSpec, ...] = (
    name_spec(
        "events.*.within",
        "num",
        _within,
        params=("duration",),
        wild={1: EVENT_TYPES},
        doc="events of this type in the last duration, e.g. events.purchase.within(24h)",
    ),
    name_spec("events.*.total", "num", _total, wild={1: EVENT_TYPES}, doc="events of this type ever"),
    name_spec("rfm.recency_days", "num", _recency, doc="whole days since the visitor was last seen (null if never)"),
    name_spec("rfm.frequency", "num", _attr("frequency", 0), doc="number of purchases"),
    name_spec("rfm.monetary", "num", _attr("monetary", 0.0), doc="total value of purchases"),
    name_spec(
        "affinity.category",
        "num",
        _affinity("category"),
        params=("str",),
        doc="share (0..1) of the visitor's decayed interest in a category",
    ),
    name_spec(
        "affinity.tag",
        "num",
        _affinity("tag"),
        params=("str",),
        doc="share (0..1) of the visitor's decayed interest in a tag",
    ),
    name_spec(
        "visitor.known", "bool", lambda env, w, a: env.profile is not None, doc="a profile exists for this visitor"
    ),
    name_spec("visitor.sessions", "num", _attr("sessions", 0), doc="visits (30 min of inactivity ends one)"),
    name_spec("visitor.returning", "bool", _attr("returning", False), doc="more than one visit"),
    name_spec("visitor.lifetime_value", "num", _attr("lifetime_value", 0.0), doc="value of purchases and conversions"),
    name_spec("visitor.last_device", "str", _attr("device", None), doc="device class of the latest event"),
    name_spec("visitor.last_country", "str", _attr("country", None), doc="country of the latest event"),
    name_spec(
        "visitor.device_share",
        "num",
        _share("devices"),
        params=("str",),
        doc="share of events from a device class, e.g. visitor.device_share('mobile')",
    ),
    name_spec(
        "visitor.daypart_share",
        "num",
        _share("dayparts"),
        params=("str",),
        doc="share of events in a day part, e.g. visitor.daypart_share('evening')",
    ),
    name_spec(
        "cart.size",
        "num",
        lambda env, w, a: len(env.profile.cart) if env.profile is not None else 0,
        doc="distinct items in the cart",
    ),
    name_spec("cart.contains", "bool", _cart_contains, params=("str",), doc="the cart holds this item id"),
    name_spec(
        "engagement.avg_time_on_page",
        "num",
        _engagement("avg_time_on_page"),
        doc="mean seconds on page, from engagement events",
    ),
    name_spec(
        "engagement.avg_scroll_depth",
        "num",
        _engagement("avg_scroll_depth"),
        doc="mean scroll depth in percent, from engagement events",
    ),
)
