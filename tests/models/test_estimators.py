# SPDX-License-Identifier: Apache-2.0
"""Recommenders follow scikit-learn's estimator API; DLAE and the Woodbury path match their
definitions and their ONNX graphs; models with equal scores are aliases, not copies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import scipy.sparse as sp
from sklearn.base import clone

from slotwise.models.data import events_to_interactions
from slotwise.models.recommenders import EASE, Content, ItemKNN, Popularity, _gram_inverse
from slotwise.models.train_recommender import _bracket, train_recommender


def _X(n_users: int = 50, n_items: int = 70, seed: int = 1) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    return sp.csr_matrix((rng.random((n_users, n_items)) < np.linspace(0.5, 0.05, n_items)).astype(np.float64))


def test_estimators_clone_and_set_params() -> None:
    for est in (EASE(lam=30.0, dropout=0.25), ItemKNN(k=5), Content(rank=4), Popularity()):
        twin = clone(est)
        assert twin.get_params() == est.get_params() and not hasattr(twin, "scorer_")
    e = EASE().set_params(lam=7.0, dropout=0.5)
    assert e.get_params()["lam"] == 7.0 and e.get_params()["dropout"] == 0.5
    assert EASE(dropout=0.5).fit(_X()).kind_ == "dlae" and EASE().fit(_X()).kind_ == "ease"


def test_woodbury_inverse_equals_the_direct_one() -> None:
    X = _X(n_users=20, n_items=60)  # fewer users than items: Woodbury's path
    reg = np.linspace(5.0, 50.0, 60)
    G = (X.T @ X).toarray() + np.diag(reg)
    assert np.abs(_gram_inverse(X, 60, reg) - np.linalg.inv(G)).max() < 1e-8


def test_dlae_is_steck_2020_closed_form_and_exports_exactly() -> None:
    X, lam, p = _X(), 20.0, 0.3
    G = (X.T @ X).toarray()
    L = np.diag(lam + p / (1 - p) * np.diag(G))
    B = np.eye(len(G)) - np.linalg.inv(G + L) @ L  # argmin |X - XB|² + |Λ^½ B|², B = (G + Λ)⁻¹G
    np.fill_diagonal(B, 0.0)
    got = EASE(lam, dropout=p, min_count=1).fit(X).scorer_
    assert np.abs(got.terms[0].first - B).max() < 1e-5
    x = np.asarray(X[:6].toarray(), np.float32)
    x[0] = 0.0
    sess = ort.InferenceSession(got.to_onnx().SerializeToString(), providers=["CPUExecutionProvider"])
    assert np.abs(sess.run(["scores"], {"interactions": x})[0] - got.predict(x)).max() <= 1e-4


def test_lambda_search_brackets_its_optimum() -> None:
    calls: list[float] = []

    def score(lam: float) -> float:
        calls.append(lam)
        return -abs(np.log(lam / 3000.0))

    best, _ = _bracket(score, (100.0, 200.0, 400.0, 800.0))
    assert best in {3200.0} and max(calls) > best  # grew past the first grid until the score turned down
    best, _ = _bracket(score, (1e5, 2e5))
    assert best == 3125.0 and min(calls) < best


def test_without_item_features_hybrid_and_similar_are_aliases(store: dict[str, Any], tmp_path: Path) -> None:
    said: list[str] = []
    train_recommender(events_to_interactions(store["events"]), None, tmp_path / "b", progress=said.append)
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    for name in ("hybrid", "similar"):
        entry = manifest["models"][name]
        assert entry["alias_of"] == "ease" and entry["file"] == "ease.onnx"
        assert any(m.startswith(f"{name} is the same model as ease") for m in said)
    assert sorted(p.name for p in (tmp_path / "b").glob("*.onnx")) == ["ease.onnx", "popularity.onnx"]
    from slotwise.gateway.recommend.bundles import load_bundle

    b = load_bundle(tmp_path / "b")
    x = b.encode({store["items"][0]["item_id"]: 1.0})
    assert np.array_equal(b.role("similar").run(x), b.role("cf").run(x))  # type: ignore[union-attr]
