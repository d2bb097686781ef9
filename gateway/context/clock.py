# SPDX-License-Identifier: Apache-2.0
"""The visitor's local time: time zone (client or site), weekday, day part, business hours,
and when each of them next changes (DST-aware), so cached decisions know when they expire."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slotwise.gateway.common.vocabulary import WEEKDAYS, daypart, known_zone

if TYPE_CHECKING:
    from slotwise.gateway.config.loader import SiteConfig
    from slotwise.gateway.config.model import BusinessHours


@dataclass(frozen=True, slots=True)
class LocalTime:
    tz: str
    tz_source: str
    hour: int
    minute: int
    weekday: str
    daypart: str
    business_hours: bool
    date: str
    dt: datetime = field(repr=False, compare=False)
    """The start of this local minute (all that rules read changes on whole minutes)."""
    minute_start: float = field(default=0.0, repr=False, compare=False)  # dt as Unix time, computed once


def zone(name: str | None) -> ZoneInfo | None:
    if not name or len(name) > 64 or not known_zone(name):
        return None
    return _zone(name)


# Keyed by known zone names only (about 600 exist, `known_zone`), and bounded anyway. functools'
# LRU is in C: a tenth of cachetools' cost per look-up, on every render.
@functools.lru_cache(maxsize=2048)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def resolve_local(now: float, tz_name: str | None, site: SiteConfig) -> LocalTime:
    tz = zone(tz_name)
    source = "client"
    if tz is None:
        tz, source = zone(site.timezone) or _UTC, "site"
    bh = site.business_hours  # by its fields: the dataclass hashes in Python, on every render
    return _local_minute(int(now // 60), tz, source, bh.days, bh.start, bh.end)


_UTC = ZoneInfo("UTC")


# Every UTC offset in use is a whole number of minutes, so everything a LocalTime holds is the
# same for a zone during one Unix minute: computed once per zone and minute, not per render.
# Keyed by resolved zones only (about 600 exist), so bounded.
@functools.lru_cache(maxsize=4096)
def _local_minute(minute: int, tz: ZoneInfo, source: str, days: frozenset[str], opens: int, closes: int) -> LocalTime:
    start = minute * 60.0
    dt = datetime.fromtimestamp(start, tz)
    weekday = WEEKDAYS[dt.weekday()]
    minutes = dt.hour * 60 + dt.minute
    in_hours = weekday in days and opens <= minutes < closes
    return LocalTime(
        str(tz.key), source, dt.hour, dt.minute, weekday, daypart(dt.hour), in_hours, dt.date().isoformat(), dt, start
    )


def next_local(loc: LocalTime, *, minute: bool = False, hour: bool = False, day: bool = False) -> float:
    """Unix time of the next local minute / hour / midnight after `loc`, DST-aware.

    Rules read these once per name and request, a thousand times on a page with a thousand rules:
    so no `datetime.timestamp()` here (a zone look-up each), only the minute's start kept in `loc`."""
    if minute:
        return loc.minute_start + 60
    if hour:
        # Offsets change on whole or half hours; the local hour changes exactly at :00 local.
        return loc.minute_start + 3600 - loc.minute * 60
    return _midnight_after(loc.date, loc.tz)


@functools.lru_cache(maxsize=4096)  # keyed by real zones and dates only: bounded and small
def _midnight_after(date: str, tz: str) -> float:
    day = datetime.fromisoformat(date).date() + timedelta(days=1)
    return datetime.combine(day, datetime.min.time(), ZoneInfo(tz)).timestamp()


def next_business_change(loc: LocalTime, site: SiteConfig) -> float:
    """Next moment the business-hours flag may flip: the next start or end minute, or midnight."""
    return _business_change(loc.minute_start, loc.tz, site.business_hours)


@functools.lru_cache(maxsize=4096)  # keyed by real zones and minutes: bounded
def _business_change(minute_start: float, tz: str, bh: BusinessHours) -> float:
    dt = datetime.fromtimestamp(minute_start, ZoneInfo(tz))
    minutes = dt.hour * 60 + dt.minute
    midnight = _midnight_after(dt.date().isoformat(), tz)
    upcoming = [m for m in (bh.start, bh.end) if minutes < m < 1440]
    if not upcoming:
        return midnight
    m = min(upcoming)
    return min(dt.replace(hour=m // 60, minute=m % 60, second=0, microsecond=0).timestamp(), midnight)
