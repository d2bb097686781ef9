# SPDX-License-Identifier: Apache-2.0
"""Fitting every served model on a split and scoring it from its ONNX graph; a rating baseline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from slotwise.models.data import Index, Interactions, user_item_matrix
from slotwise.models.scoring import evaluate_scores, onnx_score_fn
from slotwise.models.train_recommender import DEFAULT_CONTENT_WEIGHT, fit_models, prepare


def evaluate_split(
    inter: Interactions,
    items: list[dict[str, Any]] | None,
    train: np.ndarray,
    test: np.ndarray,
    lam: float = 200.0,
    content_weight: float | None = None,
    k: int = 10,
    via_onnx: bool = True,
    dropout: float = 0.0,
) -> dict[str, dict[str, float]]:
    """Fit every served model on `train` rows and score `test` rows, popularity included.

    Scores come from onnxruntime running the exported graphs (`via_onnx`), so the figures are
    those of what the gateway serves. Test interactions already seen in training are dropped.
    A model that is an alias of another (same scores, see `fit_models`) is not scored twice.
    """
    tr, te = inter.subset(train), inter.subset(test)
    _, index, _, rows = prepare(tr, items)
    users = Index(sorted(set(inter.users.tolist())))
    X = user_item_matrix(tr, users, index)
    T = user_item_matrix(te, users, index)
    T = sp.csr_matrix(T - T.multiply(X > 0))
    T.eliminate_zeros()
    has_content = bool(items) and any(r.get("title") or r.get("categories") for r in rows)
    weight = content_weight if content_weight is not None else DEFAULT_CONTENT_WEIGHT
    scorers, _aliases = fit_models(X, rows, lam, weight, has_content, dropout)  # aliases: same scores, not repeated
    pop = np.asarray(X.sum(axis=0)).ravel()
    out = {}
    for name, s in scorers.items():
        fn = onnx_score_fn(s.to_onnx(name).SerializeToString()) if via_onnx else s.predict
        out[name] = evaluate_scores(fn, X, T, index.ids, k, popularity=pop)
    return out


def bias_baseline(
    ratings_train: tuple[np.ndarray, np.ndarray, np.ndarray], reg: float = 10.0
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Rating predictor: global mean + regularized user and item biases (for RMSE/MAE)."""
    u, i, r = ratings_train
    mu = float(r.mean())
    ib: dict[Any, float] = {}
    sums: dict[Any, list[float]] = {}
    for item, val in zip(i, r, strict=False):
        sums.setdefault(item, []).append(val - mu)
    ib = {k: sum(v) / (len(v) + reg) for k, v in sums.items()}
    su: dict[Any, list[float]] = {}
    for user, item, val in zip(u, i, r, strict=False):
        su.setdefault(user, []).append(val - mu - ib.get(item, 0.0))
    ub = {k: sum(v) / (len(v) + reg) for k, v in su.items()}
    return lambda us, its: np.array([mu + ub.get(a, 0.0) + ib.get(b, 0.0) for a, b in zip(us, its, strict=False)])
