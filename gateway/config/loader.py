# SPDX-License-Identifier: Apache-2.0
"""Load and validate `slotwise.yaml`; every error names its path in the file, all at once.

slots.home-hero.variants[2].when: unknown segment 'vip' at column 9

The rules live in the schema (`schema`, `sites`, `slots`, `services`); this module reads the
file, prepares the validation context, and turns the validated schema into a `Config`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from slotwise.gateway.config.errors import ConfigError, messages
from slotwise.gateway.config.fields import ENV_SECTIONS, drop_nulls, expand_env
from slotwise.gateway.config.model import (
    Arm,
    Bandit,
    BusinessHours,
    CacheLimit,
    CacheSettings,
    Config,
    Experiment,
    GatewaySettings,
    GeoSettings,
    SiteConfig,
    Slot,
    Variant,
)
from slotwise.gateway.config.registries import install_defaults
from slotwise.gateway.config.schema import IDENTIFIER, ConfigSchema
from slotwise.gateway.config.slots import check_blocks

__all__ = [
    "Arm",
    "Bandit",
    "BusinessHours",
    "CacheLimit",
    "CacheSettings",
    "Config",
    "ConfigError",
    "Experiment",
    "GatewaySettings",
    "GeoSettings",
    "SiteConfig",
    "Slot",
    "Variant",
    "load_config",
    "parse_config",
]


def load_config(path: str | Path, *, check_files: bool = False) -> Config:
    """Read and validate a file. `check_files`: the files it names must exist (serving, check-config)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read ({exc.strerror})"]) from None
    return parse_config_text(text, path, check_files=check_files)


def parse_config_text(text: str, path: Path, *, check_files: bool = False) -> Config:
    """A configuration given as YAML text, for the file at `path` (relative paths start there)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise ConfigError([f"{path}:{where} invalid YAML: {getattr(exc, 'problem', exc)}"]) from None
    return parse_config(data, base_dir=path.parent, source=path, check_files=check_files)


def parse_config(
    data: Any, base_dir: Path = Path("."), source: Path | None = None, *, check_files: bool = False
) -> Config:
    install_defaults()
    if not isinstance(data, dict):
        raise ConfigError([f"expected a mapping, got {type(data).__name__}"])
    data = drop_nulls(data)
    data = {k: expand_env(v) if k in ENV_SECTIONS else v for k, v in data.items()}
    for key in ("store", "models"):  # an empty section switches the service off, as no section does
        if data.get(key) == {}:
            del data[key]
    errors: list[str] = []
    ctx = _context(data, base_dir, check_files)
    if "slots" in data:
        data["slots"] = check_blocks(data["slots"], ctx, errors)
    try:
        schema = ConfigSchema.model_validate(data, context=ctx)
    except ValidationError as exc:
        raise ConfigError(messages(exc, ConfigSchema) + errors) from None
    if errors:
        raise ConfigError(errors)
    config = _build(schema, base_dir, source, errors)
    if errors:
        raise ConfigError(errors)
    return config


def _context(data: dict[str, Any], base_dir: Path, check_files: bool) -> dict[str, Any]:
    """What expressions and blocks may refer to, read from the raw data (checked by the schema)."""
    segments = data.get("segments")
    attributes = data.get("attributes")
    gateway = data.get("gateway")
    templates = gateway.get("templates_dir") if isinstance(gateway, dict) else None
    templates_dir = base_dir / templates if isinstance(templates, str) else None
    return {
        "base_dir": base_dir,
        "check_files": check_files,
        "segments": {str(n) for n in segments} if isinstance(segments, dict) else set(),
        "attributes": {a for a in attributes if isinstance(a, str) and re.fullmatch(IDENTIFIER, a)}
        if isinstance(attributes, list)
        else set(),
        "templates_dir": templates_dir if templates_dir is not None and templates_dir.is_dir() else None,
    }


def _build(schema: ConfigSchema, base_dir: Path, source: Path | None, errors: list[str]) -> Config:
    gw, cache = schema.gateway, schema.cache
    geo = GeoSettings(tuple(schema.geo.country_headers), tuple(schema.geo.region_headers))
    if schema.geo.maxmind_db:
        geo = _with_maxmind(errors, geo, base_dir / schema.geo.maxmind_db)
    store = schema.store.resolved(base_dir) if schema.store is not None else None
    return Config(
        sites={name: site.runtime(name) for name, site in schema.sites.items()},
        gateway=GatewaySettings(
            gw.slot_budget_ms,
            gw.max_body_bytes,
            gw.max_slots,
            gw.default_ttl,
            base_dir / gw.templates_dir if gw.templates_dir else None,
        ),
        geo=geo,
        trusted_proxies=tuple(schema.trusted_proxies),
        cache=CacheSettings(
            CacheLimit(cache.catalog.size, cache.catalog.ttl),
            CacheLimit(cache.blocks.size, cache.blocks.ttl),
            CacheLimit(cache.pages.size, cache.pages.ttl),
        ),
        catalog_path=base_dir / schema.catalog.path if schema.catalog.path else None,
        attributes=frozenset(schema.attributes),
        segments={name: seg.runtime(name) for name, seg in schema.segments.items()},
        slots={name: slot.runtime(name) for name, slot in schema.slots.items()},
        store=store,
        models=schema.models.model_copy(update={"dir": str(schema.models.root(base_dir))}) if schema.models else None,
        alerts=schema.alerts,
        retrain=schema.retrain,
        source=source,
    )


def _with_maxmind(errors: list[str], geo: GeoSettings, path: Path) -> GeoSettings:
    """Optional MaxMind GeoIP2/GeoLite2 database through the `maxminddb` reader if installed."""
    try:
        import maxminddb  # type: ignore[import-not-found]
    except ImportError:
        errors.append("geo.maxmind_db: needs the 'maxminddb' package (pip install maxminddb)")
        return geo
    try:
        reader = maxminddb.open_database(str(path))
    except (OSError, ValueError) as exc:
        errors.append(f"geo.maxmind_db: cannot open {path}: {exc}")
        return geo

    def lookup(addr: str) -> tuple[str, str | None] | None:
        try:
            rec = reader.get(addr)
        except ValueError:
            return None
        if not isinstance(rec, dict) or "country" not in rec:
            return None
        subs = rec.get("subdivisions") or [{}]
        return rec["country"].get("iso_code"), subs[0].get("iso_code")

    return GeoSettings(geo.country_headers, geo.region_headers, path, lookup)
