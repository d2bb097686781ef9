# SPDX-License-Identifier: Apache-2.0
"""Recommendation strategies: name → async function giving item ids, best first.

`STRATEGIES` is filled by `config.registries` from explicit lists: `CATALOG_STRATEGIES` here
(they need only the catalog and the visitor's profile) and the ONNX ones of `model_strategies`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slotwise.gateway.recommend.catalog import Catalog
from slotwise.gateway.rules.expr import Env

Strategy = Callable[[Env, dict[str, Any], int], Awaitable[list[str]]]
STRATEGIES: dict[str, Strategy] = {}


def register_strategy(name: str, fn: Strategy) -> None:
    STRATEGIES[name] = fn


def unregister_strategy(name: str) -> Strategy | None:
    """Remove a strategy again (tests clean up what they register)."""
    return STRATEGIES.pop(name, None)


def seen_items(env: Env) -> list[str]:
    profile = env.profile
    return list(getattr(profile, "recent_items", None) or []) if profile is not None else []


async def popular(env: Env, block: dict[str, Any], count: int) -> list[str]:
    exclude = [env.ctx.item_id] if env.ctx.item_id else []
    catalog: Catalog = env.runtime.catalog
    return catalog.popular(count, exclude, block.get("category"))


async def recently_viewed(env: Env, block: dict[str, Any], count: int) -> list[str]:
    catalog = env.runtime.catalog
    return [i for i in seen_items(env) if i != env.ctx.item_id and catalog.get(i)][:count]


async def similar(env: Env, block: dict[str, Any], count: int) -> list[str]:
    anchor = env.ctx.item_id or next(iter(seen_items(env)), None)
    if anchor is None:
        return []
    catalog: Catalog = env.runtime.catalog
    return catalog.similar(anchor, count)


CATALOG_STRATEGIES: dict[str, Strategy] = {"popular": popular, "recently_viewed": recently_viewed, "similar": similar}
