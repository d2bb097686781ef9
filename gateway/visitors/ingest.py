# SPDX-License-Identifier: Apache-2.0
"""Ingest a batch of validated events for a site: the one path shared by `POST /v1/events`
and the stream consumers (`gateway/streams`).

Each event comes with its `Origin`: what the request (HTTP) or the event's own context
(streams) says about the device and consent. Bots and visitors without profiling consent are
acknowledged but not kept (`ignored`, with the reason); without profiling consent but above
consent 'none' (and not a bot) they still count in the measurement aggregates
(`store.ingest_anonymous`). The rest is enriched with the page context the client left out and
handed to the store's idempotent `ingest`. Store failures propagate: nothing of the batch is
acknowledged, the caller retries it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slotwise.gateway.common.vocabulary import daypart, known_zone
from slotwise.gateway.measure.exposures import aggregates_allowed

if TYPE_CHECKING:
    from slotwise.gateway.config.loader import SiteConfig
    from slotwise.gateway.context.request import RequestContext
    from slotwise.gateway.serving.runtime import Runtime
    from slotwise.gateway.visitors.stores import Store

BOT = "bot traffic builds no profile"
NO_CONSENT = "no profiling consent (consent level below 'full' or Sec-GPC)"
EVENT_NO_CONSENT = "no profiling consent in the event's context"
WITHDRAWN = "the visitor withdrew profiling consent"


@lru_cache(maxsize=512)
def _zone(name: str | None) -> ZoneInfo | None:
    """As `context.clock.zone` (visitors sit beside context in the layers and may not import it)."""
    if not name or len(name) > 64 or not known_zone(name):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


@dataclass(frozen=True)
class Origin:
    """Where a batch (or one streamed event) came from, as far as ingestion cares."""

    device: str | None = None
    """Device class to fill into events that do not name one."""
    country: str | None = None
    ignored_reason: str | None = None
    """Set for bots and missing consent: the events are acknowledged, not kept."""
    aggregates: bool = True
    """Ignored events still count in the measurement aggregates (not for bots or consent 'none')."""


@dataclass
class BatchResult:
    stored: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    ignored: dict[str, str] = field(default_factory=dict)
    """event_id -> reason it was acknowledged but not kept."""

    @property
    def accepted(self) -> list[str]:
        return self.stored + self.duplicates


def origin_of(ctx: RequestContext) -> Origin:
    """The origin of events whose device and consent are those of a resolved request context."""
    reason = None
    if ctx.device.is_bot:
        reason = BOT
    elif not ctx.consent.profiling_allowed:
        reason = NO_CONSENT
    aggregates = aggregates_allowed(ctx.consent.level, ctx.device.is_bot)
    return Origin(None if ctx.device.is_bot else ctx.device.cls, ctx.geo.country, reason, aggregates)


def event_opts_out(event: dict[str, Any]) -> bool:
    """An event may carry its own consent (e.g. sent just after the banner's "no")."""
    ctx = event.get("context") or {}
    return ctx.get("consent") in ("none", "anonymous") or ctx.get("gpc") is True


def enrich(event: dict[str, Any], runtime: Runtime, site: SiteConfig, device: str | None, country: str | None) -> None:
    """Fill page context the client left out, so profiles can be rebuilt from the log alone."""
    ctx = event.setdefault("context", {})
    if device and "device" not in ctx:
        ctx["device"] = device
    if country and "country" not in ctx:
        ctx["country"] = country
    if "daypart" not in ctx:
        tz = _zone(ctx.get("timezone") if isinstance(ctx.get("timezone"), str) else None) or _zone(site.timezone)
        ctx["daypart"] = daypart(datetime.fromtimestamp(event["ts"], tz).hour)
    item_id = event.get("item_id")
    props = event.get("properties") or {}
    if item_id and "categories" not in props and "tags" not in props:
        item = runtime.catalog.get(item_id)
        if item:
            extra = {k: list(item.get(k) or [])[:10] for k in ("categories", "tags") if item.get(k)}
            if extra:
                event["properties"] = {**props, **extra}


async def ingest_batch(
    store: Store, runtime: Runtime, site: SiteConfig, batch: list[tuple[dict[str, Any], Origin]]
) -> BatchResult:
    """Store validated events of one site; each event's origin decides bot and consent handling."""
    out = BatchResult()
    keep: list[dict[str, Any]] = []
    anonymous: list[dict[str, Any]] = []  # counted in aggregates only (gateway/measure)
    for event, origin in batch:
        if origin.ignored_reason is not None:
            out.ignored[event["event_id"]] = origin.ignored_reason
            if origin.aggregates:
                anonymous.append(event)
        elif event_opts_out(event):
            out.ignored[event["event_id"]] = EVENT_NO_CONSENT
            if (event.get("context") or {}).get("consent") != "none":
                anonymous.append(event)
        else:
            enrich(event, runtime, site, origin.device, origin.country)
            keep.append(event)
    if anonymous:
        await store.ingest_anonymous(site.name, anonymous)
    if keep:
        result = await store.ingest(site.name, keep)
        out.stored, out.duplicates = result.stored, result.duplicates
        for event_id in result.ignored:
            out.ignored[event_id] = WITHDRAWN
    return out
