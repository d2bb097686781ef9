# SPDX-License-Identifier: Apache-2.0
"""Single-request latency of every ONNX model against numpy / scikit-learn predict of the same
model, with training time and bundle size, on ml-latest-small and a synthetic 100k-item catalog.

    python bench/inference_bench.py [--quick]

One request = one visitor row (at most the 200 items a profile keeps), one thread
(intra_op_threads=1), as the gateway runs it.
Last line: one JSON object with our figures and the baseline's (numpy / scikit-learn).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from slotwise.gateway.demo.catalog import build_catalog
from slotwise.gateway.demo.simulate import simulate
from slotwise.gateway.recommend.bundles import load_bundle
from slotwise.gateway.visitors.profiles import ITEMS_MAX as PROFILE_ITEMS
from slotwise.models.data import Interactions
from slotwise.models.propensity import train_propensity
from slotwise.models.segments import train_segments
from slotwise.models.train_recommender import train_recommender

ROOT = Path(__file__).resolve().parent.parent


def latency(fn: Callable[[np.ndarray], Any], rows: list[np.ndarray], repeat: int) -> dict[str, float]:
    for r in rows[:5]:
        fn(r)
    ts, cpu = [], []
    for k in range(repeat):
        r = rows[k % len(rows)]
        t, c = time.perf_counter(), time.thread_time()
        fn(r)
        ts.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
    p50, p99 = np.percentile(ts, [50, 99]) * 1000
    # Wall-clock p99 on a shared machine includes time the thread was not scheduled; the CPU
    # time of this thread (onnxruntime computes on the caller's thread with 1 intra-op thread)
    # shows what the request itself costs.
    return {
        "p50_ms": round(float(p50), 4),
        "p99_ms": round(float(p99), 4),
        "cpu_p99_ms": round(float(np.percentile(cpu, 99) * 1000), 4),
    }


def bundle_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.iterdir()) / 1e6, 1)


def recommender_case(
    name: str, inter: Interactions, items: list[dict[str, Any]], tmp: Path, repeat: int, numpy_repeat: int
) -> dict[str, Any]:
    t0 = time.time()
    res = train_recommender(inter, items, tmp / name, lam=200.0, content_weight=0.02, progress=lambda m: None)
    train_s = time.time() - t0
    bundle = load_bundle(tmp / name, threads=1)
    X = res["X"]
    rng = np.random.default_rng(0)
    rows = []
    for u in rng.choice(X.shape[0], 50):
        row = X[u].toarray().astype(np.float32)
        nz = np.flatnonzero(row)
        if len(nz) > PROFILE_ITEMS:  # a request carries at most the profile's items
            row[0, rng.choice(nz, len(nz) - PROFILE_ITEMS, replace=False)] = 0.0
        rows.append(row)
    out: dict[str, Any] = {
        "items": len(res["items"]),
        "train_s": round(train_s, 1),
        "bundle_mb": bundle_mb(tmp / name),
        "models": {},
    }
    for model, scorer in res["scorers"].items():
        onnx_model = bundle.models[model]
        ours = latency(onnx_model.run, rows, repeat)
        base = latency(scorer.predict, rows, numpy_repeat)
        out["models"][model] = {"onnx": ours, "numpy": base, "speedup_p50": round(base["p50_ms"] / ours["p50_ms"], 1)}
        print(
            f"{name:<10}{model:<12} onnx p50 {ours['p50_ms']:.3f} ms p99 {ours['p99_ms']:.3f} ms | numpy "
            f"p50 {base['p50_ms']:.3f} ms p99 {base['p99_ms']:.3f} ms",
            file=sys.stderr,
        )
    return out


def movielens(tmp: Path, repeat: int) -> dict[str, Any] | None:
    data = ROOT.parent / "shared" / "data" / "ml-latest-small"
    if not data.exists():
        return None
    from movielens_data import load

    inter, items = load(data)
    return recommender_case("ml-small", inter, items, tmp, repeat, 50)


def synthetic(n_items: int, n_users: int, per_user: int, seed: int = 0) -> tuple[Interactions, list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    cats = [f"cat{c}" for c in range(200)]
    words = [f"w{k}" for k in range(3000)]
    items = [
        {
            "item_id": f"sku{k}",
            "title": " ".join(rng.choice(words, 4)),
            "categories": [cats[k % 200]],
            "tags": [str(t) for t in rng.choice(words[:500], 2)],
        }
        for k in range(n_items)
    ]
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.8
    pop /= pop.sum()
    users = np.repeat(np.arange(n_users), per_user)
    chosen = rng.choice(n_items, size=len(users), p=pop)
    return Interactions(
        np.array([f"u{u}" for u in users], dtype=object),
        np.array([f"sku{i}" for i in chosen], dtype=object),
        np.ones(len(users)),
    ), items


def sklearn_cases(tmp: Path, repeat: int) -> dict[str, Any]:
    items = build_catalog(20)
    events = simulate(items, visitors=400).events
    seg = train_segments(events, items, tmp / "seg", range(2, 7), progress=lambda m: None)
    prop = train_propensity(events, items, tmp / "prop", progress=lambda m: None)
    out = {}
    for name, model, X, onnx_dir in (
        ("segments", seg["pipeline"].predict, seg["F"], "seg"),
        ("propensity", prop["model"].predict_proba, prop["X"], "prop"),
    ):
        b = load_bundle(tmp / onnx_dir)
        rows = [X[k : k + 1] for k in range(min(50, len(X)))]
        ours = latency(b.models[b.default].run, rows, repeat)
        base = latency(model, rows, max(repeat // 4, 50))
        out[name] = {"onnx": ours, "sklearn": base, "speedup_p50": round(base["p50_ms"] / ours["p50_ms"], 1)}
        print(
            f"{name:<22} onnx p50 {ours['p50_ms']:.3f} ms p99 {ours['p99_ms']:.3f} ms | scikit-learn "
            f"p50 {base['p50_ms']:.3f} ms p99 {base['p99_ms']:.3f} ms",
            file=sys.stderr,
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repeats and users (under a minute)")
    args = ap.parse_args()
    repeat = 200 if args.quick else 2000
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        result: dict[str, Any] = {"bench": "inference", "threads": 1}
        result["sklearn_models"] = sklearn_cases(tmp, repeat)
        if not args.quick:
            result["ml_latest_small"] = movielens(tmp, repeat)
        inter, items = synthetic(100_000, 4_000 if args.quick else 20_000, 30)
        result["synthetic_100k"] = recommender_case("100k", inter, items, tmp, repeat, 10 if args.quick else 30)
    big = result["synthetic_100k"]
    result["targets"] = {
        "bundle_under_500mb": big["bundle_mb"] < 500,
        "p99_under_5ms": all(m["onnx"]["p99_ms"] < 5 for m in big["models"].values()),
        "cpu_p99_under_5ms": all(m["onnx"]["cpu_p99_ms"] < 5 for m in big["models"].values()),
    }
    result["load_average_1m"] = round(os.getloadavg()[0], 2)  # p99 on a shared machine depends on it
    print(json.dumps(result))


if __name__ == "__main__":
    main()
