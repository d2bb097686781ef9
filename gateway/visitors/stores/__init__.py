# SPDX-License-Identifier: Apache-2.0
"""Stores for events and profiles, chosen by the `store` section of the configuration.

store: {backend: sqlite, path: slotwise.db, retention_days: 365}
store: {backend: redis, url: redis://127.0.0.1:6379/0, prefix: "slotwise:"}
`measure: false` turns off the exposure, KPI and experiment aggregation of ingested events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slotwise.gateway.visitors.stores.base import IngestResult, Store

__all__ = ["IngestResult", "Store", "StoreSettings", "open_store", "parse_store_settings"]

_KEYS = {
    "backend",
    "path",
    "url",
    "prefix",
    "retention_days",
    "synchronous",
    "max_batch",
    "max_batch_bytes",
    "max_future_seconds",
    "rate_limit",
    "enabled",
    "measure",
}


@dataclass(frozen=True)
class StoreSettings:
    enabled: bool = True
    measure: bool = True
    backend: str = "sqlite"
    path: Path = Path("slotwise.db")
    url: str = "redis://127.0.0.1:6379/0"
    prefix: str = "slotwise:"
    retention_days: float = 365.0
    synchronous: str = "normal"
    max_batch: int = 500
    max_batch_bytes: int = 1_048_576
    max_future_seconds: float = 300.0
    rate_limit: dict[str, float] = field(
        default_factory=lambda: {"visitor_per_minute": 1200.0, "client_per_minute": 600000.0}
    )


def parse_store_settings(section: dict[str, Any] | None, base_dir: Path = Path(".")) -> StoreSettings:
    """Validate the `store` section; raises ConfigError naming every key at fault."""
    from slotwise.gateway.config.loader import ConfigError

    raw = dict(section or {})
    errors = [f"store.{k}: unknown key" for k in sorted(set(raw) - _KEYS)]

    def num(key: str, default: float, low: float, high: float) -> float:
        v = raw.get(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not low <= v <= high:
            errors.append(f"store.{key}: must be a number from {low:g} to {high:g}, got {v!r}")
            return default
        return float(v)

    backend = raw.get("backend", "sqlite")
    if backend not in {"sqlite", "redis"}:
        errors.append(f"store.backend: must be sqlite or redis, got {backend!r}")
    sync = raw.get("synchronous", "normal")
    if sync not in {"normal", "full"}:
        errors.append(f"store.synchronous: must be normal or full, got {sync!r}")
    for key in ("path", "url", "prefix"):
        if key in raw and not isinstance(raw[key], str):
            errors.append(f"store.{key}: must be a string")
    rate = raw.get("rate_limit", {})
    limits = dict(StoreSettings().rate_limit)
    if not isinstance(rate, dict):
        errors.append("store.rate_limit: must be a mapping")
        rate = {}
    for k, v in rate.items():
        if k not in limits:
            errors.append(f"store.rate_limit.{k}: unknown key (visitor_per_minute, client_per_minute)")
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
            errors.append(f"store.rate_limit.{k}: must be a positive number, got {v!r}")
        else:
            limits[k] = float(v)
    settings = StoreSettings(
        enabled=raw.get("enabled", True) is not False,
        measure=raw.get("measure", True) is not False,
        backend=str(backend),
        path=base_dir / str(raw.get("path", "slotwise.db")),
        url=str(raw.get("url", StoreSettings.url)),
        prefix=str(raw.get("prefix", StoreSettings.prefix)),
        retention_days=num("retention_days", 365, 1, 36500),
        synchronous=str(sync),
        max_batch=int(num("max_batch", 500, 1, 100000)),
        max_batch_bytes=int(num("max_batch_bytes", 1_048_576, 1024, 64 * 1_048_576)),
        max_future_seconds=num("max_future_seconds", 300, 0, 86400),
        rate_limit=limits,
    )
    if errors:
        raise ConfigError(errors)
    return settings


def open_store(settings: StoreSettings) -> Store:
    store: Store
    if settings.backend == "redis":
        from slotwise.gateway.visitors.stores.redis import RedisStore

        store = RedisStore(settings.url, prefix=settings.prefix, retention_days=settings.retention_days)
    else:
        from slotwise.gateway.visitors.stores.sqlite import SQLiteStore

        store = SQLiteStore(settings.path, retention_days=settings.retention_days, synchronous=settings.synchronous)
    store.measure_enabled = settings.measure
    return store


async def build_store(config: Any) -> Store | None:
    """The store of a loaded Config, or None when it has no `store` section (profiles off)."""
    if not config.store:
        return None
    base = config.source.parent if getattr(config, "source", None) else Path(".")
    settings = parse_store_settings(config.store, base)
    if not settings.enabled:
        return None
    store = open_store(settings)
    store.settings = settings  # type: ignore[attr-defined]  # read by the event routes
    from slotwise.gateway.measure.attribution import settings_from_config

    store.measure = settings_from_config(config)
    return store
