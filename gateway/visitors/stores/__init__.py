# SPDX-License-Identifier: Apache-2.0
"""Stores for events and profiles, chosen by the `store` section of the configuration.

store: {backend: sqlite, path: slotwise.db, retention_days: 365}
store: {backend: redis, url: redis://127.0.0.1:6379/0, prefix: "slotwise:"}
`measure: false` turns off the exposure, KPI and experiment aggregation of ingested events.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from slotwise.gateway.config.services import StoreSettings, validate_section
from slotwise.gateway.visitors.stores.base import IngestResult, Store

__all__ = ["IngestResult", "Store", "StoreSettings", "open_store", "parse_store_settings"]


def parse_store_settings(section: dict[str, Any] | StoreSettings | None, base_dir: Path = Path(".")) -> StoreSettings:
    """The `store` section as settings (validated by the config schema); ConfigError names every fault."""
    settings = (
        section if isinstance(section, StoreSettings) else validate_section("store", StoreSettings, section or {})
    )
    return settings.resolved(base_dir)


def open_store(settings: StoreSettings) -> Store:
    store: Store
    if settings.backend == "redis":
        from slotwise.gateway.visitors.stores.redis import RedisStore

        store = RedisStore(
            settings.url, prefix=settings.prefix, retention_days=settings.retention_days, export_log=settings.export_log
        )
    else:
        from slotwise.gateway.visitors.stores.sqlite import SQLiteStore

        store = SQLiteStore(
            settings.path,
            retention_days=settings.retention_days,
            synchronous=settings.synchronous,
            wal_limit_bytes=settings.wal_limit_mb * 1024 * 1024,
            cache_mb=settings.cache_mb,
        )
    store.measure_enabled = settings.measure
    return store


async def build_store(config: Any) -> Store | None:
    """The store of a loaded Config, or None when it has no `store` section (profiles off)."""
    if not config.store:
        return None
    settings = parse_store_settings(config.store)  # paths were resolved by the loader
    if not settings.enabled:
        return None
    store = open_store(settings)
    store.settings = settings  # type: ignore[attr-defined]  # read by the event routes
    from slotwise.gateway.measure.attribution import settings_from_config

    store.measure = settings_from_config(config)
    return store
