# SPDX-License-Identifier: Apache-2.0
"""`slotwise train recommender`: fit CF, content, hybrid and similar-items models, export a bundle."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from slotwise.models.bundle import write_bundle
from slotwise.models.data import Index, Interactions, item_index, user_item_matrix
from slotwise.models.evaluate import evaluate_scores
from slotwise.models.onnxgraph import Scorer
from slotwise.models.recommenders import EASE, Content, Popularity, blend, popularity_order
from slotwise.models.splits import stratified_split

Progress = Callable[[str], None]
LAMBDAS = (100.0, 200.0, 400.0, 800.0)
TUNE_MAX_ITEMS = 4000  # above this, λ tuning costs minutes: use the default unless asked
LARGE_CATALOG = 20000
CONTENT_WEIGHTS = (0.0005, 0.002, 0.02, 0.1)
DEFAULT_CONTENT_WEIGHT = 0.0005  # untuned: content only orders what CF leaves tied (cold items)


def prepare(
    inter: Interactions, items: list[dict[str, Any]] | None
) -> tuple[Index, Index, sp.csr_matrix, list[dict[str, Any]]]:
    """Users, items ordered most-popular first, the binary matrix, and item rows in that order."""
    users = Index(sorted(set(inter.users.tolist())))
    base = item_index(inter, items)
    X0 = user_item_matrix(inter, users, base)
    order = popularity_order(np.asarray((X0 > 0).sum(axis=0)).ravel())
    index = Index([base.ids[i] for i in order])
    by_id = {it["item_id"]: it for it in items or []}
    rows = [by_id.get(i, {"item_id": i}) for i in index.ids]
    return users, index, sp.csr_matrix(X0[:, order]), rows


def _holdout(X: sp.csr_matrix, seed: int = 7) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    coo = X.tocoo()
    inter = Interactions(coo.row.astype(str).astype(object), coo.col.astype(str).astype(object), coo.data)
    tr, te = stratified_split(inter, 0.8, "item", seed)

    def mk(m: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((coo.data[m], (coo.row[m], coo.col[m])), shape=X.shape)

    return mk(tr), mk(te)


def fit_models(
    X: sp.csr_matrix, rows: list[dict[str, Any]], lam: float, content_weight: float, has_content: bool
) -> dict[str, Scorer]:
    """Served scorers, float16 weights as exported. `similar` reads one item's row of the
    (rescaled) EASE matrix plus content similarity, so it also covers items without history."""
    n = X.shape[1]
    pop = Popularity().fit(X).scorer_
    cf = EASE(lam).fit(X).scorer_
    prior = pop.bias if pop.bias is not None else np.zeros(n, np.float32)
    out = {"popularity": pop, "ease": cf}
    # Large catalogs: a narrower content space keeps a hybrid request (cf + content) < 5 ms.
    content = Content(rank=128 if n <= LARGE_CATALOG else 32).fit(X, rows).scorer_ if has_content else None
    if content is not None:
        out["content"] = content
    if content is not None and content_weight > 0:
        out["hybrid"] = blend(n, [(cf, 1.0), (content, content_weight)], prior, 1e-4)
    first = cf.terms[0].first if cf.terms else None
    if first is not None and cf.terms[0].second is None:
        scale = 1.0 / max(float(np.mean(np.abs(first).max(axis=1))), 1e-9)
    else:
        scale = 1.0
    sim_parts = [(cf, scale)] + ([(content, 1.0)] if content is not None else [])
    out["similar"] = blend(n, sim_parts, prior, 1e-4)
    return {name: s.halved() for name, s in out.items()}


def tune(
    X: sp.csr_matrix, rows: list[dict[str, Any]], ids: list[str], has_content: bool, progress: Progress
) -> tuple[float, float, dict[str, Any]]:
    """λ for EASE and the content weight of the hybrid, by NDCG@10 on a held-out 20% per item."""
    tr, va = _holdout(X)
    results: dict[str, Any] = {}
    best = (-1.0, 200.0)
    for lam in LAMBDAS:
        s = EASE(lam).fit(tr).scorer_
        ndcg = evaluate_scores(s.predict, tr, va, ids)["ndcg@10"]
        results[f"lambda={lam:g}"] = round(ndcg, 4)
        progress(f"  tune EASE lambda={lam:g}: validation NDCG@10 {ndcg:.4f}")
        best = max(best, (ndcg, lam))
    lam = best[1]
    weight = 0.0
    if has_content:
        cf = EASE(lam).fit(tr).scorer_
        content = Content().fit(tr, rows).scorer_
        best_w = (best[0], 0.0)
        for w in CONTENT_WEIGHTS:
            s = blend(
                X.shape[1],
                [(cf, 1.0), (content, w)],
                cf.bias / 1e4 if cf.bias is not None else np.zeros(X.shape[1], np.float32),
                1e-4,
            )
            ndcg = evaluate_scores(s.predict, tr, va, ids)["ndcg@10"]
            results[f"content_weight={w:g}"] = round(ndcg, 4)
            progress(f"  tune hybrid content weight {w:g}: validation NDCG@10 {ndcg:.4f}")
            best_w = max(best_w, (ndcg, w))
        weight = best_w[1]
    return lam, weight, results


def train_recommender(
    inter: Interactions,
    items: list[dict[str, Any]] | None,
    out: Path,
    lam: float | None = None,
    content_weight: float | None = None,
    progress: Progress = print,
    extra_meta: dict[str, Any] | None = None,
    force_tune: bool = False,
) -> dict[str, Any]:
    t0 = time.time()
    users, index, X, rows = prepare(inter, items)
    has_content = bool(items) and any(r.get("title") or r.get("categories") for r in rows)
    progress(f"recommender: {len(users)} users, {len(index)} items, {X.nnz} interactions")
    tuning: dict[str, Any] = {}
    active = int((np.asarray((X > 0).sum(axis=0)).ravel() >= 2).sum())
    if lam is None and (force_tune or active <= TUNE_MAX_ITEMS):
        lam, w, tuning = tune(X, rows, index.ids, has_content, progress)
        content_weight = w if content_weight is None else content_weight
    lam = 200.0 if lam is None else lam
    content_weight = DEFAULT_CONTENT_WEIGHT if content_weight is None else content_weight
    progress(f"fitting models (EASE lambda={lam:g}, content weight {content_weight:g})")
    scorers = fit_models(X, rows, lam, content_weight, has_content)
    n = len(index)
    entry = {"input": "interactions", "output": "scores", "input_shape": ["batch", n], "output_shape": ["batch", n]}
    models: dict[str, Any] = {name: (s.to_onnx(name), dict(entry)) for name, s in scorers.items()}
    if "hybrid" not in scorers:  # validation gave content no weight: the hybrid is EASE itself
        models["hybrid"] = (None, {"file": "ease.onnx", **entry, "alias_of": "ease"})
        scorers["hybrid"] = scorers["ease"]
    roles = {
        "cf": "ease",
        "content": "content" if "content" in scorers else "ease",
        "hybrid": "hybrid",
        "similar": "similar",
        "popular": "popularity",
    }
    ts = inter.timestamps
    meta = {
        "n_items": n,
        "roles": roles,
        "masks_seen": True,
        "params": {"lambda": lam, "content_weight": content_weight, "tuning": tuning},
        "training_window": {"from": float(ts.min()), "to": float(ts.max())} if ts is not None and len(ts) else None,
        "train_seconds": round(time.time() - t0, 2),
        **(extra_meta or {}),
    }
    write_bundle(out, "recommender", models, "hybrid", {"items.json": index.ids}, meta)
    progress(f"bundle written to {out} in {time.time() - t0:.1f}s")
    return {"scorers": scorers, "items": index.ids, "X": X, "users": users, "meta": meta}
