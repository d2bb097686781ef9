# SPDX-License-Identifier: Apache-2.0
"""Long-lived services (stores, model registry) built once in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slotwise.gateway.config.loader import Config


@dataclass
class Services:
    store: Any = None
    """Events and profiles store (SQLite or Redis), or None when profiles are off."""
    models: Any = None
    """Registry of loaded ONNX model bundles, or None when no models are configured."""


async def build_services(config: Config) -> Services:
    from slotwise.gateway.recommend.bundles import build_registry
    from slotwise.gateway.visitors.stores import build_store

    services = Services()
    base = config.source.parent if config.source is not None else Path(".")
    services.models = build_registry(config.models, base)  # validates `models:` before anything opens
    services.store = await build_store(config)
    if services.models is not None:
        await services.models.areload()  # a bad bundle is logged and skipped, never fatal
        services.models.start_watch()
    return services


async def close_services(services: Services) -> None:
    for part in (services.store, services.models):
        close = getattr(part, "close", None)
        if close is not None:
            result = close()
            if hasattr(result, "__await__"):
                await result
