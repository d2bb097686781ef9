# SPDX-License-Identifier: Apache-2.0
"""Segmentation against planted truth: a simulated population with known visitor groups.

    python bench/segments_bench.py [--quick]

Prints the adjusted Rand index of the chosen clustering (scaler + K-Means, k by silhouette)
against the planted groups, with its silhouette and Dunn index; the baseline is a plain RFM
rule (tertiles of spend) scored the same way in the same run.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score

from slotwise.gateway.visitors.features import BASE_FEATURES
from slotwise.models.segments import train_segments
from slotwise.models.simulate import catalog, simulate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    runs = []
    seeds = [1] if args.quick else [1, 2, 3]
    for seed in seeds:
        items = catalog(per_category=20, seed=seed)
        events, planted, _ = simulate(items, visitors=600 if args.quick else 1500, seed=seed)
        t0 = time.time()
        with tempfile.TemporaryDirectory() as d:
            res = train_segments(
                events, items, Path(d) / "seg", range(2, 9), seed=seed, progress=lambda m: print(m, file=sys.stderr)
            )
        truth = [planted[v] for v in res["visitors"]]
        chosen = next(c for c in res["report"]["candidates"] if c["k"] == res["report"]["k"])
        spend = res["F"][:, BASE_FEATURES.index("monetary_log")]
        rfm = np.digitize(spend, np.quantile(spend, [1 / 3, 2 / 3]))
        runs.append(
            {
                "seed": seed,
                "k": res["report"]["k"],
                "elbow_k": res["report"]["elbow_k"],
                "ari": adjusted_rand_score(truth, res["labels"]),
                "silhouette": chosen["silhouette"],
                "dunn": chosen["dunn"],
                "davies_bouldin": chosen["davies_bouldin"],
                "baseline_rfm_ari": adjusted_rand_score(truth, rfm),
                "seconds": time.time() - t0,
            }
        )
        r = runs[-1]
        print(
            f"seed {seed}: k={r['k']} (elbow {r['elbow_k']}), ARI {r['ari']:.3f} vs RFM tertiles "
            f"{r['baseline_rfm_ari']:.3f}; silhouette {r['silhouette']:.3f}, Dunn {r['dunn']:.3f}"
        )

    def mean(key: str) -> float:
        return round(float(np.mean([r[key] for r in runs])), 4)

    print(
        json.dumps(
            {
                "bench": "segments",
                "planted_groups": 4,
                "runs": len(runs),
                "ari": mean("ari"),
                "silhouette": mean("silhouette"),
                "dunn": mean("dunn"),
                "davies_bouldin": mean("davies_bouldin"),
                "baseline_rfm_ari": mean("baseline_rfm_ari"),
                "k": [r["k"] for r in runs],
                "seconds": mean("seconds"),
            }
        )
    )


if __name__ == "__main__":
    main()
