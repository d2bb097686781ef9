# SPDX-License-Identifier: Apache-2.0
"""Recommenders for implicit feedback, each fitted into an ONNX-exportable `Scorer`.

Constructors store hyperparameters, `fit` learns and sets `scorer_` (scikit-learn's shape).
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


class Popularity:
    def fit(self, X: sp.spmatrix) -> Popularity:
        self.scorer_ = Scorer(X.shape[1], [], _pop(X).astype(np.float32))
        return self


class EASE:
    """Embarrassingly Shallow Autoencoder (Steck 2019): B = I - P / diag(P), P = (XᵀX + λI)⁻¹.

    Dense over the items with at least `min_count` interactions; above `max_dense` of them a
    PureSVD factorization of rank `rank` is used instead, so 100k-item catalogs stay small.
    """

    def __init__(self, lam: float = 200.0, min_count: int = 2, max_dense: int = 12000, rank: int = 64):
        self.lam, self.min_count, self.max_dense, self.rank = lam, min_count, max_dense, rank

    def fit(self, X: sp.spmatrix) -> EASE:
        X = sp.csr_matrix(X, dtype=np.float64)
        counts = np.asarray((X > 0).sum(axis=0)).ravel()
        m = int((counts >= self.min_count).sum())
        if m == 0:
            self.scorer_ = Popularity().fit(X).scorer_
            return self
        if m > self.max_dense:
            return self._fit_low_rank(X, m)
        Xa = X[:, :m]
        G = (Xa.T @ Xa).toarray()
        G[np.diag_indices(m)] += self.lam
        P = np.linalg.inv(G)
        B = -P / np.diag(P)
        B[np.diag_indices(m)] = 0.0
        self.kind_ = "ease"
        self.scorer_ = Scorer(X.shape[1], [Term(B.astype(np.float32))], (POP_PRIOR * _pop(X)).astype(np.float32))
        return self

    def _fit_low_rank(self, X: sp.csr_matrix, m: int) -> EASE:
        r = min(self.rank, m - 1, X.shape[0] - 1)
        _, _, vt = svds(X[:, :m].astype(np.float32), k=r, random_state=0)
        V = vt.T.astype(np.float32)
        self.kind_ = "puresvd"
        self.scorer_ = Scorer(X.shape[1], [Term(V, V.T.copy())], (POP_PRIOR * _pop(X)).astype(np.float32))
        return self


class ItemKNN:
    """Item-item cosine similarity, `k` strongest neighbours per item (dense export)."""

    def __init__(self, k: int = 100, min_count: int = 2, max_dense: int = 12000):
        self.k, self.min_count, self.max_dense = k, min_count, max_dense

    def fit(self, X: sp.spmatrix) -> ItemKNN:
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


class Content:
    """TF-IDF of item categories, tags and words, cosine similarity via F·Fᵀ (two MatMuls).

    With more than `rank` vocabulary terms the TF-IDF matrix is reduced by truncated SVD (LSA),
    which keeps the bundle and each request small on large catalogs.
    """

    def __init__(self, rank: int = 128, category_weight: float = 2.0, min_df: int = 2):
        self.rank, self.category_weight, self.min_df = rank, category_weight, min_df

    def features(self, items: list[dict[str, Any]]) -> np.ndarray:
        docs = [item_tokens(it) for it in items]
        df: dict[str, int] = {}
        for d in docs:
            for t in set(d):
                df[t] = df.get(t, 0) + 1
        vocab = {t: k for k, t in enumerate(sorted(t for t, c in df.items() if c >= self.min_df))}
        rows, cols, vals = [], [], []
        n = len(docs)
        for r, d in enumerate(docs):
            tf: dict[int, float] = {}
            for t in d:
                if t in vocab:
                    boost = self.category_weight if t.startswith(("cat:", "tag:")) else 1.0
                    tf[vocab[t]] = tf.get(vocab[t], 0.0) + boost
            for c, v in tf.items():
                rows.append(r)
                cols.append(c)
                vals.append(np.log1p(v))
        F = sp.csr_matrix((vals, (rows, cols)), shape=(n, max(len(vocab), 1)), dtype=np.float64)
        idf = np.zeros(F.shape[1])
        for t, c in vocab.items():
            idf[c] = np.log((1 + n) / (1 + df[t])) + 1.0
        F = sp.csr_matrix(F.multiply(idf[None, :]))
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
