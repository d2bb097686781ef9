# SPDX-License-Identifier: Apache-2.0
"""The product's fixed words, one copy each: the gateway, the models and the connectors read them here.

Changing one of these changes the event format, the expression language or the feature
vector, so each is a tuple (ordered, immutable) with a frozenset twin for fast membership.
"""

from __future__ import annotations

import functools
from zoneinfo import available_timezones

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Local weekdays, Monday first (the order of `datetime.weekday()`)."""

DAYPART_STARTS = ((0, "night"), (6, "morning"), (12, "afternoon"), (18, "evening"))
"""(first local hour, name) of each day part."""
DAYPARTS = tuple(name for _, name in DAYPART_STARTS)
DAYPART_SET = frozenset(DAYPARTS)

DEVICE_CLASSES = ("mobile", "tablet", "desktop")
"""Device classes a visitor (and an event's context) can have; bots are a class of their own."""
DEVICE_SET = frozenset(DEVICE_CLASSES)
BOT = "bot"

CONSENT_LEVELS = ("none", "anonymous", "full")
"""Consent levels, least to most: no identifier, an identifier without a profile, a profile."""

EVENT_TYPES = (
    "page_view",
    "item_view",
    "click",
    "impression",
    "add_to_cart",
    "remove_from_cart",
    "purchase",
    "conversion",
    "signup",
    "engagement",
    "feedback",
)
EVENT_TYPE_SET = frozenset(EVENT_TYPES)
ITEM_EVENT_TYPES = frozenset({"item_view", "add_to_cart", "remove_from_cart", "feedback"})
"""Event types that are about one item and so need an `item_id`."""
FEEDBACK_RATINGS = ("up", "down", "not_interested")
"""`properties.rating` of a `feedback` event; the latest `down`/`not_interested` hides the item."""

UTM_KEYS = ("source", "medium", "campaign", "term", "content")
"""Campaign parameters read from the page URL, without their `utm_` prefix."""


def daypart(hour: int) -> str:
    """The day part of a local hour (0-23)."""
    part = DAYPART_STARTS[0][1]
    for start, name in DAYPART_STARTS:
        if hour >= start:
            part = name
    return part


def known_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone this host knows (its zone files or `tzdata`).

    Clients send any string as their time zone. Only a known name is worth a `ZoneInfo`
    look-up: for an unknown one `ZoneInfo` searches the zone folders and then tries to import
    it from the `tzdata` package, a failed import through every `sys.meta_path` finder for each
    new name (about 100 µs, and under pytest's import hook it interned a string each time, so
    that the interpreter's table of interned strings, megabytes, was rebuilt every few ten
    thousand bogus names: issue 11, the memory test's full case)."""
    return name in _known_zones()


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())  # about 600 names, read once (tens of ms)
