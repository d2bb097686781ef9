# SPDX-License-Identifier: Apache-2.0
"""The loaded configuration as the rest of the gateway reads it (built by `loader`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slotwise.gateway.common.vocabulary import WEEKDAYS
from slotwise.gateway.config.alerts import AlertsSettings
from slotwise.gateway.config.services import ModelsSettings, RetrainSettings, StoreSettings
from slotwise.gateway.rules.expr import Compiled
from slotwise.gateway.rules.segments import Segment


@dataclass(frozen=True)
class BusinessHours:
    days: frozenset[str] = frozenset(WEEKDAYS[:5])
    start: int = 9 * 60
    end: int = 17 * 60


@dataclass(frozen=True)
class SiteConfig:
    name: str
    publishable_key: str
    secret_key: str
    origins: tuple[str, ...] = ()
    timezone: str = "UTC"
    business_hours: BusinessHours = BusinessHours()
    default_consent: str = "full"
    honour_dnt: bool = False
    allow_simulation: bool = False
    internal_hosts: tuple[str, ...] = ()
    visitor_secrets: tuple[str, ...] = ()  # signs visitor ids: [new, old] during a rotation
    require_signed_visitor: bool = False


@dataclass(frozen=True)
class GatewaySettings:
    slot_budget_ms: float = 50.0
    max_body_bytes: int = 65536
    max_slots: int = 20
    default_ttl: int = 300
    templates_dir: Path | None = None


@dataclass(frozen=True)
class GeoSettings:
    country_headers: tuple[str, ...] = ()
    region_headers: tuple[str, ...] = ()
    maxmind_db: Path | None = None
    lookup: Callable[[str], tuple[str, str | None] | None] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class CacheLimit:
    """One cache's bound: at most `size` entries, each kept at most `ttl` seconds."""

    size: int
    ttl: float


@dataclass(frozen=True)
class CacheSettings:
    """The `cache:` section as the file nests it: one bound for each cache."""

    catalog: CacheLimit = CacheLimit(10000, 300.0)
    blocks: CacheLimit = CacheLimit(5000, 60.0)
    pages: CacheLimit = CacheLimit(4096, 60.0)


@dataclass(frozen=True)
class Arm:
    name: str
    weight: float
    block: dict[str, Any] | None  # None: the slot's later variants decide, reported as this arm


@dataclass(frozen=True)
class Experiment:
    key: str
    holdout: float
    arms: tuple[Arm, ...]
    status: str = "running"
    """draft | running | paused | stopped (see decisions.experiments.phase)."""
    winner: str | None = None
    start: float | None = None
    end: float | None = None
    traffic: float = 1.0
    window_days: float = 7.0


@dataclass(frozen=True)
class Bandit:
    """A variant whose arm is chosen per view by a policy learning from measured rewards."""

    key: str
    policy: str
    """A name of `decisions.bandits.POLICIES` (`contextual` is stored as `contextual_thompson`)."""
    reward: str
    arms: tuple[Arm, ...]
    settings: dict[str, Any] = field(default_factory=dict)
    status: str = "running"
    window_days: float = 1.0
    half_life_days: float | None = None

    @property
    def arm_names(self) -> tuple[str, ...]:
        return tuple(arm.name for arm in self.arms)


@dataclass(frozen=True)
class Variant:
    id: str
    when: Compiled | None
    block: dict[str, Any] | None = None
    experiment: Experiment | None = None
    bandit: Bandit | None = None


@dataclass(frozen=True)
class Slot:
    name: str
    default: dict[str, Any]
    variants: tuple[Variant, ...] = ()
    description: str = ""
    budget_ms: float | None = None
    ttl: int | None = None


@dataclass(frozen=True)
class Config:
    sites: dict[str, SiteConfig]
    gateway: GatewaySettings = GatewaySettings()
    geo: GeoSettings = GeoSettings()
    trusted_proxies: tuple[Any, ...] = ()
    cache: CacheSettings = CacheSettings()
    catalog_path: Path | None = None
    attributes: frozenset[str] = frozenset()
    segments: dict[str, Segment] = field(default_factory=dict)
    slots: dict[str, Slot] = field(default_factory=dict)
    store: StoreSettings | None = None
    models: ModelsSettings | None = None
    retrain: RetrainSettings = field(default_factory=RetrainSettings)
    alerts: AlertsSettings | None = None
    source: Path | None = None

    def site_by_secret(self, key: str) -> SiteConfig | None:
        for site in self.sites.values():
            if site.secret_key == key:
                return site
        return None
