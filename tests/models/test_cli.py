# SPDX-License-Identifier: Apache-2.0
"""The CLI's file formats and bundle layout (DESIGN.md), loadable by plain onnxruntime."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from slotwise.models.cli import main


def _interactions(store: dict[str, Any], path: Path) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["user_id", "item_id", "timestamp", "weight"])
        for e in store["events"]:
            if e["type"] in {"item_view", "add_to_cart", "purchase"}:
                w.writerow([e["visitor_id"], e["item_id"], int(e["ts"]), 1 if e["type"] == "item_view" else 3])
    return path


def test_train_recommender_writes_the_documented_bundle(store: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    inter = _interactions(store, tmp_path / "inter.csv")
    assert (
        main(
            [
                "train",
                "recommender",
                "--interactions",
                str(inter),
                "--items",
                str(store["items_path"]),
                "--out",
                str(out),
                "--lambda",
                "100",
            ]
        )
        == 0
    )
    manifest = json.loads((out / "manifest.json").read_text())
    items = json.loads((out / "items.json").read_text())
    assert manifest["default"] in manifest["models"]
    assert {"cf", "content", "hybrid", "similar"} <= set(manifest["roles"])
    for fname, digest in manifest["sha256"].items():
        assert hashlib.sha256((out / fname).read_bytes()).hexdigest() == digest
    for entry in manifest["models"].values():
        assert entry["input"] == "interactions" and entry["output"] == "scores"
        sess = ort.InferenceSession(str(out / entry["file"]), providers=["CPUExecutionProvider"])
        x = np.zeros((2, len(items)), dtype=np.float32)
        x[1, items.index("shoes-001")] = 1.0
        scores = sess.run(["scores"], {"interactions": x})[0]
        assert scores.shape == (2, len(items)) and scores.dtype == np.float32
        assert scores[1, items.index("shoes-001")] < -1e8  # seen items are masked


def test_a_shoe_viewer_is_recommended_shoes(bundles: dict[str, Path]) -> None:
    d = bundles["recommender"]
    manifest = json.loads((d / "manifest.json").read_text())
    items = json.loads((d / "items.json").read_text())
    for role in ("cf", "hybrid", "similar", "content"):
        entry = manifest["models"][manifest["roles"][role]]
        sess = ort.InferenceSession(str(d / entry["file"]), providers=["CPUExecutionProvider"])
        x = np.zeros((1, len(items)), dtype=np.float32)
        for i in ("shoes-000", "shoes-002", "shoes-003"):
            x[0, items.index(i)] = 1.0
        top = np.argsort(-sess.run(["scores"], {"interactions": x})[0][0])[:5]
        shoes = sum(items[k].startswith("shoes-") for k in top)
        assert shoes >= 4, (role, [items[k] for k in top])


def test_segments_cli_writes_assignments_and_names(store: dict[str, Any], bundles: dict[str, Path]) -> None:
    d = bundles["segments"]
    manifest = json.loads((d / "manifest.json").read_text())
    rows = list(csv.DictReader((d / "assignments.csv").read_text().splitlines()))
    assert {r["visitor_id"] for r in rows} == set(store["planted"])
    assert {r["segment"] for r in rows} == set(manifest["segments"].values())
    report = manifest["metrics"]
    assert all({"silhouette", "davies_bouldin", "dunn", "bic"} <= set(c) for c in report["candidates"])
    assert {"kmeans", "agglomerative_ward", "dbscan"} <= set(report["exploration"])
    assert "## " in (d / "segments.md").read_text()


def test_evaluate_prints_table_json_and_model_card(
    store: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "eval.json"
    assert (
        main(
            [
                "evaluate",
                "--events",
                str(store["events_path"]),
                "--items",
                str(store["items_path"]),
                "--folds",
                "2",
                "--json",
                str(out),
                "--out",
                str(tmp_path),
                "--quiet",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "temporal" in printed and "popularity" in printed
    res = json.loads(out.read_text())
    assert {"temporal", "per_user", "stratified_item", "cv2", "propensity"} <= set(res)
    t = res["temporal"]
    assert t["ease"]["ndcg@10"] > t["popularity"]["ndcg@10"]
    assert set(res["cv2"]["ease"]["ndcg@10"]) == {"mean", "std"}
    assert "Model card" in (tmp_path / "model_card.md").read_text()


def test_bad_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("user,item\n1,2\n")
    assert main(["train", "recommender", "--interactions", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "missing column(s) item_id, user_id" in capsys.readouterr().err
