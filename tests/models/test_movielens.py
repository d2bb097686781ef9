"""ml-latest-small (../shared/data; skipped where absent): protocol split and a quality floor."""
from __future__ import annotations

import csv

import numpy as np

from models.data import Interactions, Index, user_item_matrix
from models.evaluate import evaluate_scores
from models.recommenders import EASE, Popularity, popularity_order
from models.splits import stratified_split
from tests.conftest import shared_data


def test_ease_beats_popularity_on_movielens_with_the_recommenders_protocol() -> None:
    data = shared_data("ml-latest-small")
    with open(data / "ratings.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    inter = Interactions(np.array([r["userId"] for r in rows], dtype=object),
                         np.array([r["movieId"] for r in rows], dtype=object), np.ones(len(rows)))
    train, test = stratified_split(inter, 0.75, "item", 42)
    assert len(inter) == 100_836 and int(train.sum()) == 76_882  # pinned: a change of protocol shows here
    users = Index(sorted(set(inter.users.tolist())))
    base = Index(sorted(set(inter.items.tolist())))
    X0 = user_item_matrix(inter.subset(train), users, base)
    order = popularity_order(np.asarray(X0.sum(axis=0)).ravel())
    items = Index([base.ids[i] for i in order])
    X = user_item_matrix(inter.subset(train), users, items)
    T = user_item_matrix(inter.subset(test), users, items)
    ease = evaluate_scores(EASE(200.0, min_count=5).fit(X).scorer_.predict, X, T, items.ids)
    pop = evaluate_scores(Popularity().fit(X).scorer_.predict, X, T, items.ids)
    assert ease["ndcg@10"] >= 1.8 * pop["ndcg@10"] and ease["ndcg@10"] > 0.382  # SAR's published row
