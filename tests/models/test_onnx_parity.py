# SPDX-License-Identifier: Apache-2.0
"""Every exported model: onnxruntime output equals the numpy / scikit-learn output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import scipy.sparse as sp

from slotwise.gateway.visitors.features import FeatureSpec, feature_matrix, profiles_from_events
from slotwise.models.data import events_to_interactions, with_categories
from slotwise.models.onnxgraph import Scorer
from slotwise.models.propensity import train_propensity
from slotwise.models.recommenders import EASE, Content, ItemKNN, Popularity, blend
from slotwise.models.segments import train_segments
from slotwise.models.train_recommender import train_recommender


def _session(model: Any) -> ort.InferenceSession:
    data = model if isinstance(model, bytes) else model.SerializeToString()
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def _check(scorer: Scorer, x: np.ndarray) -> None:
    got = _session(scorer.to_onnx()).run(["scores"], {"interactions": x})[0]
    want = scorer.predict(x)
    assert got.shape == want.shape == x.shape
    assert np.abs(got - want).max() <= 1e-4
    for g, w, row in zip(got, want, x, strict=False):
        unseen = int((row <= 0).sum())
        k = min(10, unseen)
        # same top-10 set, order compared where scores are not tied within tolerance
        assert set(np.argsort(-g, kind="stable")[:k]) == set(np.argsort(-w, kind="stable")[:k]) or np.allclose(
            np.sort(g)[-k:], np.sort(w)[-k:], atol=1e-4
        )


def _data(n_users: int = 60, n_items: int = 80, seed: int = 0) -> tuple[sp.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(seed)
    pop = np.linspace(3, 0.2, n_items)
    X = sp.csr_matrix((rng.random((n_users, n_items)) < pop / n_items * 8).astype(np.float64))
    x = (rng.random((5, n_items)) < 0.1).astype(np.float32) * rng.uniform(0.2, 3.0, (5, n_items)).astype(np.float32)
    x[0] = 0.0  # a visitor without interactions
    return X, x


@pytest.mark.parametrize("half", [False, True])
def test_recommender_graphs_match_numpy(half: bool) -> None:
    X, x = _data()
    items = [{"item_id": f"i{k}", "title": f"thing {k % 7}", "categories": [f"c{k % 4}"]} for k in range(X.shape[1])]
    ease = EASE(50.0, min_count=1).fit(X).scorer_
    content = Content(rank=8, min_df=1).fit(X, items).scorer_
    pop = Popularity().fit(X).scorer_
    for s in [
        ease,
        EASE(50.0, dropout=0.25, min_count=1).fit(X).scorer_,  # DLAE: the default on MovieLens
        content,
        pop,
        ItemKNN(k=10, min_count=1).fit(X).scorer_,
        EASE(50.0, min_count=1, max_dense=10, rank=6).fit(X).scorer_,  # low-rank path
        blend(X.shape[1], [(ease, 1.0), (content, 0.1)], pop.bias, 1e-4),
    ]:
        _check(s.halved() if half else s, x)


def test_cold_visitor_gets_popularity_order_and_seen_items_are_masked() -> None:
    X, x = _data()
    s = EASE(50.0).fit(X).scorer_
    out = _session(s.to_onnx()).run(["scores"], {"interactions": x})[0]
    counts = np.asarray(X.sum(axis=0)).ravel()
    assert list(np.argsort(-out[0], kind="stable")[:5]) == list(np.argsort(-counts, kind="stable")[:5])
    assert (out[x > 0] <= -1e8).all()


def test_bundle_models_match_their_numpy_twins(store: dict[str, Any], tmp_path: Path) -> None:
    inter = events_to_interactions(store["events"])
    res = train_recommender(inter, store["items"], tmp_path / "rec", progress=lambda m: None)
    manifest = json.loads((tmp_path / "rec" / "manifest.json").read_text())
    n = manifest["n_items"]
    rng = np.random.default_rng(1)
    x = (rng.random((4, n)) < 0.05).astype(np.float32)
    assert set(manifest["models"]) == set(res["scorers"])
    for name, entry in manifest["models"].items():
        got = _session((tmp_path / "rec" / entry["file"]).read_bytes()).run(["scores"], {"interactions": x})[0]
        want = res["scorers"][name].predict(x)
        assert np.abs(got - want).max() <= 1e-4, name
        for g, w in zip(got, want, strict=False):
            assert list(np.argsort(-g, kind="stable")[:10]) == list(np.argsort(-w, kind="stable")[:10]), name


def test_segments_pipeline_matches_scikit_learn(store: dict[str, Any], tmp_path: Path) -> None:
    result = train_segments(store["events"], store["items"], tmp_path / "seg", range(2, 5), progress=lambda m: None)
    F = result["F"]
    sess = _session((tmp_path / "seg" / "segments.onnx").read_bytes())
    label, proba = sess.run(["label", "probabilities"], {"features": F})
    assert (label.reshape(-1) == result["pipeline"].predict(F)).all()
    assert np.abs(proba - result["pipeline"].predict_proba(F)).max() <= 1e-4


def test_propensity_matches_scikit_learn(store: dict[str, Any], tmp_path: Path) -> None:
    result = train_propensity(store["events"], store["items"], tmp_path / "prop", progress=lambda m: None)
    X = result["X"][:200]
    sess = _session((tmp_path / "prop" / "propensity.onnx").read_bytes())
    probs = sess.run(["probabilities"], {"features": X})[0]
    assert np.abs(probs - result["model"].predict_proba(X)).max() <= 1e-4
    assert result["metrics"]["auc"] > 0.7  # a real signal was planted


def test_feature_matrix_width_matches_spec(store: dict[str, Any]) -> None:
    profiles = profiles_from_events(with_categories(store["events"], store["items"]))
    spec = FeatureSpec.fit(profiles.values())
    F = feature_matrix(profiles.values(), spec, 1_793_500_000.0)
    assert F.shape == (len(profiles), len(spec.names)) and F.dtype == np.float32
