# SPDX-License-Identifier: Apache-2.0
"""Long-lived services (stores, model registry) built in the app's lifespan and on reload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slotwise.gateway.config.loader import Config


@dataclass
class Services:
    store: Any = None
    """Events and profiles store (SQLite or Redis), or None when profiles are off."""
    models: Any = None
    """Registry of loaded ONNX model bundles, or None when no models are configured."""


async def open_store(config: Config) -> Any:
    from slotwise.gateway.visitors.stores import build_store

    return await build_store(config)


async def open_models(config: Config) -> Any:
    """The model registry with its bundles loaded (a bad bundle is logged and skipped)."""
    from slotwise.gateway.recommend.bundles import build_registry

    registry = build_registry(config.models)  # the loader made `models.dir` absolute
    if registry is not None:
        await registry.areload()
        registry.start_watch()
    return registry


async def build_services(config: Config) -> Services:
    return Services(store=await open_store(config), models=await open_models(config))


async def close_parts(parts: list[Any]) -> None:
    for part in parts:
        close = getattr(part, "close", None)
        if close is not None:
            result = close()
            if hasattr(result, "__await__"):
                await result


async def close_services(services: Services) -> None:
    await close_parts([services.store, services.models])
