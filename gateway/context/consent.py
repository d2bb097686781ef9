# SPDX-License-Identifier: Apache-2.0
"""Consent: the level the page states (or the site's default), Global Privacy Control and DNT."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slotwise.gateway.common.vocabulary import CONSENT_LEVELS

if TYPE_CHECKING:
    from slotwise.gateway.config.loader import SiteConfig


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


def resolve_consent(body_context: Mapping[str, Any], headers: Mapping[str, str], site: SiteConfig) -> Consent:
    """An unknown level means the site's default; DNT counts as GPC where the site honours it."""
    level = body_context.get("consent")
    if level not in CONSENT_LEVELS:
        level = site.default_consent
    gpc = headers.get("sec-gpc", "").strip() == "1" or body_context.get("gpc") is True
    dnt = headers.get("dnt", "").strip() == "1"
    if dnt and site.honour_dnt:
        gpc = True
    return _consent(str(level), gpc, dnt)


@functools.lru_cache(maxsize=64)  # a few consent levels (the sites' defaults among them) × 4
def _consent(level: str, gpc: bool, dnt: bool) -> Consent:
    return Consent(level, gpc, dnt)
