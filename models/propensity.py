# SPDX-License-Identifier: Apache-2.0
"""`slotwise train propensity`: calibrated purchase likelihood of a visitor's current session.

One example per session: the visitor's history before the session plus the session so far
(up to, not including, its first purchase), labelled 1 when the session goes on to buy. The
model is validated on a temporal split (later sessions only), then refit and exported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from slotwise.gateway.visitors.features import PURCHASES, FeatureSpec, feature_vector, foldable, profiles_from_events
from slotwise.gateway.visitors.profiles import SESSION_GAP, Profile
from slotwise.models.bundle import write_bundle
from slotwise.models.data import with_categories
from slotwise.models.metrics import auc_roc, brier

Progress = Callable[[str], None]


def session_examples(events: list[dict[str, Any]], spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, label, session start time) for every session of every visitor.

    The profile is folded event by event, exactly as the store folds it online, and read at
    the last event before the session's first purchase: what the gateway knows at that moment.
    """
    by_visitor: dict[str, list[dict[str, Any]]] = {}
    for ev in foldable(events):
        by_visitor.setdefault(str(ev["visitor_id"]), []).append(ev)
    X, y, t = [], [], []
    for evs in by_visitor.values():
        evs.sort(key=lambda e: (e["ts"], e["event_id"]))
        sessions: list[list[dict[str, Any]]] = []
        for ev in evs:
            if not sessions or ev["ts"] - sessions[-1][-1]["ts"] > SESSION_GAP:
                sessions.append([])
            sessions[-1].append(ev)
        profile = Profile()
        for sess in sessions:
            buys = [k for k, e in enumerate(sess) if e["type"] in PURCHASES]
            cut = buys[0] if buys else len(sess)
            for ev in sess[:cut]:
                profile.fold(ev)
            if cut > 0:
                X.append(feature_vector(profile, spec, sess[cut - 1]["ts"]))
                y.append(1 if buys else 0)
                t.append(sess[0]["ts"])
            for ev in sess[cut:]:
                profile.fold(ev)
    if not X:
        raise ValueError("no sessions in events")
    return np.vstack(X), np.asarray(y), np.asarray(t)


def make_model(seed: int = 0) -> Pipeline:
    base = LogisticRegression(C=0.5, max_iter=1000)
    return Pipeline([("scaler", StandardScaler()), ("clf", CalibratedClassifierCV(base, method="sigmoid", cv=3))])


def train_propensity(
    events: list[dict[str, Any]], items: list[dict[str, Any]] | None, out: Path, progress: Progress = print
) -> dict[str, Any]:
    t0 = time.time()
    events = with_categories(events, items)
    spec = FeatureSpec.fit(profiles_from_events(events).values(), max_categories=20)
    X, y, t = session_examples(events, spec)
    progress(f"propensity: {len(y)} sessions, {int(y.sum())} with a purchase")
    if len(set(y.tolist())) < 2:
        raise ValueError("propensity needs sessions with and without a purchase")
    order = np.argsort(t, kind="stable")
    b = int(len(order) * 0.85)
    train, test = order[:b], order[b:]  # 70 train + 15 validation, fitted together; 15 test, later
    metrics: dict[str, Any] = {"split": "temporal 85/15 (train+validation / test)", "sessions": len(y)}
    if len(set(y[train].tolist())) == 2 and len(set(y[test].tolist())) == 2:
        model = make_model().fit(X[train], y[train])
        p = model.predict_proba(X[test])[:, 1]
        base = np.full(len(test), y[train].mean())
        metrics.update(
            auc=auc_roc(y[test], p),
            brier=brier(y[test], p),
            baseline_auc=0.5,
            baseline_brier=brier(y[test], base),
            test_sessions=len(test),
        )
        progress(
            f"  test AUC {metrics['auc']:.3f}, Brier {metrics['brier']:.4f} "
            f"(base rate: Brier {metrics['baseline_brier']:.4f})"
        )
    model = make_model().fit(X, y)
    onx = to_onnx(
        model,
        initial_types=[("features", FloatTensorType([None, X.shape[1]]))],
        target_opset={"": 17, "ai.onnx.ml": 3},
        options={id(model): {"zipmap": False}},
    )
    entry = {"input": "features", "output": "probabilities", "input_shape": ["batch", X.shape[1]], "positive_column": 1}
    write_bundle(
        out,
        "propensity",
        {"propensity": (onx, entry)},
        "propensity",
        None,
        {
            "features": spec.to_json(),
            "metrics": metrics,
            "training_window": {"from": float(t.min()), "to": float(t.max())},
            "train_seconds": round(time.time() - t0, 2),
        },
    )
    progress(f"propensity bundle written to {out} in {time.time() - t0:.1f}s")
    return {"model": model, "X": X, "y": y, "spec": spec, "metrics": metrics}
