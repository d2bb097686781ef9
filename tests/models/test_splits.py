# SPDX-License-Identifier: Apache-2.0
import numpy as np

from slotwise.models.data import Interactions
from slotwise.models.splits import kfold_users, stratified_split, temporal_split


def _inter(n: int = 2000, seed: int = 0) -> Interactions:
    rng = np.random.default_rng(seed)
    users = np.array([f"u{i}" for i in rng.integers(0, 50, n)], dtype=object)
    items = np.array([f"i{i}" for i in rng.integers(0, 40, n)], dtype=object)
    return Interactions(users, items, np.ones(n), rng.uniform(0, 1e6, n))


def test_stratified_split_keeps_about_ratio_of_every_item_and_is_seeded() -> None:
    inter = _inter()
    train, test = stratified_split(inter, 0.75, "item", 42)
    assert not (train & test).any() and (train | test).all()
    for item in set(inter.items.tolist()):
        rows = inter.items == item
        n = rows.sum()
        # ranks from 1, rank <= round(0.75 n), numpy's half-to-even rounding
        assert train[rows].sum() == int(np.round(0.75 * n))
    again, _ = stratified_split(inter, 0.75, "item", 42)
    assert (again == train).all()
    other, _ = stratified_split(inter, 0.75, "item", 7)
    assert (other != train).any()


def test_temporal_split_never_leaks_the_future() -> None:
    inter = _inter()
    inter.timestamps[:100] = 5e5  # ties at a cut must not straddle it
    tr, va, te = temporal_split(inter)
    assert not (tr & va).any() and not (va & te).any() and (tr | va | te).all()
    assert inter.timestamps[tr].max() < inter.timestamps[va].min()
    assert inter.timestamps[va].max() < inter.timestamps[te].min()
    assert abs(tr.mean() - 0.7) < 0.02 and abs(te.mean() - 0.15) < 0.02


def test_user_folds_partition_every_users_rows() -> None:
    inter = _inter()
    folds = kfold_users(inter, 5)
    assert (np.sum(folds, axis=0) == 1).all()
    for user in ["u1", "u2"]:
        rows = inter.users == user
        sizes = [int(f[rows].sum()) for f in folds]
        assert max(sizes) - min(sizes) <= 1
