# SPDX-License-Identifier: Apache-2.0
"""`slotwise train recommender`: tune and fit CF (EASE / DLAE), content, hybrid and similar-items
models, export a bundle; a model whose scores would equal another's is marked as its alias."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from slotwise.models.bundle import write_bundle
from slotwise.models.data import Index, Interactions, item_index, user_item_matrix
from slotwise.models.onnxgraph import Scorer
from slotwise.models.recommenders import EASE, Content, Popularity, blend, popularity_order
from slotwise.models.scoring import evaluate_scores
from slotwise.models.splits import stratified_split

Progress = Callable[[str], None]
LAMBDAS = (100.0, 200.0, 400.0, 800.0)  # first λ grid, extended by doubling or halving until it brackets the best
LAMBDA_RANGE = (1.0, 1e6)
DROPOUTS = (0.0, 0.25, 0.5)  # 0: EASE; above: DLAE (extended to 0.75 when 0.5 wins)
TUNE_MAX_COST = 4000.0**3  # min(users, items) x items², the cost of one fit: above it, defaults unless asked
LARGE_CATALOG = 20000
CONTENT_WEIGHTS = (0.0005, 0.002, 0.02, 0.1)
DEFAULT_CONTENT_WEIGHT = 0.0005  # untuned: content only orders what CF leaves tied (cold items)
DEFAULT_LAMBDA, DEFAULT_DROPOUT = 200.0, 0.0
VALIDATION_SHARE = 0.8  # of the training interactions, per item; the rest validates
MIN_GAIN = 0.0005  # validation NDCG@10 a more complex setting must add to be chosen


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
    tr, te = stratified_split(inter, VALIDATION_SHARE, "item", seed)

    def part(m: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((coo.data[m], (coo.row[m], coo.col[m])), shape=X.shape)

    return part(tr), part(te)


def fit_models(
    X: sp.csr_matrix,
    rows: list[dict[str, Any]],
    lam: float,
    content_weight: float,
    has_content: bool,
    dropout: float = 0.0,
) -> tuple[dict[str, Scorer], dict[str, str]]:
    """Served scorers (float16 weights as exported) and the aliases: served names whose scores
    would equal another model's, mapped to it instead of being exported as copies.

    `similar` reads one item's row of the (rescaled) CF matrix plus content similarity, so it
    also covers items without history; without item features it is the CF model itself."""
    n = X.shape[1]
    pop = Popularity().fit(X).scorer_
    cf = EASE(lam, dropout=dropout).fit(X).scorer_
    prior = pop.bias if pop.bias is not None else np.zeros(n, np.float32)
    out = {"popularity": pop, "ease": cf}
    aliases: dict[str, str] = {}
    # Large catalogs: a narrower content space keeps a hybrid request (cf + content) < 5 ms.
    content = Content(rank=128 if n <= LARGE_CATALOG else 32).fit(X, rows).scorer_ if has_content else None
    if content is not None:
        out["content"] = content
        first = cf.terms[0].first if cf.terms else None
        if first is not None and cf.terms[0].second is None:
            scale = 1.0 / max(float(np.mean(np.abs(first).max(axis=1))), 1e-9)
        else:
            scale = 1.0
        out["similar"] = blend(n, [(cf, scale), (content, 1.0)], prior, 1e-4)
    else:
        aliases["similar"] = "ease"
    if content is not None and content_weight > 0:
        out["hybrid"] = blend(n, [(cf, 1.0), (content, content_weight)], prior, 1e-4)
    else:
        aliases["hybrid"] = "ease"
    return {name: s.halved() for name, s in out.items()}, aliases


def _bracket(score: Callable[[float], float], start: tuple[float, ...]) -> tuple[float, float]:
    """Best λ of a log grid grown by doubling (halving) while the best sits at its top (bottom)."""
    seen: dict[float, float] = {}
    grid = sorted(start)
    while True:
        for lam in grid:
            if lam not in seen:
                seen[lam] = score(lam)
        best = max(seen, key=lambda v: (seen[v], -v))
        lo, hi = min(seen), max(seen)
        if best == hi and hi * 2 <= LAMBDA_RANGE[1]:
            grid = [hi * 2]
        elif best == lo and lo / 2 >= LAMBDA_RANGE[0]:
            grid = [lo / 2]
        else:
            return best, seen[best]


def tune(
    X: sp.csr_matrix, rows: list[dict[str, Any]], ids: list[str], has_content: bool, progress: Progress
) -> tuple[dict[str, float], float, dict[str, Any]]:
    """λ and dropout of the linear autoencoder, then the hybrid's content weight, by NDCG@10 on a
    held-out 20% per item of the training data; every grid is extended until it brackets its best."""
    tr, va = _holdout(X)
    results: dict[str, Any] = {}

    def cf_score(lam: float, dropout: float) -> float:
        s = EASE(lam, dropout=dropout).fit(tr).scorer_
        ndcg = evaluate_scores(s.predict, tr, va, ids)["ndcg@10"]
        name = "EASE" if dropout == 0 else f"DLAE dropout={dropout:g}"
        results[f"dropout={dropout:g},lambda={lam:g}"] = round(ndcg, 4)
        progress(f"  tune {name} lambda={lam:g}: validation NDCG@10 {ndcg:.4f}")
        return ndcg

    best = (-1.0, DEFAULT_LAMBDA, DEFAULT_DROPOUT)
    dropouts = list(DROPOUTS)
    while dropouts:
        p = dropouts.pop(0)
        start = LAMBDAS if best[0] < 0 else (best[1] / 2, best[1], best[1] * 2)

        def score_at(v: float, p: float = p) -> float:
            return cf_score(v, p)

        lam, ndcg = _bracket(score_at, start)
        if ndcg > best[0] + MIN_GAIN:  # a dropout must earn its place over the simpler model
            best = (ndcg, lam, p)
            if p == max(DROPOUTS) and not dropouts:
                dropouts.append(0.75)
    _, lam, dropout = best
    weight = 0.0
    results["validation_lambda"] = lam
    if has_content:
        cf = EASE(lam, dropout=dropout).fit(tr).scorer_
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
    # λ is tuned on 80% of the interactions: scale it to the whole training data it is refitted on
    return {"lambda": lam / VALIDATION_SHARE, "dropout": dropout}, weight, results


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
    counts = np.asarray((X > 0).sum(axis=0)).ravel()
    active = int((counts >= 2).sum())
    dropout = DEFAULT_DROPOUT
    if lam is None and (force_tune or min(active, X.shape[0]) * float(active) ** 2 <= TUNE_MAX_COST):
        params, w, tuning = tune(X, rows, index.ids, has_content, progress)
        lam, dropout = params["lambda"], params["dropout"]
        content_weight = w if content_weight is None else content_weight
    lam = DEFAULT_LAMBDA if lam is None else lam
    content_weight = DEFAULT_CONTENT_WEIGHT if content_weight is None else content_weight
    algorithm = f"DLAE (dropout {dropout:g})" if dropout > 0 else "EASE"
    progress(f"fitting models ({algorithm} lambda={lam:g}, content weight {content_weight:g})")
    scorers, aliases = fit_models(X, rows, lam, content_weight, has_content, dropout)
    n = len(index)
    entry = {"input": "interactions", "output": "scores", "input_shape": ["batch", n], "output_shape": ["batch", n]}
    models: dict[str, Any] = {name: (s.to_onnx(name), dict(entry)) for name, s in scorers.items()}
    models["ease"][1]["algorithm"] = "dlae" if dropout > 0 else "ease"
    why = "no item features" if not has_content else "validation gave content no weight"
    for name, target in aliases.items():  # same scores as `target`: one file, marked, not a copy
        models[name] = (None, {"file": f"{target}.onnx", **entry, "alias_of": target, "reason": why})
        scorers[name] = scorers[target]
        progress(f"{name} is the same model as {target} ({why}): exported once, marked as an alias")
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
        "params": {"lambda": lam, "dropout": dropout, "content_weight": content_weight, "tuning": tuning},
        "aliases": aliases,
        "training_window": {"from": float(ts.min()), "to": float(ts.max())} if ts is not None and len(ts) else None,
        "train_seconds": round(time.time() - t0, 2),
        **(extra_meta or {}),
    }
    write_bundle(out, "recommender", models, "hybrid", {"items.json": index.ids}, meta)
    progress(f"bundle written to {out} in {time.time() - t0:.1f}s")
    return {"scorers": scorers, "items": index.ids, "X": X, "users": users, "meta": meta}
