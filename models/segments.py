# SPDX-License-Identifier: Apache-2.0
"""`slotwise train segments`: cluster visitors on the shared features, export the `Segmenter`.

The served model is models/segmenter.py (log1p, standardize, clip, Gaussian mixture, k by BIC);
every candidate k gets BIC, silhouette, Davies–Bouldin and Dunn. K-Means, agglomerative and
DBSCAN at the chosen k run for comparison only.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.cluster import DBSCAN, AgglomerativeClustering, KMeans
from sklearn.metrics import davies_bouldin_score, silhouette_score
from sklearn.neighbors import NearestNeighbors

from slotwise.gateway.visitors.features import FeatureSpec, feature_matrix, profiles_from_events
from slotwise.models.bundle import write_bundle
from slotwise.models.data import with_categories
from slotwise.models.segmenter import BIC_SHARE, LIVE_SESSION_FEATURES, LOG_FEATURES, Segmenter, columns

Progress = Callable[[str], None]
SAMPLE = 2000  # pairwise metrics are quadratic: computed on a fixed random sample


def dunn_index(Z: np.ndarray, labels: np.ndarray) -> float:
    """Smallest distance between clusters over the largest cluster diameter (higher is better)."""
    ids = [c for c in np.unique(labels) if c >= 0]
    if len(ids) < 2:
        return float("nan")
    D = np.sqrt(np.maximum(((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1), 0.0))
    diam = max(float(D[np.ix_(labels == c, labels == c)].max()) for c in ids)
    sep = min(float(D[np.ix_(labels == a, labels == b)].min()) for i, a in enumerate(ids) for b in ids[i + 1 :])
    return sep / diam if diam > 0 else float("inf")


def cluster_scores(Z: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    keep = labels >= 0
    if len(set(labels[keep].tolist())) < 2:
        return {"silhouette": float("nan"), "davies_bouldin": float("nan"), "dunn": float("nan")}
    return {
        "silhouette": float(silhouette_score(Z[keep], labels[keep])),
        "davies_bouldin": float(davies_bouldin_score(Z[keep], labels[keep])),
        "dunn": dunn_index(Z[keep], labels[keep]),
    }


def choose_clustering(F: np.ndarray, names: list[str], ks: range, seed: int, progress: Progress) -> dict[str, Any]:
    """The served `Segmenter` (k by BIC) and, for every candidate k, BIC, silhouette, Davies-Bouldin
    and Dunn on the features it clusters; K-Means, Ward and DBSCAN for comparison only."""
    seg = Segmenter(
        k_range=(ks.start, ks.stop - 1),
        log_columns=columns(names, LOG_FEATURES),
        ignore_columns=columns(names, LIVE_SESSION_FEATURES),
        random_state=seed,
    ).fit(F)
    Z = seg.transform(F)
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(Z), size=min(SAMPLE, len(Z)), replace=False)
    Zs = Z[sample]
    candidates = []
    for k, mixture in seg.mixtures_.items():
        row: dict[str, Any] = {"k": k, "bic": seg.bic_[k], **cluster_scores(Zs, mixture.predict(Zs))}
        progress(
            f"  gaussian mixture k={k}: BIC {row['bic']:.0f}, silhouette {row['silhouette']:.3f}, "
            f"Davies-Bouldin {row['davies_bouldin']:.3f}, Dunn {row['dunn']:.3f}"
        )
        candidates.append(row)
    k = seg.n_clusters_
    km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(Zs)
    agg = AgglomerativeClustering(n_clusters=k, linkage="ward").fit(Zs)
    kdist = np.sort(NearestNeighbors(n_neighbors=6).fit(Zs).kneighbors(Zs)[0][:, -1])
    eps = float(np.quantile(kdist, 0.9)) or 0.5
    db = DBSCAN(eps=eps, min_samples=5).fit(Zs)
    return {
        "segmenter": seg,
        "k": k,
        "Z": Z,
        "candidates": candidates,
        "exploration": {
            "kmeans": {"k": k, **cluster_scores(Zs, km.labels_)},
            "agglomerative_ward": {"k": k, **cluster_scores(Zs, agg.labels_)},
            "dbscan": {
                "eps": eps,
                "min_samples": 5,
                "clusters": int(len(set(db.labels_)) - (-1 in db.labels_)),
                "noise_share": float(np.mean(db.labels_ == -1)),
                **cluster_scores(Zs, db.labels_),
            },
        },
    }


def name_segments(F: np.ndarray, labels: np.ndarray, names: list[str], spec: FeatureSpec) -> dict[str, Any]:
    """Mean features and top interests per cluster, and a first name an editor can change."""
    col = {n: i for i, n in enumerate(names)}
    k = int(labels.max()) + 1
    means = np.vstack([F[labels == c].mean(axis=0) if (labels == c).any() else np.zeros(F.shape[1]) for c in range(k)])
    out: dict[str, Any] = {}
    used: set[str] = set()
    value_rank = np.argsort(-means[:, col["monetary_log"]])
    for c in range(k):
        m = means[c]
        interests = sorted(((m[col[f"interest_{cat}"]], cat) for cat in spec.categories), reverse=True)
        top = [cat for w, cat in interests[:3] if w > 0.05]
        if c == value_rank[0] and m[col["purchases"]] > 0:
            base = "high-value"
        elif m[col["recency_days"]] > np.median(means[:, col["recency_days"]]) * 1.5:
            base = "lapsed"
        elif m[col["engagement"]] >= means[:, col["engagement"]].max() - 1e-9:
            base = "engaged"
        else:
            base = f"{top[0].lower()}-fans" if top else "browsers"
        name = base if base not in used else f"{base}-{c}"
        used.add(name)
        out[str(c)] = {
            "name": name,
            "size": int((labels == c).sum()),
            "top_interests": top,
            "mean": {n: round(float(v), 4) for n, v in zip(names, m, strict=False)},
        }
    return out


def profile_markdown(profiles: dict[str, Any], report: dict[str, Any]) -> str:
    lines = [
        "# Segments",
        "",
        f"Chosen k = {report['k']}: the smallest k with {BIC_SHARE:.0%} of the best BIC gain (Gaussian mixture).",
        "",
        "| k | BIC | silhouette | Davies-Bouldin | Dunn |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r['k']} | {r['bic']:.0f} | {r['silhouette']:.3f} | {r['davies_bouldin']:.3f} | {r['dunn']:.3f} |"
        for r in report["candidates"]
    ]
    lines += [
        "",
        "Rename a segment by editing `segments` in manifest.json; rules read it as `segment.ml == 'name'`.",
        "",
    ]
    for cid, p in profiles.items():
        m = p["mean"]
        lines += [
            f"## {cid}: {p['name']} ({p['size']} visitors)",
            f"- top interests: {', '.join(p['top_interests']) or 'none'}",
            f"- recency {m['recency_days']:.1f} days, purchases {m['purchases']:.2f}, "
            f"engagement {m['engagement']:.2f}, cart {m['cart_size']:.2f}",
            "",
        ]
    return "\n".join(lines)


def train_segments(
    events: list[dict[str, Any]],
    items: list[dict[str, Any]] | None,
    out: Path,
    ks: range = range(2, 9),
    seed: int = 0,
    progress: Progress = print,
) -> dict[str, Any]:
    t0 = time.time()
    events = with_categories(events, items)
    profiles: dict[str, Any] = profiles_from_events(events)  # later: the segments' profiles
    visitors = sorted(profiles)
    now = max(float(e["ts"]) for e in events)
    spec = FeatureSpec.fit(profiles.values(), max_categories=20)
    F = feature_matrix([profiles[v] for v in visitors], spec, now)
    progress(f"segments: {len(visitors)} visitors, {F.shape[1]} features")
    result = choose_clustering(F, spec.names, ks, seed, progress)
    seg = result["segmenter"]
    labels = seg.predict(F)
    profiles = name_segments(F, labels, spec.names, spec)
    onx = seg.to_onnx()
    report = {k: v for k, v in result.items() if k in {"k", "candidates", "exploration"}}
    assignments = "visitor_id,segment\n" + "".join(
        f"{v},{profiles[str(c)]['name']}\n" for v, c in zip(visitors, labels, strict=False)
    )
    entry = {"input": "features", "output": "label", "input_shape": ["batch", F.shape[1]]}
    write_bundle(
        out,
        "segments",
        {"segments": (onx, entry)},
        "segments",
        {"profiles.json": profiles, "segments.md": profile_markdown(profiles, report), "assignments.csv": assignments},
        {
            "features": spec.to_json(),
            "feature_time": "now",
            "segments": {c: p["name"] for c, p in profiles.items()},
            "metrics": report,
            "training_window": {"from": min(float(e["ts"]) for e in events), "to": now},
            "train_seconds": round(time.time() - t0, 2),
        },
    )
    progress(f"segments bundle written to {out} in {time.time() - t0:.1f}s (k={result['k']})")
    return {
        "pipeline": seg,
        "F": F,
        "labels": labels,
        "visitors": visitors,
        "spec": spec,
        "profiles": profiles,
        "report": report,
    }


def read_assignments(path: Path) -> dict[str, str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["visitor_id"]: r["segment"] for r in csv.DictReader(fh)}
