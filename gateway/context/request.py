# SPDX-License-Identifier: Apache-2.0
"""Request context: who is asking, from what device, when (their local time), from where.

Raw IP addresses are used only to pick the trusted client address for an optional geo
look-up and are never stored, logged or returned.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cachetools import LRUCache
from ua_parser import parse as parse_ua

if TYPE_CHECKING:
    from slotwise.gateway.config.loader import Config, SiteConfig

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAYPARTS = ((0, "night"), (6, "morning"), (12, "afternoon"), (18, "evening"))
CONSENT_LEVELS = ("none", "anonymous", "full")
UTM_KEYS = ("source", "medium", "campaign", "term", "content")

_SEARCH = (
    "google.",
    "bing.com",
    "duckduckgo.com",
    "search.yahoo.",
    "yandex.",
    "baidu.com",
    "ecosia.org",
    "qwant.com",
    "search.brave.com",
    "startpage.com",
)
_SOCIAL = (
    "facebook.com",
    "fb.me",
    "t.co",
    "twitter.com",
    "x.com",
    "linkedin.com",
    "lnkd.in",
    "instagram.com",
    "pinterest.",
    "reddit.com",
    "tiktok.com",
    "youtube.com",
    "threads.net",
    "mastodon.",
    "bsky.app",
    "whatsapp.com",
    "vk.com",
)
_EMAIL = ("mail.google.com", "outlook.live.com", "outlook.office.com", "mail.yahoo.com", "webmail.", "mail.proton.me")
_BOT_WORDS = (
    "bot",
    "crawler",
    "spider",
    "slurp",
    "facebookexternalhit",
    "preview",
    "monitor",
    "lighthouse",
    "curl/",
    "wget/",
    "python-requests",
    "httpx",
    "go-http-client",
)


@dataclass(frozen=True, slots=True)
class Device:
    cls: str
    os: str
    browser: str
    is_bot: bool


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


@dataclass(frozen=True, slots=True)
class Geo:
    country: str | None
    region: str | None
    source: str


@dataclass(frozen=True, slots=True)
class Referrer:
    cls: str
    host: str | None


@dataclass(frozen=True, slots=True)
class Consent:
    level: str
    gpc: bool
    dnt: bool

    @property
    def profiling_allowed(self) -> bool:
        """Profiles and experiments need an identifier: only with full consent and no GPC."""
        return self.level == "full" and not self.gpc

    @property
    def identifier_allowed(self) -> bool:
        return self.level != "none"


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


# --- device -------------------------------------------------------------------------------

_ua_cache: LRUCache[str, tuple[str, str, str, bool]] = LRUCache(maxsize=4096)


def _parse_device(ua: str) -> tuple[str, str, str, bool]:
    hit = _ua_cache.get(ua)
    if hit is not None:
        return hit
    r = parse_ua(ua[:1000])
    browser = r.user_agent.family if r.user_agent else "Other"
    os_name = r.os.family if r.os else "Other"
    dev = r.device.family if r.device else "Other"
    low = ua.lower()
    is_bot = dev == "Spider" or any(w in low for w in _BOT_WORDS)
    if is_bot:
        cls = "bot"
    elif (
        "ipad" in low
        or "tablet" in low
        or "kindle" in low
        or "silk/" in low
        or ("android" in low and "mobile" not in low)
    ):
        cls = "tablet"
    elif "mobi" in low or "iphone" in low or "ipod" in low or "android" in low or "windows phone" in low:
        cls = "mobile"
    else:
        cls = "desktop"
    result = (cls, os_name, browser, is_bot)
    _ua_cache[ua] = result
    return result


def resolve_device(ua: str | None, ch_mobile: str | None) -> Device:
    cls, os_name, browser, is_bot = _parse_device(ua or "")
    if not ua:
        is_bot, cls = False, "desktop"
    if not is_bot and ch_mobile is not None:
        # Client hints are sent by Chromium browsers and are authoritative for mobile-ness.
        if ch_mobile.strip() == "?1":
            cls = "mobile"
        elif ch_mobile.strip() == "?0" and cls == "mobile" and os_name == "Android":
            # Only Chromium sends hints; an iOS user agent with "?0" is a desktop Chromium
            # emulating a phone, so the user agent is the better witness there.
            cls = "desktop"
    return Device(cls, os_name, browser, is_bot)


# --- local time ------------------------------------------------------------------------------

_zone_cache: dict[str, ZoneInfo | None] = {}


def zone(name: str | None) -> ZoneInfo | None:
    if not name or len(name) > 64:
        return None
    if name not in _zone_cache:
        try:
            _zone_cache[name] = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            _zone_cache[name] = None
    return _zone_cache[name]


def daypart(hour: int) -> str:
    part = DAYPARTS[0][1]
    for start, name in DAYPARTS:
        if hour >= start:
            part = name
    return part


def resolve_local(now: float, tz_name: str | None, site: SiteConfig) -> LocalTime:
    tz = zone(tz_name)
    source = "client"
    if tz is None:
        tz, source = zone(site.timezone) or ZoneInfo("UTC"), "site"
    dt = datetime.fromtimestamp(now, tz)
    weekday = WEEKDAYS[dt.weekday()]
    minutes = dt.hour * 60 + dt.minute
    bh = site.business_hours
    in_hours = weekday in bh.days and bh.start <= minutes < bh.end
    return LocalTime(
        str(tz.key), source, dt.hour, dt.minute, weekday, daypart(dt.hour), in_hours, dt.date().isoformat(), dt
    )


def next_local(dt: datetime, *, minute: bool = False, hour: bool = False, day: bool = False) -> float:
    """Unix time of the next local minute / hour / midnight after `dt`, DST-aware."""
    if minute:
        return dt.timestamp() + 60 - dt.second - dt.microsecond / 1e6
    if hour:
        # Offsets change on whole or half hours; the local hour changes exactly at :00 local.
        return dt.timestamp() + 3600 - dt.minute * 60 - dt.second - dt.microsecond / 1e6
    midnight = datetime.combine(dt.date() + timedelta(days=1), datetime.min.time(), dt.tzinfo)
    return midnight.timestamp()


def next_business_change(loc: LocalTime, site: SiteConfig) -> float:
    """Next moment the business-hours flag may flip: the next start or end minute, or midnight."""
    dt = loc.dt
    minutes = dt.hour * 60 + dt.minute
    midnight = next_local(dt, day=True)
    bh = site.business_hours
    upcoming = [m for m in (bh.start, bh.end) if minutes < m < 1440]
    if not upcoming:
        return midnight
    m = min(upcoming)
    return min(dt.replace(hour=m // 60, minute=m % 60, second=0, microsecond=0).timestamp(), midnight)


# --- geo ----------------------------------------------------------------------------------------


def _in_networks(addr: str | None, networks: tuple[Any, ...]) -> bool:
    if not addr or not networks:
        return False
    try:
        ip = ipaddress.ip_address(addr.strip())
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(peer: str | None, headers: Mapping[str, str], trusted: tuple[Any, ...]) -> str | None:
    """The visitor's address: forwarding headers count only when the peer is a trusted proxy."""
    if not _in_networks(peer, trusted):
        return peer
    cf = headers.get("cf-connecting-ip")
    if cf:
        return cf.strip()
    chain = [h.strip() for h in headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(chain):
        if not _in_networks(hop, trusted):
            return hop
    return chain[0] if chain else peer


def resolve_geo(peer: str | None, headers: Mapping[str, str], config: Config) -> Geo:
    geo = config.geo
    if _in_networks(peer, config.trusted_proxies):
        for name in geo.country_headers:
            value = headers.get(name.lower(), "").strip().upper()
            if len(value) == 2 and value.isalpha() and value != "XX":
                region = None
                for rname in geo.region_headers:
                    rv = headers.get(rname.lower(), "").strip()
                    if rv:
                        region = rv[:64]
                        break
                return Geo(value, region, f"header:{name}")
    if geo.lookup is not None:
        addr = client_address(peer, headers, config.trusted_proxies)
        found = geo.lookup(addr) if addr else None
        if found:
            return Geo(found[0], found[1], "maxmind")
    return Geo(None, None, "none")


# --- page: referrer, UTM --------------------------------------------------------------------


def _host(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.lower() if host else None


def _matches(host: str, patterns: tuple[str, ...]) -> bool:
    for p in patterns:
        if p.endswith("."):
            if host.startswith(p) or f".{p}" in f".{host}":
                return True
        elif host == p or host.endswith("." + p):
            return True
    return False


def classify_referrer(
    referrer: str | None, page_host: str | None, utm: dict[str, str], internal_hosts: tuple[str, ...]
) -> Referrer:
    host = _host(referrer)
    medium = utm.get("medium", "").lower()
    if medium in {"email", "e-mail", "newsletter"}:
        return Referrer("email", host)
    if host is None:
        return Referrer("direct", None)
    if host == page_host or host in internal_hosts:
        return Referrer("internal", host)
    if _matches(host, _EMAIL):
        return Referrer("email", host)
    if _matches(host, _SEARCH):
        return Referrer("search", host)
    if _matches(host, _SOCIAL) or medium == "social":
        return Referrer("social", host)
    return Referrer("other", host)


def parse_utm(url: str | None) -> dict[str, str]:
    if not url or "utm_" not in url:
        return {}
    try:
        query = parse_qs(urlsplit(url).query)
    except ValueError:
        return {}
    return {k: query[f"utm_{k}"][0][:200] for k in UTM_KEYS if query.get(f"utm_{k}")}


def parse_language(value: str | None) -> str | None:
    if not value:
        return None
    first = value.split(",")[0].split(";")[0].strip().lower()
    primary = first.split("-")[0]
    return primary if primary.isalpha() and 1 < len(primary) < 9 else None


# --- putting it together ------------------------------------------------------------------------


def _text(data: Mapping[str, Any], key: str, limit: int = 2048) -> str | None:
    value = data.get(key)
    return value[:limit] if isinstance(value, str) and value else None


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
    sim = sim if isinstance(sim, Mapping) else {}
    simulated: list[str] = []

    ua = _text(body_context, "user_agent") or headers.get("user-agent")
    device = resolve_device(ua, headers.get("sec-ch-ua-mobile"))
    if sim.get("device") in {"mobile", "tablet", "desktop"} and not device.is_bot:
        device = Device(str(sim["device"]), device.os, device.browser, False)
        simulated.append("device")

    tz_name = _text(body_context, "timezone", 64)
    if isinstance(sim.get("timezone"), str) and zone(sim["timezone"]):
        tz_name = sim["timezone"]
        simulated.append("timezone")
    local = resolve_local(now, tz_name, site)
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
    if isinstance(sim.get("country"), str) and len(sim["country"]) == 2 and sim["country"].isalpha():
        geo = Geo(sim["country"].upper(), None, "simulated")
        simulated.append("country")

    url = _text(body_context, "url")
    referrer = _text(body_context, "referrer")
    utm = parse_utm(url)
    page_host = _host(url)
    ref = classify_referrer(referrer, page_host, utm, site.internal_hosts)
    path = None
    if url:
        try:
            path = urlsplit(url).path or "/"
        except ValueError:
            path = None

    language = parse_language(_text(body_context, "language", 200) or headers.get("accept-language"))
    level = body_context.get("consent")
    if level not in CONSENT_LEVELS:
        level = site.default_consent
    gpc = headers.get("sec-gpc", "").strip() == "1" or body_context.get("gpc") is True
    dnt = headers.get("dnt", "").strip() == "1"
    if dnt and site.honour_dnt:
        gpc = True
    item = body_context.get("item_id")
    item_id = str(item)[:200] if isinstance(item, (str, int)) and not isinstance(item, bool) else None
    return RequestContext(
        now, device, local, geo, ref, utm, language, Consent(str(level), gpc, dnt), url, path, item_id, tuple(simulated)
    )
