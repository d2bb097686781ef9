# SPDX-License-Identifier: Apache-2.0
"""ONNX-served recommendation strategies and model names for the expression language.

Strategies `cf`, `content`, `hybrid` and `similar` score the visitor's weighted interactions
with the recommender bundle's model for that role; rows from the slots of one render are
batched into one inference. Names `segment.ml` (the K-Means segment's editable name) and
`propensity` (purchase probability of this session) read the segments and propensity bundles.
Without a loaded bundle every strategy returns nothing (the render tops up with popular
items) and `similar` falls back to the catalog's content overlap.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from slotwise.gateway.recommend import strategies as recommend
from slotwise.gateway.recommend.bundles import Bundle, ModelRegistry
from slotwise.gateway.rules.expr import Env, NameSpec, name_spec
from slotwise.gateway.visitors.features import FeatureSpec, feature_vector

log = logging.getLogger("slotwise.models")
CART_WEIGHT = 2.0  # items in the cart say more about intent than a view
TTL_S = 900.0  # model outputs drift with recency: recompute blocks at least this often


def registry(env: Env) -> ModelRegistry | None:
    reg = getattr(env.services, "models", None)
    return reg if isinstance(reg, ModelRegistry) else None


def visitor_weights(env: Env) -> dict[str, float]:
    """Item → weight from the profile (decayed scores, cart) and the page's item."""
    weights: dict[str, float] = {}
    p = env.profile
    if p is not None:
        for item, w in (getattr(p, "items", None) or {}).items():
            weights[item] = float(w)
        if not weights:
            for k, item in enumerate(getattr(p, "recent_items", None) or []):
                weights[item] = 1.0 / (1 + k)
        for item in getattr(p, "cart", None) or []:
            weights[item] = max(weights.get(item, 0.0), CART_WEIGHT)
    if env.ctx.item_id:
        weights[env.ctx.item_id] = max(weights.get(env.ctx.item_id, 0.0), 1.0)
    return weights


def rank(
    bundle: Bundle, scores: np.ndarray, env: Env, block: dict[str, Any], count: int, exclude: set[str]
) -> list[str]:
    """Best-scoring catalog items, skipping masked (seen) ones and other categories."""
    catalog = env.runtime.catalog
    category = block.get("category")
    s = scores.reshape(-1)
    want = min(len(s), max(count * 4, count + len(exclude) + 8))
    for _ in range(2):  # a narrow category may need a deeper look
        top = np.argpartition(-s, want - 1)[:want] if want < len(s) else np.arange(len(s))
        top = top[np.argsort(-s[top], kind="stable")]
        out = []
        for k in top:
            if s[k] <= -1e8:
                break
            item_id = bundle.items[k]
            if item_id in exclude:
                continue
            item = catalog.get(item_id)
            if item is None or (category and category.lower() not in {c.lower() for c in item.get("categories", [])}):
                continue
            out.append(item_id)
            if len(out) == count:
                return out
        if want >= len(s):
            break
        want = len(s)
    return out


async def _score(env: Env, bundle: Bundle, role: str, weights: dict[str, float]) -> np.ndarray | None:
    model = bundle.role(role)
    reg = registry(env)
    if model is None or reg is None:
        return None
    key = ("model-scores", bundle.version, model.name, tuple(sorted(weights.items())))
    cached = env.memo.get(key)
    if cached is None:
        cached = env.memo[key] = await reg.batcher.run(model, bundle.encode(weights))
    return cached


def _strategy(role: str) -> recommend.Strategy:
    async def strategy(env: Env, block: dict[str, Any], count: int) -> list[str]:
        reg = registry(env)
        bundle = reg.by_kind("recommender") if reg is not None else None
        weights = visitor_weights(env)
        if bundle is None or not weights:
            return []  # cold start: the render tops up with popular items
        scores = await _score(env, bundle, role, weights)
        if scores is None:
            return []
        env.bound(env.now + TTL_S)
        return rank(bundle, scores, env, block, count, set(weights))

    strategy.__name__ = f"model_{role}"
    return strategy


async def similar(env: Env, block: dict[str, Any], count: int) -> list[str]:
    """Items like the page's item (or the latest one seen): depends on that item only."""
    reg = registry(env)
    bundle = reg.by_kind("recommender") if reg is not None else None
    anchor = env.ctx.item_id or next(iter(recommend.seen_items(env)), None)
    if bundle is not None and anchor is not None and anchor in bundle.item_pos:
        scores = await _score(env, bundle, "similar", {anchor: 1.0})
        if scores is not None:
            return rank(bundle, scores, env, block, count, {anchor})
    return await recommend.similar(env, block, count)


# Registered by config.registries after the catalog strategies: `similar` replaces the catalog's.
MODEL_STRATEGIES: dict[str, recommend.Strategy] = {
    **{role: _strategy(role) for role in ("cf", "content", "hybrid")},
    "similar": similar,
}


def _features_row(env: Env, bundle: Bundle) -> np.ndarray:
    spec = env.memo.get(("feature-spec", bundle.version))
    if spec is None:
        spec = env.memo[("feature-spec", bundle.version)] = FeatureSpec.from_json(bundle.manifest.get("features") or {})
    return feature_vector(env.profile, spec, env.now).reshape(1, -1)


def _segment_ml(env: Env, wild: tuple[str, ...], args: tuple[Any, ...]) -> str | None:
    reg = registry(env)
    bundle = reg.by_kind("segments") if reg is not None else None
    if bundle is None or env.profile is None:
        return None
    key = ("segment.ml", bundle.version)
    if key not in env.memo:
        label = int(np.asarray(bundle.models[bundle.default].run(_features_row(env, bundle))).reshape(-1)[0])
        env.memo[key] = (bundle.manifest.get("segments") or {}).get(str(label), str(label))
    env.bound(env.now + TTL_S)
    return env.memo[key]  # type: ignore[no-any-return]


def _propensity(env: Env, wild: tuple[str, ...], args: tuple[Any, ...]) -> float:
    reg = registry(env)
    bundle = reg.by_kind("propensity") if reg is not None else None
    if bundle is None:
        return 0.0
    key = ("propensity", bundle.version)
    if key not in env.memo:
        model = bundle.models[bundle.default]
        col = int(bundle.manifest["models"][bundle.default].get("positive_column", 1))
        env.memo[key] = float(np.asarray(model.run(_features_row(env, bundle)))[0, col])
    env.bound(env.now + TTL_S)
    return env.memo[key]  # type: ignore[no-any-return]


# Registered by config.registries (never on import).
MODEL_NAMES: tuple[NameSpec, ...] = (
    name_spec(
        "segment.ml",
        "str",
        _segment_ml,
        doc="name of the visitor's machine-learned segment (K-Means bundle; null without a profile)",
    ),
    name_spec(
        "propensity",
        "num",
        _propensity,
        doc="probability 0..1 that this session ends in a purchase (propensity bundle)",
    ),
)
