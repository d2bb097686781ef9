# SPDX-License-Identifier: Apache-2.0
"""Country and region: from a trusted proxy's headers, else an optional geo look-up.

Raw IP addresses are used only to pick the trusted client address for the look-up and are
never stored, logged or returned.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slotwise.gateway.config.loader import Config


@dataclass(frozen=True, slots=True)
class Geo:
    country: str | None
    region: str | None
    source: str


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
    return _NO_GEO


_NO_GEO = Geo(None, None, "none")
