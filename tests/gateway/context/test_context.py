# SPDX-License-Identifier: Apache-2.0
"""Request context: devices from real User-Agents, time zones across DST, geo that cannot be spoofed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from slotwise.gateway.config.loader import parse_config
from slotwise.gateway.context.geo import client_address
from slotwise.gateway.context.request import resolve_context

UAS = [
    # (user agent, class, os, browser)
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Mobile/15E148 Safari/604.1",
        "mobile",
        "iOS",
        "Mobile Safari",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36",
        "mobile",
        "Android",
        "Chrome Mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
        "mobile",
        "Android",
        "Samsung Internet",
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Mobile/15E148 Safari/604.1",
        "tablet",
        "iOS",
        "Mobile Safari",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "tablet",
        "Android",
        "Chrome",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "desktop",
        "Windows",
        "Chrome",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Safari/605.1.15",
        "desktop",
        "Mac OS X",
        "Safari",
    ),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "desktop", "Linux", "Firefox"),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        "desktop",
        "Windows",
        "Edge",
    ),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot", "Other", "Googlebot"),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "bot", "Other", "bingbot"),
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "bot", None, None),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
        "bot",
        None,
        None,
    ),
    ("curl/8.5.0", "bot", None, None),
]

CONFIG = parse_config(
    {
        "sites": {
            "s": {
                "publishable_key": "pk",
                "secret_key": "sk",
                "timezone": "Europe/Berlin",
                "internal_hosts": ["shop.example"],
            }
        },
        "trusted_proxies": ["10.0.0.0/8", "2001:db8::/32"],
        "geo": {"country_headers": ["CF-IPCountry"], "region_headers": ["CF-Region-Code"]},
    }
)
SITE = CONFIG.sites["s"]


def ctx(
    headers: dict[str, str] | None = None,
    peer: str | None = "203.0.113.9",
    now: float | None = None,
    simulation: bool = False,
    **body: Any,
):
    return resolve_context(
        body_context=body,
        headers={k.lower(): v for k, v in (headers or {}).items()},
        peer=peer,
        config=CONFIG,
        site=SITE,
        allow_simulation=simulation,
        now=now,
    )


@pytest.mark.parametrize("ua, cls, os_name, browser", UAS)
def test_device_from_real_user_agents(ua: str, cls: str, os_name: str | None, browser: str | None) -> None:
    device = ctx({"User-Agent": ua}).device
    assert device.cls == cls
    assert device.is_bot == (cls == "bot")
    if os_name:
        assert device.os == os_name
    if browser:
        assert device.browser == browser


def test_client_hints_decide_mobile() -> None:
    desktop_ua = UAS[5][0]
    assert ctx({"User-Agent": desktop_ua, "Sec-CH-UA-Mobile": "?1"}).device.cls == "mobile"
    assert ctx({"User-Agent": UAS[1][0], "Sec-CH-UA-Mobile": "?0"}).device.cls == "desktop"
    # Safari never sends hints: "?0" beside an iPhone user agent comes from an emulating Chromium.
    assert ctx({"User-Agent": UAS[0][0], "Sec-CH-UA-Mobile": "?0"}).device.cls == "mobile"
    # A bot stays a bot whatever hints it sends.
    assert ctx({"User-Agent": UAS[9][0], "Sec-CH-UA-Mobile": "?1"}).device.cls == "bot"


def test_body_user_agent_from_a_server_side_connector_wins() -> None:
    c = ctx({"User-Agent": "WordPress/6.1; https://shop.example"}, user_agent=UAS[0][0])
    assert c.device.cls == "mobile"


def _utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    "tz, utc, hour, weekday, source",
    [
        ("Europe/Berlin", (2026, 3, 29, 0, 59), 1, "sun", "client"),  # CET, just before the spring change
        ("Europe/Berlin", (2026, 3, 29, 1, 0), 3, "sun", "client"),  # CEST: 02:00 never happened
        ("Europe/Berlin", (2026, 10, 25, 0, 30), 2, "sun", "client"),  # first 02:30 (CEST)
        ("Europe/Berlin", (2026, 10, 25, 1, 30), 2, "sun", "client"),  # second 02:30 (CET)
        ("America/New_York", (2026, 3, 8, 6, 59), 1, "sun", "client"),
        ("America/New_York", (2026, 3, 8, 7, 0), 3, "sun", "client"),
        ("Asia/Kolkata", (2026, 7, 15, 18, 30), 0, "thu", "client"),  # +05:30 crosses midnight
        ("Australia/Lord_Howe", (2026, 1, 10, 12, 0), 23, "sat", "client"),  # +11:00 in summer
        ("Not/AZone", (2026, 7, 15, 12, 0), 14, "wed", "site"),  # falls back to the site's zone
        ("../../etc/passwd", (2026, 7, 15, 12, 0), 14, "wed", "site"),
    ],
)
def test_local_time_across_dst(tz: str, utc: tuple[int, ...], hour: int, weekday: str, source: str) -> None:
    local = ctx(now=_utc(*utc), timezone=tz).local
    assert (local.hour, local.weekday, local.tz_source) == (hour, weekday, source)


@pytest.mark.parametrize(
    "tz, utc, next_minute, next_hour",
    [
        ("Europe/Berlin", (2026, 3, 29, 0, 59, 41), (2026, 3, 29, 1, 0), (2026, 3, 29, 1, 0)),  # 01:59 CET -> 03:00
        ("Asia/Kolkata", (2026, 7, 15, 18, 44, 5), (2026, 7, 15, 18, 45), (2026, 7, 15, 19, 30)),  # +05:30
        ("Asia/Kathmandu", (2026, 7, 15, 18, 14, 59), (2026, 7, 15, 18, 15), (2026, 7, 15, 18, 15)),  # 23:59 +05:45
    ],
)
def test_local_time_is_shared_within_a_minute_and_knows_its_next_boundaries(
    tz: str, utc: tuple[int, ...], next_minute: tuple[int, ...], next_hour: tuple[int, ...]
) -> None:
    from slotwise.gateway.context.clock import next_local

    now = _utc(*utc)
    local = ctx(now=now, timezone=tz).local
    start_of_minute = ctx(now=now - utc[5], timezone=tz).local
    assert local == start_of_minute and (local.minute_start, local.dt) == (now - utc[5], start_of_minute.dt)
    assert next_local(local, minute=True) == _utc(*next_minute)
    assert next_local(local, hour=True) == _utc(*next_hour)
    after = ctx(now=_utc(*next_minute), timezone=tz).local
    assert (after.hour * 60 + after.minute - local.hour * 60 - local.minute) % 1440 in (1, 61)  # 61: DST


def test_business_hours_and_dayparts() -> None:
    wed_1030_berlin = _utc(2026, 7, 15, 8, 30)
    local = ctx(now=wed_1030_berlin, timezone="Europe/Berlin").local
    assert local.business_hours and local.daypart == "morning"
    sat = ctx(now=_utc(2026, 7, 18, 8, 30), timezone="Europe/Berlin").local
    assert not sat.business_hours
    late = ctx(now=_utc(2026, 7, 15, 15, 0), timezone="Europe/Berlin").local  # 17:00 exactly
    assert not late.business_hours and late.daypart == "afternoon"


def test_geo_headers_count_only_from_trusted_proxies() -> None:
    spoofed = ctx({"CF-IPCountry": "US"}, peer="203.0.113.9")
    assert spoofed.geo.country is None and spoofed.geo.source == "none"
    via_cdn = ctx({"CF-IPCountry": "us", "CF-Region-Code": "CA"}, peer="10.1.2.3")
    assert (via_cdn.geo.country, via_cdn.geo.region, via_cdn.geo.source) == ("US", "CA", "header:CF-IPCountry")
    # A header that is not configured is never read, even from a trusted proxy.
    other = ctx({"CloudFront-Viewer-Country": "FR"}, peer="10.1.2.3")
    assert other.geo.country is None
    # Garbage in a trusted header is ignored.
    assert ctx({"CF-IPCountry": "XX"}, peer="10.1.2.3").geo.country is None
    assert ctx({"CF-IPCountry": "<script>"}, peer="10.1.2.3").geo.country is None


def test_simulated_geo_needs_permission() -> None:
    assert ctx(simulate={"country": "JP"}).geo.country is None
    simulated = ctx(simulate={"country": "JP", "device": "mobile"}, simulation=True)
    assert simulated.geo.country == "JP" and simulated.device.cls == "mobile"
    assert set(simulated.simulated) == {"country", "device"}


def test_forwarded_for_is_walked_from_the_right_through_trusted_hops_only() -> None:
    trusted = CONFIG.trusted_proxies
    xff = {"x-forwarded-for": "1.1.1.1, 198.51.100.7, 10.0.0.5"}
    assert client_address("10.9.9.9", xff, trusted) == "198.51.100.7"
    # From an untrusted peer the header is a client's claim and is ignored.
    assert client_address("203.0.113.9", xff, trusted) == "203.0.113.9"
    assert client_address("2001:db8::1", {"cf-connecting-ip": "192.0.2.1"}, trusted) == "192.0.2.1"


@pytest.mark.parametrize(
    "referrer, url, expected",
    [
        ("https://www.google.com/search?q=boots", "https://shop.example/", "search"),
        ("https://duckduckgo.com/", "https://shop.example/", "search"),
        ("https://www.bing.com/search?q=x", None, "search"),
        ("https://l.facebook.com/l.php?u=x", "https://shop.example/", "social"),
        ("https://t.co/abc", None, "social"),
        ("https://www.instagram.com/", None, "social"),
        ("https://mail.google.com/mail/u/0/", None, "email"),
        ("https://blog.example.org/post", "https://shop.example/?utm_medium=email", "email"),
        ("https://shop.example/category/shoes", "https://shop.example/item", "internal"),
        (None, "https://shop.example/", "direct"),
        ("https://news.example.net/", "https://shop.example/", "other"),
        ("not a url at all", None, "direct"),  # no host to judge by
    ],
)
def test_referrer_classes(referrer: str | None, url: str | None, expected: str) -> None:
    body = {k: v for k, v in {"referrer": referrer, "url": url}.items() if v}
    assert ctx(**body).referrer.cls == expected


def test_utm_language_and_consent() -> None:
    c = ctx(
        {"Accept-Language": "de-CH,de;q=0.9,en;q=0.8", "Sec-GPC": "1"},
        url="https://shop.example/?utm_source=newsletter&utm_campaign=winter&utm_medium=email",
    )
    assert c.utm == {"source": "newsletter", "medium": "email", "campaign": "winter"}
    assert c.language == "de"
    assert c.consent.gpc and not c.consent.profiling_allowed and c.consent.identifier_allowed
    assert ctx(consent="none").consent.identifier_allowed is False
    assert ctx(consent="bogus").consent.level == "full"  # the site's default


def test_describe_never_contains_an_ip_address() -> None:
    c = ctx({"X-Forwarded-For": "198.51.100.7", "CF-IPCountry": "DE"}, peer="10.0.0.1")
    text = repr(c.describe())
    assert "198.51.100.7" not in text and "10.0.0.1" not in text
