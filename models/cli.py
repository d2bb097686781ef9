# SPDX-License-Identifier: Apache-2.0
"""`slotwise train recommender|segments|propensity` and `slotwise evaluate`.

`main(argv)` receives the full argv starting with the sub-command (`train` or `evaluate`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from slotwise.models.data import (
    events_to_interactions,
    interactions_to_events,
    read_events,
    read_interactions,
    read_items,
)
from slotwise.models.metrics import mae, mean_std, rmse
from slotwise.models.splits import kfold_users, per_user_random_split, stratified_split, temporal_split


def _progress(quiet: bool) -> Any:
    start = time.time()
    return (
        (lambda _m: None)
        if quiet
        else (lambda m: print(f"[{time.time() - start:6.1f}s] {m}", file=sys.stderr, flush=True))
    )


def _lam(text: str) -> float | str:
    if text == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--lambda must be a number or 'auto', not {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("--lambda must be > 0")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="slotwise")
    sub = p.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a model and write a bundle").add_subparsers(dest="kind", required=True)
    rec = train.add_parser("recommender", help="CF (EASE), content, hybrid and similar-items models")
    rec.add_argument("--interactions", type=Path, help="CSV user_id,item_id[,timestamp,rating|weight]")
    rec.add_argument("--events", type=Path, help="events JSON lines (instead of --interactions)")
    rec.add_argument("--items", type=Path, help="items CSV or JSON lines")
    rec.add_argument("--out", type=Path, required=True)
    rec.add_argument(
        "--lambda",
        dest="lam",
        type=_lam,
        default=None,
        help="EASE regularization, or 'auto' to tune it on a validation split (the default up to 4000 active items)",
    )
    rec.add_argument("--content-weight", type=float, default=None)
    for kind in ("segments", "propensity"):
        sp = train.add_parser(kind)
        sp.add_argument("--events", type=Path, required=kind == "propensity", help="events JSON lines")
        sp.add_argument("--items", type=Path)
        sp.add_argument("--out", type=Path, required=True)
        if kind == "segments":
            sp.add_argument(
                "--interactions", type=Path, help="interactions CSV instead of events (each row an item view)"
            )
            sp.add_argument("--k-min", type=int, default=2)
            sp.add_argument("--k-max", type=int, default=8)
    for q in train.choices.values():
        q.add_argument("--quiet", action="store_true")
    ev = sub.add_parser("evaluate", help="temporal, per-user and stratified splits, k-fold CV")
    ev.add_argument("--interactions", type=Path)
    ev.add_argument("--events", type=Path, help="events JSON lines (recommenders and propensity)")
    ev.add_argument("--items", type=Path)
    ev.add_argument("--k", type=int, default=10)
    ev.add_argument("--folds", type=int, default=5)
    ev.add_argument("--lambda", dest="lam", type=_lam, default=200.0)
    ev.add_argument("--json", type=Path, help="write the results here as JSON")
    ev.add_argument("--out", type=Path, help="bundle directory to receive model_card.md")
    ev.add_argument("--quiet", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    progress = _progress(args.quiet)
    try:
        if args.command == "train":
            return _train(args, progress)
        return _evaluate(args, progress)
    except (ValueError, OSError) as exc:
        print(f"slotwise {args.command}: {exc}", file=sys.stderr)
        return 2


def _train(args: argparse.Namespace, progress: Any) -> int:
    items = read_items(args.items) if args.items else None
    if args.kind == "recommender":
        from slotwise.models.train_recommender import train_recommender

        if (args.interactions is None) == (args.events is None):
            raise ValueError("give exactly one of --interactions or --events")
        inter = (
            read_interactions(args.interactions)
            if args.interactions
            else events_to_interactions(read_events(args.events))
        )
        auto = args.lam == "auto"
        train_recommender(
            inter, items, args.out, None if auto else args.lam, args.content_weight, progress, force_tune=auto
        )
    elif args.kind == "segments":
        from slotwise.models.segments import train_segments

        if (args.interactions is None) == (args.events is None):
            raise ValueError("give exactly one of --events or --interactions")
        events = (
            read_events(args.events) if args.events else interactions_to_events(read_interactions(args.interactions))
        )
        train_segments(events, items, args.out, range(args.k_min, args.k_max + 1), progress=progress)
    else:
        from slotwise.models.propensity import train_propensity

        train_propensity(read_events(args.events), items, args.out, progress)
    return 0


def _evaluate(args: argparse.Namespace, progress: Any) -> int:
    from slotwise.models.evaluate import bias_baseline, evaluate_split

    items = read_items(args.items) if args.items else None
    if args.interactions is None and args.events is None:
        raise ValueError("give --interactions and/or --events")
    results: dict[str, Any] = {}
    if args.interactions or args.events:
        inter = (
            read_interactions(args.interactions)
            if args.interactions
            else events_to_interactions(read_events(args.events))
        )
        lam = args.lam if isinstance(args.lam, float) else 200.0

        def run(tr: np.ndarray, te: np.ndarray) -> dict[str, Any]:
            return evaluate_split(inter, items, tr, te, lam, None, args.k)

        if inter.timestamps is not None:
            tr, _va, te = temporal_split(inter)
            progress("temporal 70/15/15 split (train on the first 70%, test on the last 15%)")
            results["temporal"] = run(tr, te)
        progress("per-user random split 75/25")
        results["per_user"] = run(*per_user_random_split(inter))
        progress("stratified split by item 75/25 (Microsoft Recommenders protocol)")
        results["stratified_item"] = run(*stratified_split(inter))
        folds = kfold_users(inter, args.folds)
        per_fold: dict[str, dict[str, list[float]]] = {}
        for f, test in enumerate(folds):
            progress(f"fold {f + 1}/{args.folds}")
            for model, m in run(~test, test).items():
                for key, v in m.items():
                    per_fold.setdefault(model, {}).setdefault(key, []).append(v)
        results[f"cv{args.folds}"] = {
            model: {key: dict(zip(("mean", "std"), mean_std(vs), strict=False)) for key, vs in ms.items()}
            for model, ms in per_fold.items()
        }
        if inter.ratings is not None:
            tr, te = per_user_random_split(inter)
            pred = bias_baseline((inter.users[tr], inter.items[tr], inter.ratings[tr]))(
                inter.users[te], inter.items[te]
            )
            mean = np.full(int(te.sum()), inter.ratings[tr].mean())
            results["rating"] = {
                "bias_model": {"rmse": rmse(inter.ratings[te], pred), "mae": mae(inter.ratings[te], pred)},
                "global_mean": {"rmse": rmse(inter.ratings[te], mean), "mae": mae(inter.ratings[te], mean)},
            }
    if args.events:
        import tempfile

        from slotwise.models.propensity import train_propensity

        with tempfile.TemporaryDirectory() as tmp:
            results["propensity"] = train_propensity(read_events(args.events), items, Path(tmp), progress)["metrics"]
    text = render_table(results, args.k)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "model_card.md").write_text(model_card(results, args.k), encoding="utf-8")
    return 0


def _cell(m: dict[str, Any], c: str) -> str:
    if isinstance(m.get(c), dict):
        return f"{m[c]['mean']:.4f}±{m[c]['std']:.3f}"
    return f"{m.get(c, float('nan')):.4f}"


def render_table(results: dict[str, Any], k: int) -> str:
    cols = ["map", f"ndcg@{k}", f"precision@{k}", f"recall@{k}", f"hit@{k}", "coverage", "novelty"]
    lines = []
    for split, models in results.items():
        if split in {"rating", "propensity"}:
            continue
        lines.append(f"\n{split}")
        lines.append(f"{'model':<12}" + "".join(f"{c:>14}" for c in cols))
        for model, m in models.items():
            lines.append(f"{model:<12}" + "".join(f"{_cell(m, c):>14}" for c in cols))
    if "rating" in results:
        lines.append("\nrating prediction (per-user 75/25)")
        lines += [f"{n:<12} RMSE {m['rmse']:.4f}  MAE {m['mae']:.4f}" for n, m in results["rating"].items()]
    if "propensity" in results and "auc" in results["propensity"]:
        p = results["propensity"]
        lines.append(
            f"\npropensity (temporal): AUC {p['auc']:.4f} (base rate 0.5), Brier {p['brier']:.4f} "
            f"(base rate {p['baseline_brier']:.4f})"
        )
    return "\n".join(lines)


def model_card(results: dict[str, Any], k: int) -> str:
    return "\n".join(
        [
            "# Model card",
            "",
            "Models: EASE (item-item linear CF), content TF-IDF/LSA, hybrid, similar items, popularity baseline;",
            "served as plain ONNX graphs (`interactions` float32 [batch, n_items] -> `scores`).",
            "",
            "Protocols: temporal 70/15/15 (no future in training), per-user random 75/25, stratified by item",
            f"75/25 seed 42 (Microsoft Recommenders), user k-fold CV; top {k}, seen items removed, binary gain,",
            "MAP divided by the number of relevant items. Every table includes the popularity baseline.",
            "",
            "```",
            render_table(results, k).strip(),
            "```",
            "",
            "Limits: implicit feedback only; cold visitors get popularity; trained on one site's history.",
            "",
        ]
    )
