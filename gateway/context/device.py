# SPDX-License-Identifier: Apache-2.0
"""Device class, operating system and browser from the user agent and the mobile client hint."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ua_parser import parse as parse_ua

from slotwise.gateway.common.vocabulary import BOT

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


# Keyed by the user agent a client sent: bounded. functools' LRU is in C (cachetools' costs a
# tenth of a cached render); ua_parser itself uses its native ua-parser-rs resolver when installed.
# The Device itself is kept (frozen, so shared): most renders build none.
@functools.lru_cache(maxsize=4096)
def _parse_device(ua: str) -> Device:
    if not ua.isascii():  # a body's user_agent may hold a lone surrogate, which ua_parser cannot take
        ua = ua.encode("utf-8", "replace").decode("utf-8")
    r = parse_ua(ua[:1000])
    browser = r.user_agent.family if r.user_agent else "Other"
    os_name = r.os.family if r.os else "Other"
    dev = r.device.family if r.device else "Other"
    low = ua.lower()
    is_bot = dev == "Spider" or any(w in low for w in _BOT_WORDS)
    if is_bot:
        cls = BOT
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
    return Device(cls, os_name, browser, is_bot)


def resolve_device(ua: str | None, ch_mobile: str | None) -> Device:
    device = _parse_device(ua or "")
    if not ua:
        device = Device("desktop", device.os, device.browser, False)
    if device.is_bot or ch_mobile is None:
        return device
    cls = device.cls
    # Client hints are sent by Chromium browsers and are authoritative for mobile-ness.
    if ch_mobile.strip() == "?1":
        cls = "mobile"
    elif ch_mobile.strip() == "?0" and cls == "mobile" and device.os == "Android":
        # Only Chromium sends hints; an iOS user agent with "?0" is a desktop Chromium
        # emulating a phone, so the user agent is the better witness there.
        cls = "desktop"
    return device if cls == device.cls else Device(cls, device.os, device.browser, False)
