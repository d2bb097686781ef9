# SPDX-License-Identifier: Apache-2.0
"""Segmentation against planted truth: two simulated populations with known personas.

    python bench/segments_bench.py [--quick]

`easy`: four well-separated personas. `hard`: seven, with two close pairs (high-value and
loyal differ in order value and device; casual and deal-hunters in cart rate and device),
a quarter of the sessions off the persona's device and daypart, and 40% of the views outside
the visitor's interests (`gateway/demo/simulate.py`). For each, the served `Segmenter` (log1p,
standardize, clip, tied Gaussian mixture, k chosen by BIC) and the candidates it was chosen
over (the previous served pipeline: scaler + K-Means with k by silhouette and elbow; K-Means
and mixtures at the planted k on plain and on the Segmenter's features) get adjusted Rand
index, silhouette and Dunn index (on the served features); the baseline is a plain RFM rule
(tertiles of spend) scored the same way.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slotwise.gateway.demo.catalog import build_catalog
from slotwise.gateway.demo.simulate import EASY, HARD, simulate
from slotwise.gateway.visitors.features import BASE_FEATURES
from slotwise.models.segments import cluster_scores, train_segments


def elbow(ks: list[int], inertia: list[float]) -> int:
    """The k farthest below the straight line from the first to the last inertia."""
    x, y = np.asarray(ks, float), np.asarray(inertia, float)
    dist = np.abs((y[-1] - y[0]) * x - (x[-1] - x[0]) * y + x[-1] * y[0] - y[-1] * x[0])
    return int(ks[int(np.argmax(dist))])


def previous(Z: np.ndarray, seed: int) -> np.ndarray:
    """The pipeline served before: K-Means on standardized features, k = the inertia elbow when its
    silhouette is within 10% of the best, else the best silhouette."""
    fits = {k: KMeans(k, n_init=4, random_state=seed).fit(Z) for k in range(2, 10)}
    sil = {k: silhouette_score(Z, m.labels_) for k, m in fits.items()}
    best = max(sil, key=lambda k: sil[k])
    knee = elbow(list(fits), [m.inertia_ for m in fits.values()])
    return np.asarray(fits[knee if sil[knee] >= 0.9 * sil[best] else best].labels_)


def run(population: str, seed: int, visitors: int) -> dict[str, Any]:
    personas = EASY if population == "easy" else HARD
    items = build_catalog(20, seed=seed)
    sim = simulate(items, visitors=visitors, seed=seed, personas=personas)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as d:
        res = train_segments(sim.events, items, Path(d) / "seg", range(2, 10), seed=seed, progress=lambda m: None)
    seconds = time.time() - t0
    truth = [sim.planted[v] for v in res["visitors"]]
    seg = res["pipeline"]
    Z = seg.transform(res["F"])
    plain = StandardScaler().fit_transform(res["F"])
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(Z), size=min(2000, len(Z)), replace=False)
    k = len(personas)
    labels = {
        "served (Segmenter, k by BIC)": res["labels"],
        "previous served (scaled k-means, k by silhouette/elbow)": previous(plain, seed),
        "k-means, plain scaled features, planted k": KMeans(k, n_init=10, random_state=seed).fit_predict(plain),
        "k-means, Segmenter features, planted k": KMeans(k, n_init=10, random_state=seed).fit_predict(Z),
        "mixture (diag), plain scaled, planted k": GaussianMixture(
            k, covariance_type="diag", reg_covar=1e-2, n_init=3, random_state=seed
        ).fit_predict(plain),
        "mixture (full), Segmenter features, planted k": GaussianMixture(
            k, covariance_type="full", reg_covar=1e-3, n_init=3, random_state=seed
        ).fit_predict(Z),
        "mixture (diag), Segmenter features, planted k": GaussianMixture(
            k, covariance_type="diag", reg_covar=1e-3, n_init=3, random_state=seed
        ).fit_predict(Z),
    }
    spend = res["F"][:, BASE_FEATURES.index("monetary_log")]
    labels["baseline RFM tertiles"] = np.digitize(spend, np.quantile(spend, [1 / 3, 2 / 3]))
    out: dict[str, Any] = {"population": population, "seed": seed, "planted": k, "k": res["report"]["k"]}
    for name, lab in labels.items():
        scores = cluster_scores(Z[sample], np.asarray(lab)[sample])
        out[name] = {"ari": adjusted_rand_score(truth, lab), "silhouette": scores["silhouette"], "dunn": scores["dunn"]}
    out["seconds"] = seconds
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    seeds = [1] if args.quick else [1, 2, 3]
    runs = [run(pop, seed, 700 if args.quick else 1400) for pop in ("easy", "hard") for seed in seeds]
    candidates = [c for c in runs[0] if isinstance(runs[0][c], dict)]
    summary: dict[str, Any] = {"bench": "segments", "runs": len(runs)}
    for pop in ("easy", "hard"):
        rows = [r for r in runs if r["population"] == pop]
        print(f"\n{pop} ({rows[0]['planted']} planted personas), chosen k {[r['k'] for r in rows]}")
        print("| candidate | ARI | silhouette | Dunn |\n| --- | --- | --- | --- |")
        summary[pop] = {"planted": rows[0]["planted"], "k": [r["k"] for r in rows]}
        for c in candidates:
            m = {key: float(np.mean([r[c][key] for r in rows])) for key in ("ari", "silhouette", "dunn")}
            print(f"| {c} | {m['ari']:.3f} | {m['silhouette']:.3f} | {m['dunn']:.3f} |")
            summary[pop][c] = {key: round(v, 4) for key, v in m.items()}
        summary[pop]["seconds"] = round(float(np.mean([r["seconds"] for r in rows])), 2)
    summary["ari_easy"] = summary["easy"]["served (Segmenter, k by BIC)"]["ari"]
    summary["ari_hard"] = summary["hard"]["served (Segmenter, k by BIC)"]["ari"]
    summary["baseline_rfm_ari_hard"] = summary["hard"]["baseline RFM tertiles"]["ari"]
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
