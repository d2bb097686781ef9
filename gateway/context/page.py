# SPDX-License-Identifier: Apache-2.0
"""The page a request comes from: referrer class, UTM parameters and the visitor's language."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from slotwise.gateway.common.vocabulary import UTM_KEYS

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


@dataclass(frozen=True, slots=True)
class Referrer:
    cls: str
    host: str | None


def host_of(url: str | None) -> str | None:
    if not url:
        return None
    return _host(url)


# Keyed by what clients send: bounded; functools' LRU is in C (two URLs per render).
@functools.lru_cache(maxsize=4096)
def _host(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.lower() if host else None


_DIRECT = Referrer("direct", None)


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
    host = host_of(referrer)
    medium = utm.get("medium", "").lower()
    if medium in {"email", "e-mail", "newsletter"}:
        return Referrer("email", host)
    if host is None:
        return _DIRECT
    if host == page_host or host in internal_hosts:
        return Referrer("internal", host)
    cls = _host_class(host)
    return Referrer("social" if cls == "other" and medium == "social" else cls, host)


@functools.lru_cache(maxsize=4096)
def _host_class(host: str) -> str:
    if _matches(host, _EMAIL):
        return "email"
    if _matches(host, _SEARCH):
        return "search"
    if _matches(host, _SOCIAL):
        return "social"
    return "other"


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
