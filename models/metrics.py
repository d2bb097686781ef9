# SPDX-License-Identifier: Apache-2.0
"""Ranking, rating and classification metrics, written out so tests can check them by hand."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np


def ranking_metrics(
    recommended: Mapping[str, Sequence[str]],
    relevant: Mapping[str, Iterable[str]],
    k: int = 10,
    n_items: int | None = None,
    popularity: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Mean over users with relevant items, binary gain, as Microsoft Recommenders computes them.

    MAP@k divides the sum of precisions at each hit by the number of relevant items (the
    `map` of recommenders >= 1.2 and of its published tables), not by min(k, #relevant).
    """
    users = [u for u, rel in relevant.items() if rel]
    p = r = ndcg = ap = hit = nov = 0.0
    shown: set[str] = set()
    for u in users:
        rel = set(relevant[u])
        recs = list(recommended.get(u, ()))[:k]
        shown.update(recs)
        hits = [i for i, item in enumerate(recs) if item in rel]
        p += len(hits) / k
        r += len(hits) / len(rel)
        dcg = sum(1.0 / math.log2(i + 2) for i in hits)
        idcg = sum(1.0 / math.log2(i + 2) for i in range(min(len(rel), k)))
        ndcg += dcg / idcg
        ap += sum((n + 1) / (i + 1) for n, i in enumerate(hits)) / len(rel)
        hit += 1.0 if hits else 0.0
        if popularity:
            nov += float(np.mean([-math.log2(max(popularity.get(i, 0.0), 1e-12)) for i in recs])) if recs else 0.0
    n = max(len(users), 1)
    out = {
        "map": ap / n,
        f"ndcg@{k}": ndcg / n,
        f"precision@{k}": p / n,
        f"recall@{k}": r / n,
        f"hit@{k}": hit / n,
        "users": float(len(users)),
    }
    if n_items:
        out["coverage"] = len(shown) / n_items
    if popularity:
        out["novelty"] = nov / n
    return out


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2)))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(y_true) - np.asarray(y_pred))))


def auc_roc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney form with tied scores sharing their average rank."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(score, dtype=np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def brier(y_true: np.ndarray, prob: np.ndarray) -> float:
    return float(np.mean((np.asarray(prob, dtype=np.float64) - np.asarray(y_true, dtype=np.float64)) ** 2))


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=np.float64)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0
