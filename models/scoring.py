# SPDX-License-Identifier: Apache-2.0
"""Scoring users with a model (numpy or onnxruntime) and ranking metrics of those scores.

Shared by training (validation inside `slotwise train recommender`) and `evaluate.py`; it
imports neither, so the two never import each other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from slotwise.models.metrics import ranking_metrics

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
