# SPDX-License-Identifier: Apache-2.0
"""One retraining candidate: train on the events before a temporal cut, score it and the live
bundle on the events after the cut, print both scores as JSON.

    python -m slotwise.models.retrain --events F.jsonl [--items F] --out DIR [--live DIR]
        [--kind recommender|propensity] [--holdout-share 0.2] [--k 10] [--result F.json]

Run by `slotwise retrain` (gateway side) in a subprocess: the gateway never imports this
package. The cut is the later of the live bundle's training watermark (`training_window.to`)
and the time that leaves `holdout-share` of the interactions after it, so neither model has
seen the holdout. Each visitor with history before the cut and new items after it is one test
user; both bundles are scored from their ONNX files by onnxruntime, each through its own id
map, with the served (default) model. A propensity candidate is trained the same way (same
feature definition, `gateway.visitors.features`) and both are scored on the sessions that start
after the cut, each through its own feature spec (AUC, Brier). The decision (margin, promotion)
is the gateway's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from slotwise.models.data import EVENT_WEIGHTS, events_to_interactions, read_events, read_items, with_categories
from slotwise.models.metrics import ranking_metrics
from slotwise.models.scoring import onnx_score_fn, top_k


def temporal_cut(timestamps: np.ndarray, holdout_share: float, watermark: float | None) -> float:
    """The last training timestamp: holdout is everything strictly after it."""
    if not 0 < holdout_share < 1:
        raise ValueError(f"holdout share must be between 0 and 1, not {holdout_share}")
    t = np.sort(timestamps)
    cut = float(t[max(0, round(len(t) * (1 - holdout_share)) - 1)])
    if watermark is not None:
        cut = max(cut, float(watermark))
    if not (t > cut).any():
        raise ValueError(
            f"no interactions after the cut {cut:.0f} (live bundle trained up to {watermark}): nothing to evaluate on"
        )
    return cut


def holdout_users(events: list[dict[str, Any]], cut: float) -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    """Visitors' items before the cut (history) and the new items after it (relevant)."""
    history: dict[str, set[str]] = {}
    later: dict[str, list[str]] = {}
    for e in events:
        if not e.get("item_id") or e["type"] not in EVENT_WEIGHTS:
            continue
        v, item = str(e["visitor_id"]), str(e["item_id"])
        if e["ts"] <= cut:
            history.setdefault(v, set()).add(item)
        else:
            later.setdefault(v, []).append(item)
    relevant = {}
    for v, items in later.items():
        new = [i for i in dict.fromkeys(items) if i not in history.get(v, set())]
        if v in history and new:
            relevant[v] = new
    return {v: history[v] for v in relevant}, relevant


def score_bundle(
    bundle: Path, history: dict[str, set[str]], relevant: dict[str, list[str]], k: int = 10
) -> dict[str, float]:
    """Ranking metrics of a bundle's served model on the holdout users (seen items never count)."""
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    model = manifest["models"][manifest["default"]]
    ids = json.loads((bundle / "items.json").read_text(encoding="utf-8"))
    pos = {item: n for n, item in enumerate(ids)}
    users = sorted(relevant)
    rows, cols = [], []
    for r, v in enumerate(users):
        for item in history[v]:
            if item in pos:
                rows.append(r)
                cols.append(pos[item])
    X = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(users), len(ids)))
    top = top_k(onnx_score_fn(str(bundle / model["file"])), X, min(k, len(ids)))
    recs = {v: [ids[i] for i in row] for v, row in zip(users, top, strict=False)}
    metrics = ranking_metrics(recs, relevant, k, n_items=len(ids))
    return {key: round(float(value), 6) for key, value in metrics.items()}


def score_propensity(bundle: Path, events: list[dict[str, Any]], cut: float) -> dict[str, float]:
    """AUC and Brier of a propensity bundle on the sessions starting after the cut."""
    from slotwise.gateway.visitors.features import FeatureSpec
    from slotwise.models.metrics import auc_roc, brier
    from slotwise.models.propensity import session_examples

    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    model = manifest["models"][manifest["default"]]
    X, y, t = session_examples(events, FeatureSpec.from_json(manifest["features"]))
    later = t > cut
    if len(set(y[later].tolist())) < 2:
        raise ValueError("the holdout sessions need both buyers and non-buyers to score propensity")
    import onnxruntime as ort

    sess = ort.InferenceSession(str(bundle / model["file"]), providers=["CPUExecutionProvider"])
    p = sess.run([model["output"]], {model["input"]: X[later].astype(np.float32)})[0][
        :, model.get("positive_column", 1)
    ]
    return {"auc": round(auc_roc(y[later], p), 6), "brier": round(brier(y[later], p), 6), "sessions": int(later.sum())}


def _watermark(live: Path | None) -> float | None:
    if live is None:
        return None
    window = json.loads((live / "manifest.json").read_text(encoding="utf-8")).get("training_window") or {}
    return window.get("to")


def run_propensity(
    events: list[dict[str, Any]], items: Any, out: Path, live: Path | None, holdout_share: float, progress: Any
) -> dict[str, Any]:
    from slotwise.models.propensity import train_propensity

    t0 = time.time()
    watermark = _watermark(live)
    cut = temporal_cut(np.asarray([e["ts"] for e in events], dtype=np.float64), holdout_share, watermark)
    train = [e for e in events if e["ts"] <= cut]
    progress(f"retrain propensity: {len(train)} events up to {cut:.0f}")
    train_propensity(train, items, out, progress)
    return {
        "kind": "propensity",
        "cut": cut,
        "live_watermark": watermark,
        "train_events": len(train),
        "candidate": score_propensity(out, events, cut),
        "live": score_propensity(live, events, cut) if live is not None else None,
        "seconds": round(time.time() - t0, 2),
    }


def run(
    events_path: Path,
    items_path: Path | None,
    out: Path,
    live: Path | None,
    holdout_share: float = 0.2,
    k: int = 10,
    progress: Any = print,
    kind: str = "recommender",
) -> dict[str, Any]:
    from slotwise.models.train_recommender import train_recommender

    t0 = time.time()
    items = read_items(items_path) if items_path else None
    events = with_categories(read_events(events_path), items)
    if kind == "propensity":
        return run_propensity(events, items, out, live, holdout_share, progress)
    inter = events_to_interactions(events)
    watermark = _watermark(live)
    assert inter.timestamps is not None
    cut = temporal_cut(inter.timestamps, holdout_share, watermark)
    history, relevant = holdout_users(events, cut)
    if not relevant:
        raise ValueError("no visitor has both history before the cut and new items after it: nothing to evaluate on")
    train = inter.subset(inter.timestamps <= cut)
    progress(f"retrain: {len(train)} interactions up to {cut:.0f}, {len(relevant)} holdout visitors")
    train_recommender(train, items, out, progress=progress, extra_meta={"retrain": {"cut": cut}})
    result: dict[str, Any] = {
        "kind": "recommender",
        "cut": cut,
        "live_watermark": watermark,
        "train_interactions": len(train),
        "holdout_users": len(relevant),
        "k": k,
        "candidate": score_bundle(out, history, relevant, k),
        "live": score_bundle(live, history, relevant, k) if live is not None else None,
        "seconds": round(time.time() - t0, 2),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m slotwise.models.retrain", description=__doc__.splitlines()[0])
    p.add_argument("--events", type=Path, required=True)
    p.add_argument("--items", type=Path)
    p.add_argument("--out", type=Path, required=True, help="where the candidate bundle is written")
    p.add_argument("--live", type=Path, help="the live bundle to compare with")
    p.add_argument("--kind", choices=["recommender", "propensity"], default="recommender")
    p.add_argument("--holdout-share", type=float, default=0.2)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--result", type=Path, help="write the scores here as JSON (else stdout)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    try:
        result = run(args.events, args.items, args.out, args.live, args.holdout_share, args.k, say, args.kind)
    except (ValueError, OSError, KeyError) as exc:
        print(f"retrain candidate failed: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(result, indent=2)
    if args.result:
        args.result.write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
