# SPDX-License-Identifier: Apache-2.0
"""The request context: resolve who is asking, from what device, when (their local time), from where.

The parts live in their own modules (device, clock, geo, page, consent); this one puts them
together, applies the preview's simulated values, and describes the result without IPs.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from slotwise.gateway.common.vocabulary import DEVICE_SET, WEEKDAYS
from slotwise.gateway.context.clock import LocalTime, resolve_local, zone
from slotwise.gateway.context.consent import Consent, resolve_consent
from slotwise.gateway.context.device import Device, resolve_device
from slotwise.gateway.context.geo import Geo, resolve_geo
from slotwise.gateway.context.page import Referrer, classify_referrer, host_of, parse_language, parse_utm

if TYPE_CHECKING:
    from slotwise.gateway.config.loader import Config, SiteConfig


@dataclass(frozen=True, slots=True)
class RequestContext:
    now: float
    device: Device
    local: LocalTime
    geo: Geo
    referrer: Referrer
    utm: dict[str, str]
    language: str | None
    consent: Consent
    url: str | None
    path: str | None
    item_id: str | None
    simulated: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        """JSON view for the debug route and the render response (no IPs, no raw headers)."""
        loc = self.local
        return {
            "device": {
                "class": self.device.cls,
                "os": self.device.os,
                "browser": self.device.browser,
                "bot": self.device.is_bot,
            },
            "local": {
                "timezone": loc.tz,
                "timezone_source": loc.tz_source,
                "hour": loc.hour,
                "minute": loc.minute,
                "weekday": loc.weekday,
                "daypart": loc.daypart,
                "business_hours": loc.business_hours,
                "date": loc.date,
            },
            "geo": {"country": self.geo.country, "region": self.geo.region, "source": self.geo.source},
            "referrer": {"class": self.referrer.cls, "host": self.referrer.host},
            "utm": self.utm,
            "language": self.language,
            "consent": {
                "level": self.consent.level,
                "gpc": self.consent.gpc,
                "dnt": self.consent.dnt,
                "profiling": self.consent.profiling_allowed,
            },
            "page": {"url": self.url, "path": self.path, "item_id": self.item_id},
            "simulated": list(self.simulated),
        }


def _text(data: Mapping[str, Any], key: str, limit: int = 2048) -> str | None:
    value = data.get(key)
    return value[:limit] if isinstance(value, str) and value else None


@functools.lru_cache(maxsize=1024)  # two letters: at most 676 countries
def _simulated_geo(country: str) -> Geo:
    return Geo(country, None, "simulated")


def resolve_context(
    *,
    body_context: Mapping[str, Any],
    headers: Mapping[str, str],
    peer: str | None,
    config: Config,
    site: SiteConfig,
    allow_simulation: bool,
    now: float | None = None,
) -> RequestContext:
    """Resolve the context of one request. `headers` keys are lower-case."""
    now = time.time() if now is None else now
    sim = body_context.get("simulate") if allow_simulation else None
    if sim is not None and not isinstance(sim, (dict, Mapping)):
        sim = None
    simulated: list[str] = []

    ua = _text(body_context, "user_agent") or headers.get("user-agent")
    device = resolve_device(ua, headers.get("sec-ch-ua-mobile"))
    tz_name = _text(body_context, "timezone", 64)
    if sim:  # a preview's simulated values (most renders have none: skip their checks)
        if isinstance(sim.get("device"), str) and sim["device"] in DEVICE_SET and not device.is_bot:
            device = Device(str(sim["device"]), device.os, device.browser, False)
            simulated.append("device")
        if isinstance(sim.get("timezone"), str) and zone(sim["timezone"]):
            tz_name = sim["timezone"]
            simulated.append("timezone")
    local = resolve_local(now, tz_name, site)
    if sim:
        if isinstance(sim.get("hour"), int) and 0 <= sim["hour"] <= 23:
            # Shift "now" so the visitor's local clock shows the simulated hour.
            now += (sim["hour"] - local.hour) * 3600
            local = resolve_local(now, local.tz, site)
            simulated.append("hour")
        if sim.get("weekday") in WEEKDAYS:
            now += ((WEEKDAYS.index(sim["weekday"]) - WEEKDAYS.index(local.weekday)) % 7) * 86400
            local = resolve_local(now, local.tz, site)
            simulated.append("weekday")

    geo = resolve_geo(peer, headers, config)
    if sim and isinstance(sim.get("country"), str) and len(sim["country"]) == 2 and sim["country"].isalpha():
        geo = _simulated_geo(sim["country"].upper())
        simulated.append("country")

    url = _text(body_context, "url")
    referrer = _text(body_context, "referrer")
    utm = parse_utm(url)
    page_host = host_of(url)
    ref = classify_referrer(referrer, page_host, utm, site.internal_hosts)
    path = None
    if url:
        try:
            path = urlsplit(url).path or "/"
        except ValueError:
            path = None

    language = parse_language(_text(body_context, "language", 200) or headers.get("accept-language"))
    consent = resolve_consent(body_context, headers, site)
    item = body_context.get("item_id")
    item_id = str(item)[:200] if isinstance(item, (str, int)) and not isinstance(item, bool) else None
    return RequestContext(now, device, local, geo, ref, utm, language, consent, url, path, item_id, tuple(simulated))
