# SPDX-License-Identifier: Apache-2.0
"""The schema of `slotwise.yaml`: one pydantic model per section, validated in one pass.

Validation context (from the loader): `base_dir` (paths are relative to the file),
`check_files` (the catalog file must exist), `segments` and `attributes` (for expressions).
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from slotwise.gateway.config.errors import fail
from slotwise.gateway.config.fields import Name, Strict, between
from slotwise.gateway.config.services import ModelsSettings, RetrainSettings, StoreSettings
from slotwise.gateway.config.sites import SiteSchema
from slotwise.gateway.config.slots import SegmentSchema, SlotSchema, find_cycle

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"


def _base(info: ValidationInfo) -> Path:
    return Path((info.context or {}).get("base_dir", "."))


def _network(value: Any) -> Any:
    try:
        return ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        fail(f"not an IP address or network: {value!r}")


def _identifier(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(IDENTIFIER, value):
        fail(f"attribute names are identifiers, got {value!r}")
    return value


class GatewaySchema(Strict):
    slot_budget_ms: between(1, 10000) = 50.0  # type: ignore[valid-type]
    max_body_bytes: between(1024, 64 * 1024 * 1024, int) = 65536  # type: ignore[valid-type]
    max_slots: between(1, 200, int) = 20  # type: ignore[valid-type]
    default_ttl: between(0, 86400, int) = 300  # type: ignore[valid-type]
    templates_dir: str | None = None

    @field_validator("templates_dir")
    @classmethod
    def _dir(cls, value: str, info: ValidationInfo) -> str:
        if not (_base(info) / value).is_dir():
            fail(f"no such directory: {_base(info) / value}")
        return value


class GeoSchema(Strict):
    country_headers: list[str] = Field(default_factory=list)
    region_headers: list[str] = Field(default_factory=list)
    maxmind_db: str | None = None


class CatalogCache(Strict):
    size: between(0, 10_000_000, int) = 10000  # type: ignore[valid-type]
    ttl: between(0, 86400) = 300.0  # type: ignore[valid-type]


class BlockCache(Strict):
    size: between(0, 10_000_000, int) = 5000  # type: ignore[valid-type]
    ttl: between(0, 86400) = 60.0  # type: ignore[valid-type]


class CacheSchema(Strict):
    catalog: CatalogCache = CatalogCache()
    blocks: BlockCache = BlockCache()


class CatalogSchema(Strict):
    path: str | None = None

    @field_validator("path")
    @classmethod
    def _exists(cls, value: str, info: ValidationInfo) -> str:
        path = _base(info) / value
        if (info.context or {}).get("check_files") and not path.is_file():
            fail(f"no such file: {path} (write it with `slotwise sync`)")
        return value


class ConfigSchema(Strict):
    sites: dict[Name, SiteSchema] = Field(default_factory=dict, validate_default=True)
    gateway: GatewaySchema = GatewaySchema()
    geo: GeoSchema = GeoSchema()
    trusted_proxies: list[Annotated[Any, AfterValidator(_network)]] = Field(default_factory=list)
    cache: CacheSchema = CacheSchema()
    catalog: CatalogSchema = CatalogSchema()
    attributes: list[Annotated[Any, AfterValidator(_identifier)]] = Field(default_factory=list)
    segments: dict[Name, SegmentSchema] = Field(default_factory=dict)
    slots: dict[Name, SlotSchema] = Field(default_factory=dict)
    store: StoreSettings | None = None
    models: ModelsSettings | None = None
    retrain: RetrainSettings = RetrainSettings()

    @field_validator("sites")
    @classmethod
    def _sites(cls, sites: dict[str, SiteSchema]) -> dict[str, SiteSchema]:
        if not sites:
            fail("at least one site is required")
        keys = [k for s in sites.values() for k in (s.publishable_key, s.secret_key)]
        if len(keys) != len(set(keys)):
            fail("every key must be unique across sites")
        return sites

    @field_validator("slots")
    @classmethod
    def _unique_keys(cls, slots: dict[str, SlotSchema]) -> dict[str, SlotSchema]:
        # Impressions name an experiment or a bandit by its key alone: one key, one meaning.
        owner: dict[str, str] = {}
        for name, slot in slots.items():
            for variant in slot.variants:
                key = variant.experiment.key if variant.experiment else None
                if variant.bandit is not None:
                    key = variant.bandit.key or name
                if key is None:
                    continue
                if key in owner and owner[key] != name:
                    fail(
                        f"key '{key}' is used by slots '{owner[key]}' and '{name}': "
                        "experiment and bandit keys must be unique"
                    )
                owner[key] = name
        return slots

    @field_validator("segments")
    @classmethod
    def _acyclic(cls, segments: dict[str, SegmentSchema]) -> dict[str, SegmentSchema]:
        cycle = find_cycle({n: s.when.segments for n, s in segments.items()})
        if cycle:
            fail(f"segments refer to each other in a cycle: {' -> '.join(cycle)}")
        return segments
