# SPDX-License-Identifier: Apache-2.0
"""The registries of expression names and recommendation strategies, filled from explicit lists.

Nothing registers itself on import: the config loader and the app factory call
`install_defaults()`, which registers the lists below (the same entries each time).
Tests that add entries remove them again (`unregister` / `unregister_strategy`, via fixtures).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slotwise.gateway.recommend.strategies import Strategy
    from slotwise.gateway.rules.names import NameSpec


def name_sets() -> list[Sequence[NameSpec]]:
    """Context names, profile names, model names: the order they are registered in."""
    from slotwise.gateway.recommend.model_strategies import MODEL_NAMES
    from slotwise.gateway.rules.profile_names import PROFILE_NAMES
    from slotwise.gateway.rules.segments import CONTEXT_NAMES

    return [CONTEXT_NAMES, PROFILE_NAMES, MODEL_NAMES]


def strategy_sets() -> list[Mapping[str, Strategy]]:
    """Catalog strategies, then model strategies (whose `similar` falls back to the catalog's)."""
    from slotwise.gateway.recommend.model_strategies import MODEL_STRATEGIES
    from slotwise.gateway.recommend.strategies import CATALOG_STRATEGIES

    return [CATALOG_STRATEGIES, MODEL_STRATEGIES]


def install_defaults() -> None:
    """Register every default name and strategy (cheap; safe to call again)."""
    from slotwise.gateway.recommend.strategies import register_strategy
    from slotwise.gateway.rules.names import register

    for specs in name_sets():
        for spec in specs:
            register(spec)
    for strategies in strategy_sets():
        for name, fn in strategies.items():
            register_strategy(name, fn)
