# SPDX-License-Identifier: Apache-2.0
"""Whether one event may build a profile: its own context first, the request's as a fallback.

A server that relays browser events (a stream consumer, a CMS hook, a tag manager's server
container) posts them with its own user agent and no consent header; each event carries its
visitor's `context.user_agent`, `context.consent` and `context.gpc`, and those decide. Used by
`POST /v1/events` and the stream consumers alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slotwise.gateway.common.vocabulary import CONSENT_LEVELS
from slotwise.gateway.context.device import resolve_device

BOT_REASON = "bot traffic builds no profile"
NO_CONSENT_REASON = "no profiling consent (consent level below 'full' or Sec-GPC)"


@dataclass(frozen=True, slots=True)
class EventVerdict:
    device: str | None  # the device class to record, None for a bot
    ignored: str | None  # why the event builds no profile, None when it may
    consent: str = "full"  # the consent level that applied (the event's own, else the request's)

    @property
    def kept(self) -> bool:
        return self.ignored is None


def classify_event(
    context: Mapping[str, Any] | None,
    *,
    user_agent: str | None,
    consent: str,
    gpc: bool = False,
    mobile_hint: str | None = None,
) -> EventVerdict:
    """The verdict for one raw event's `context`. `user_agent` (with its `Sec-CH-UA-Mobile`
    `mobile_hint`), `consent` (a level) and `gpc` are the fallbacks, the request's, used for what
    the event does not say itself. A GPC signal from either side wins."""
    ctx = context if isinstance(context, Mapping) else {}
    own_ua = ctx.get("user_agent")
    if isinstance(own_ua, str) and own_ua:
        device = resolve_device(own_ua[:1000], None)
    else:
        device = resolve_device(user_agent, mobile_hint)
    if device.is_bot:
        return EventVerdict(None, BOT_REASON, consent)
    own_level = ctx.get("consent")
    level = own_level if isinstance(own_level, str) and own_level in CONSENT_LEVELS else consent
    if level != "full" or gpc or ctx.get("gpc") is True:
        return EventVerdict(device.cls, NO_CONSENT_REASON, level)
    return EventVerdict(device.cls, None, level)
