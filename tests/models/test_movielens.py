# SPDX-License-Identifier: Apache-2.0
"""ml-latest-small (../shared/data; skipped where absent): protocol split and a quality floor."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from slotwise.models.data import Index, read_interactions, user_item_matrix
from slotwise.models.recommenders import EASE, Popularity, popularity_order
from slotwise.models.scoring import evaluate_scores
from slotwise.models.splits import stratified_split
from tests.conftest import shared_data


def test_ease_beats_popularity_on_movielens_with_the_recommenders_protocol() -> None:
    data = shared_data("ml-latest-small")
    inter = read_interactions(data / "ratings.csv")  # MovieLens' userId, movieId are aliases it knows
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


def test_cli_trains_movielens_bundles_the_gateway_loads(tmp_path: Path) -> None:
    from slotwise.gateway.recommend.bundles import ModelRegistry
    from slotwise.models.cli import main

    data = shared_data("ml-latest-small")
    ratings, movies = str(data / "ratings.csv"), str(data / "movies.csv")
    assert (
        main(
            [
                "train",
                "recommender",
                "--interactions",
                ratings,
                "--items",
                movies,
                "--out",
                str(tmp_path / "recs"),
                "--lambda",
                "200",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "train",
                "segments",
                "--interactions",
                ratings,
                "--items",
                movies,
                "--out",
                str(tmp_path / "segs"),
                "--k-max",
                "4",
                "--quiet",
            ]
        )
        == 0
    )
    reg = ModelRegistry(tmp_path)
    assert not reg.reload()["refused"]
    recs = reg.get("recs")
    assert recs is not None and len(recs.items) == 9742
    # Toy Story (1) and Toy Story 2 (3114): the similar-items model puts the other near the top
    scores = recs.role("similar").run(recs.encode({"1": 1.0}))  # type: ignore[union-attr]
    top = [recs.items[k] for k in (-scores[0]).argsort()[:20]]
    assert "3114" in top
