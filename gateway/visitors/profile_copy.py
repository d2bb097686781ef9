# SPDX-License-Identifier: Apache-2.0
"""A profile's independent copy, field by field: what a reader gets of a profile the SQLite
writer keeps folding (`stores.sqlite_profiles`). About a quarter of `from_json(to_json())`.

Every attribute of `Profile` must be named here: an unknown one raises, so a new field cannot be
shared between the copy and the original by mistake (`tests/gateway/visitors/test_sqlite_write_behind.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slotwise.gateway.visitors.profiles import Profile


def _same(v: Any) -> Any:
    return v  # numbers, None


def _nested(v: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {k: list(x) for k, x in v.items()}


_COPY: dict[str, Callable[[Any], Any]] = {
    "first_seen": _same,
    "last_seen": _same,
    "purchase_ts": _same,
    "purchases": _same,
    "monetary_cents": _same,
    "conversion_cents": _same,
    "device_at": list,
    "country_at": list,
    "email": list,
    "totals": dict,
    "cats": dict,
    "tags": dict,
    "item_scores": dict,
    "recent": dict,
    "engagement": dict,
    "devices": dict,
    "dayparts": dict,
    "buckets": lambda v: {t: [dict(tier) for tier in tiers] for t, tiers in v.items()},
    "session_list": lambda v: [list(s) for s in v],
    "cart_lines": _nested,
    "feedback": _nested,
}


def copy_profile(profile: Profile) -> Profile:
    """A profile equal to `profile` that shares no mutable part with it."""
    out = Profile.__new__(Profile)
    out.__dict__.update({k: _COPY[k](v) for k, v in vars(profile).items()})
    return out
