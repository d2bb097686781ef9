# SPDX-License-Identifier: Apache-2.0
"""Recommenders for implicit feedback, each fitted into an ONNX-exportable `Scorer`.

scikit-learn estimators: `__init__` stores hyperparameters (so `get_params`, `set_params` and
`clone` work), `fit` learns and sets attributes ending in `_`, the served one being `scorer_`.
Columns of `X` (users × items) must be ordered most-popular first (see `popularity_order`):
collaborative terms then cover a prefix of the columns and leave the long tail to the content
term and the popularity prior.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import svds
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer

from slotwise.models.onnxgraph import Scorer, Term

# Weight of the popularity prior inside personalized models: small enough to only break ties
# and to rank for visitors with no interactions (cold start).
POP_PRIOR = 1e-4


def popularity_order(counts: np.ndarray) -> np.ndarray:
    """Column permutation, most interacted first; ties keep catalog order."""
    return np.lexsort((np.arange(len(counts)), -counts))


def _pop(X: sp.spmatrix) -> np.ndarray:
    counts = np.asarray(X.sum(axis=0)).ravel().astype(np.float64)
    return counts / counts.max() if counts.max() > 0 else counts


class Popularity(BaseEstimator):
    def fit(self, X: sp.spmatrix, y: Any = None) -> Popularity:
        self.scorer_ = Scorer(X.shape[1], [], _pop(X).astype(np.float32))
        return self


def _gram_inverse(X: sp.csr_matrix, m: int, reg: np.ndarray) -> np.ndarray:
    """P = (XᵀX + diag(reg))⁻¹ over the first m columns.

    With fewer users than items, Woodbury's identity inverts a users × users matrix instead:
    P = R⁻¹ - R⁻¹Xᵀ(I + XR⁻¹Xᵀ)⁻¹XR⁻¹ (R = diag(reg)), minutes become seconds on wide catalogs.
    """
    Xa = X[:, :m]
    n = Xa.shape[0]
    if n >= m:
        G = (Xa.T @ Xa).toarray()
        G[np.diag_indices(m)] += reg
        return np.linalg.inv(G)
    dense = Xa.toarray()
    inv = 1.0 / reg
    XR = dense * inv[None, :]
    K = np.linalg.inv(np.eye(n) + XR @ dense.T)
    P = -(XR.T @ (K @ XR))
    P[np.diag_indices(m)] += inv
    return P


class EASE(BaseEstimator):
    """Linear autoencoder, one item × item matrix B; scores are x @ B.

    `dropout` = 0: EASE (Steck 2019), B = I - P / diag(P), P = (XᵀX + λI)⁻¹, zero diagonal.
    `dropout` = p > 0: the dropout-regularized DLAE (Steck 2020, "Autoencoders that don't
    overfit towards the identity"): Λ = λI + p/(1-p)·diag(XᵀX), B = I - PΛ with P = (XᵀX + Λ)⁻¹;
    its diagonal only scores items the visitor already has, which the graph masks anyway.
    Dense over the items with at least `min_count` interactions; above `max_dense` of them a
    PureSVD factorization of rank `rank` is used instead, so 100k-item catalogs stay small.
    """

    def __init__(
        self, lam: float = 200.0, dropout: float = 0.0, min_count: int = 2, max_dense: int = 12000, rank: int = 64
    ):
        self.lam, self.dropout, self.min_count, self.max_dense, self.rank = lam, dropout, min_count, max_dense, rank

    def fit(self, X: sp.spmatrix, y: Any = None) -> EASE:
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), not {self.dropout}")
        X = sp.csr_matrix(X, dtype=np.float64)
        counts = np.asarray((X > 0).sum(axis=0)).ravel()
        m = int((counts >= self.min_count).sum())
        if m == 0:
            self.kind_ = "popularity"
            self.scorer_ = Popularity().fit(X).scorer_
            return self
        if m > self.max_dense:
            return self._fit_low_rank(X, m)
        d = np.asarray(X[:, :m].multiply(X[:, :m]).sum(axis=0)).ravel()
        reg = self.lam + (self.dropout / (1.0 - self.dropout)) * d
        P = _gram_inverse(X, m, reg)
        B = -P * reg[None, :] if self.dropout > 0 else -P / np.diag(P)
        B[np.diag_indices(m)] = 0.0
        self.kind_ = "dlae" if self.dropout > 0 else "ease"
        self.scorer_ = Scorer(X.shape[1], [Term(B.astype(np.float32))], (POP_PRIOR * _pop(X)).astype(np.float32))
        return self

    def _fit_low_rank(self, X: sp.csr_matrix, m: int) -> EASE:
        r = min(self.rank, m - 1, X.shape[0] - 1)
        _, _, vt = svds(X[:, :m].astype(np.float32), k=r, random_state=0)
        V = vt.T.astype(np.float32)
        self.kind_ = "puresvd"
        self.scorer_ = Scorer(X.shape[1], [Term(V, V.T.copy())], (POP_PRIOR * _pop(X)).astype(np.float32))
        return self


class ItemKNN(BaseEstimator):
    """Item-item cosine similarity, `k` strongest neighbours per item (dense export)."""

    def __init__(self, k: int = 100, min_count: int = 2, max_dense: int = 12000):
        self.k, self.min_count, self.max_dense = k, min_count, max_dense

    def fit(self, X: sp.spmatrix, y: Any = None) -> ItemKNN:
        X = sp.csr_matrix(X, dtype=np.float64)
        counts = np.asarray((X > 0).sum(axis=0)).ravel()
        m = min(int((counts >= self.min_count).sum()), self.max_dense)
        Xa = X[:, :m]
        norms = np.sqrt(np.asarray(Xa.multiply(Xa).sum(axis=0)).ravel()) + 1e-9
        S = (Xa.T @ Xa).toarray() / norms[:, None] / norms[None, :]
        S[np.diag_indices(m)] = 0.0
        if self.k < m:
            cut = -np.partition(-S, self.k - 1, axis=1)[:, self.k - 1 : self.k]
            S[cut > S] = 0.0
        self.scorer_ = Scorer(X.shape[1], [Term(S.astype(np.float32))], (POP_PRIOR * _pop(X)).astype(np.float32))
        return self


_WORD = re.compile(r"[a-z0-9]{2,}")


def item_tokens(item: dict[str, Any]) -> list[str]:
    """Categories and tags as whole tokens, title and text as words."""
    toks = [f"cat:{c.lower()}" for c in item.get("categories", [])]
    toks += [f"tag:{t.lower()}" for t in item.get("tags", [])]
    toks += _WORD.findall(f"{item.get('title', '')} {item.get('text', '')}".lower())
    return toks


class Content(BaseEstimator):
    """TF-IDF of item categories, tags and words, cosine similarity via F·Fᵀ (two MatMuls).

    scikit-learn's `TfidfVectorizer` (smooth idf, log-scaled term counts, terms in at least
    `min_df` items); category and tag columns are weighted by `category_weight`. With more
    than `rank` vocabulary terms the matrix is reduced by truncated SVD (LSA), which keeps the
    bundle and each request small on large catalogs.
    """

    def __init__(self, rank: int = 128, category_weight: float = 2.0, min_df: int = 2):
        self.rank, self.category_weight, self.min_df = rank, category_weight, min_df

    def features(self, items: list[dict[str, Any]]) -> np.ndarray:
        docs = [item_tokens(it) for it in items]
        vec = TfidfVectorizer(analyzer=lambda d: d, min_df=self.min_df, sublinear_tf=True, norm=None, dtype=np.float64)
        try:
            F = sp.csr_matrix(vec.fit_transform(docs))
        except ValueError:  # no term in min_df items: every item gets a zero row
            return np.zeros((len(items), 1), dtype=np.float32)
        self.vectorizer_ = vec
        boost = np.array(
            [self.category_weight if t.startswith(("cat:", "tag:")) else 1.0 for t in vec.get_feature_names_out()]
        )
        F = sp.csr_matrix(F.multiply(boost[None, :]))
        if F.shape[1] > self.rank and min(F.shape) > self.rank + 1:
            u, s, _ = svds(F.astype(np.float32), k=self.rank, random_state=0)
            dense = (u * s).astype(np.float64)
        else:
            dense = F.toarray()
        norms = np.linalg.norm(dense, axis=1, keepdims=True)
        return (dense / np.where(norms > 0, norms, 1.0)).astype(np.float32)

    def fit(self, X: sp.spmatrix, items: list[dict[str, Any]]) -> Content:
        """`items` in column order; items without metadata get zero rows."""
        F = self.features(items)
        self.scorer_ = Scorer(X.shape[1], [Term(F, F.T.copy())], (POP_PRIOR * _pop(X)).astype(np.float32))
        return self


def blend(n_items: int, parts: list[tuple[Scorer, float]], pop: np.ndarray, pop_weight: float) -> Scorer:
    """Weighted sum of scorers (weights folded into their matrices) plus a popularity prior."""
    terms = []
    for scorer, w in parts:
        for t in scorer.terms:
            terms.append(Term(t.first * np.float32(w), t.second))
    return Scorer(n_items, terms, (pop_weight * pop).astype(np.float32))
