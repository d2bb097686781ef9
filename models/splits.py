# SPDX-License-Identifier: Apache-2.0
"""Train/test splits: stratified (Microsoft Recommenders protocol), temporal, per-user, k-fold."""

from __future__ import annotations

import numpy as np

from slotwise.models.data import Interactions


def stratified_split(
    inter: Interactions, ratio: float = 0.75, filter_by: str = "item", seed: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    """Masks (train, test) like `python_stratified_split`: per group, a random `ratio` to train.

    Each row gets a uniform draw from `np.random.seed(seed)`; rows are ranked inside their
    group (user or item) by that draw, counting from 1, and rows with rank <= round(ratio *
    count) (numpy rounding, half to even) go to training, as the reference implementation does.
    """
    if filter_by not in {"user", "item"}:
        raise ValueError(f"filter_by must be 'user' or 'item', not {filter_by!r}")
    np.random.seed(seed)
    draw = np.random.rand(len(inter))
    keys = inter.items if filter_by == "item" else inter.users
    _, group = np.unique(keys.astype(str), return_inverse=True)
    order = np.lexsort((draw, group))
    g = group[order]
    counts = np.bincount(g)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.arange(len(g)) - starts[g] + 1
    train = np.zeros(len(inter), dtype=bool)
    train[order] = rank <= np.round(ratio * counts[g])
    return train, ~train


def temporal_split(
    inter: Interactions, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Global time cut: everything in validation/test happens after all of training."""
    if inter.timestamps is None:
        raise ValueError("a temporal split needs a 'timestamp' column")
    if abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"split fractions must add up to 1, not {sum(fractions)}")
    t = inter.timestamps
    order = np.argsort(t, kind="stable")
    n = len(t)
    a, b = round(n * fractions[0]), round(n * (fractions[0] + fractions[1]))
    # Ties at a cut go to the earlier part so no row shares a timestamp with a later split.
    cut1 = t[order[a - 1]] if a > 0 else -np.inf
    cut2 = t[order[b - 1]] if b > 0 else -np.inf
    return t <= cut1, (t > cut1) & (t <= cut2), t > cut2


def per_user_random_split(inter: Interactions, ratio: float = 0.75, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    return stratified_split(inter, ratio, "user", seed)


def kfold_users(inter: Interactions, k: int = 5, seed: int = 42) -> list[np.ndarray]:
    """Fold id per row: each user's interactions spread over k folds at random."""
    rng = np.random.default_rng(seed)
    folds = np.empty(len(inter), dtype=np.int64)
    _, group = np.unique(inter.users.astype(str), return_inverse=True)
    order = np.lexsort((rng.random(len(inter)), group))
    g = group[order]
    counts = np.bincount(g)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    offset = rng.integers(0, k, size=len(counts))
    folds[order] = (np.arange(len(g)) - starts[g] + offset[g]) % k
    return [folds == f for f in range(k)]
