# SPDX-License-Identifier: Apache-2.0
"""Scoring users with a model (numpy or onnxruntime) and turning scores into ranking metrics."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from slotwise.models.metrics import ranking_metrics

if TYPE_CHECKING:
    from slotwise.models.data import Interactions

ScoreFn = Callable[[np.ndarray], np.ndarray]


def onnx_score_fn(path_or_bytes: str | bytes, threads: int = 1) -> ScoreFn:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(path_or_bytes, opts, providers=["CPUExecutionProvider"])
    return lambda x: sess.run(["scores"], {"interactions": x.astype(np.float32)})[0]


def top_k(score: ScoreFn, X: sp.spmatrix, k: int = 10, batch: int = 256) -> np.ndarray:
    """Column indices of each user's k best unseen items (models mask seen items themselves;
    masking again here keeps the protocol honest for any scorer)."""
    X = sp.csr_matrix(X)
    out = np.zeros((X.shape[0], k), dtype=np.int64)
    for start in range(0, X.shape[0], batch):
        xb = X[start : start + batch].toarray().astype(np.float32)
        s = score(xb)
        s = np.where(xb > 0, -np.inf, s)
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        rows = np.arange(len(s))[:, None]
        order = np.argsort(-s[rows, part], axis=1, kind="stable")
        out[start : start + batch] = part[rows, order]
    return out


def evaluate_scores(
    score: ScoreFn,
    X_train: sp.spmatrix,
    X_test: sp.spmatrix,
    item_ids: Sequence[str],
    k: int = 10,
    popularity: np.ndarray | None = None,
) -> dict[str, float]:
    """Ranking metrics over users with test items; items seen in training are never counted."""
    X_test = sp.csr_matrix(X_test)
    users = np.where(np.diff(X_test.indptr) > 0)[0]
    top = top_k(score, sp.csr_matrix(X_train)[users], k)
    recs = {str(u): [item_ids[i] for i in row] for u, row in zip(users, top, strict=False)}
    rel = {str(u): [item_ids[i] for i in X_test[u].indices] for u in users}
    pop = None
    if popularity is not None and popularity.sum() > 0:
        share = popularity / popularity.sum()
        pop = {item_ids[i]: float(share[i]) for i in range(len(item_ids))}
    return ranking_metrics(recs, rel, k, n_items=len(item_ids), popularity=pop)


def evaluate_split(
    inter: Interactions,
    items: list[dict[str, Any]] | None,
    train: np.ndarray,
    test: np.ndarray,
    lam: float = 200.0,
    content_weight: float | None = None,
    k: int = 10,
    via_onnx: bool = True,
) -> dict[str, dict[str, float]]:
    """Fit every served model on `train` rows and score `test` rows, popularity included.

    Scores come from onnxruntime running the exported graphs (`via_onnx`), so the figures are
    those of what the gateway serves. Test interactions already seen in training are dropped.
    """
    from slotwise.models.data import Index, user_item_matrix
    from slotwise.models.train_recommender import DEFAULT_CONTENT_WEIGHT, fit_models, prepare

    tr, te = inter.subset(train), inter.subset(test)
    _, index, _, rows = prepare(tr, items)
    users = Index(sorted(set(inter.users.tolist())))
    X = user_item_matrix(tr, users, index)
    T = user_item_matrix(te, users, index)
    T = sp.csr_matrix(T - T.multiply(X > 0))
    T.eliminate_zeros()
    has_content = bool(items) and any(r.get("title") or r.get("categories") for r in rows)
    weight = content_weight if content_weight is not None else DEFAULT_CONTENT_WEIGHT
    scorers = fit_models(X, rows, lam, weight, has_content)
    if "hybrid" not in scorers:
        scorers["hybrid"] = scorers["ease"]
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
