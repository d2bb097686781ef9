# SPDX-License-Identifier: Apache-2.0
"""Bundle verification and hot swap: good, corrupt, truncated, wrong schema, swap under load."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from slotwise.gateway.config.loader import ConfigError
from slotwise.gateway.recommend.bundles import BundleError, ModelRegistry, build_registry, load_bundle
from tests.gateway.conftest import train_bundle


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_bundle(tmp_path_factory.mktemp("bundle") / "good", items=8, visitors=80, seed=1)


def _version(root: Path, good: Path, version: str) -> Path:
    d = root / "recs" / version
    shutil.copytree(good, d)
    _edit_manifest(d, lambda m: m.update(version=version))
    return d


def _edit_manifest(d: Path, change: object) -> None:
    m = json.loads((d / "manifest.json").read_text())
    change(m)  # type: ignore[operator]
    (d / "manifest.json").write_text(json.dumps(m))


def _reseal(d: Path, fname: str) -> None:
    """Make the manifest's checksum agree with a changed file (a consistent but bad bundle)."""
    digest = hashlib.sha256((d / fname).read_bytes()).hexdigest()
    _edit_manifest(d, lambda m: m["sha256"].__setitem__(fname, digest))


def test_good_bundle_loads_with_roles_and_id_map(good: Path) -> None:
    b = load_bundle(good, threads=1)
    assert b.kind == "recommender" and {"ease", "hybrid", "similar", "content"} <= set(b.models)
    x = b.encode({"shoes-001": 1.0, "unknown": 3.0})
    assert x.shape == (1, len(b.items)) and x.sum() == 1.0
    scores = b.role("cf").run(x)  # type: ignore[union-attr]
    assert scores.shape == (1, len(b.items)) and scores[0, b.item_pos["shoes-001"]] < -1e8


def test_registry_lists_and_picks_newest_version(tmp_path: Path, good: Path) -> None:
    _version(tmp_path, good, "v1")
    _version(tmp_path, good, "v2")
    reg = ModelRegistry(tmp_path)
    report = reg.reload()
    assert [b["version"] for b in report["loaded"]] == ["v2"]
    listing = reg.list()
    assert listing[0]["name"] == "recs" and listing[0]["kind"] == "recommender"
    assert reg.reload()["unchanged"] == ["recs"]


@pytest.mark.parametrize(
    "fault",
    ["corrupt", "truncated", "truncated-resealed", "wrong-width", "wrong-input", "bad-manifest", "missing-file"],
)
def test_bad_new_version_is_refused_and_old_keeps_serving(
    tmp_path: Path, good: Path, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    _version(tmp_path, good, "v1")
    reg = ModelRegistry(tmp_path)
    reg.reload()
    bad = _version(tmp_path, good, "v2")
    onnx_file = bad / "ease.onnx"
    if fault == "corrupt":
        data = bytearray(onnx_file.read_bytes())
        data[len(data) // 2] ^= 0xFF
        onnx_file.write_bytes(bytes(data))
    elif fault.startswith("truncated"):
        onnx_file.write_bytes(onnx_file.read_bytes()[:1000])
        if fault.endswith("resealed"):
            _reseal(bad, "ease.onnx")
    elif fault == "wrong-width":
        ids = json.loads((bad / "items.json").read_text())
        (bad / "items.json").write_text(json.dumps([*ids, "extra-item"]))
        _reseal(bad, "items.json")
    elif fault == "wrong-input":
        _edit_manifest(bad, lambda m: m["models"]["ease"].__setitem__("input", "features"))
    elif fault == "bad-manifest":
        (bad / "manifest.json").write_text("{not json")
    elif fault == "missing-file":
        onnx_file.unlink()
    with caplog.at_level(logging.ERROR, logger="slotwise.models"):
        report = reg.reload()
    assert report["refused"] and not report["loaded"]
    assert reg.get("recs").version == "v1"  # type: ignore[union-attr]
    line = caplog.records[-1].getMessage()
    assert "refused" in line and "keeping version v1" in line and str(bad) in line
    # the old version still answers
    b = reg.get("recs")
    assert b is not None and b.role("hybrid").run(np.zeros((1, len(b.items)), np.float32)).shape[1] == len(b.items)  # type: ignore[union-attr]


def test_reasons_name_the_fault(tmp_path: Path, good: Path) -> None:
    d = tmp_path / "b"
    shutil.copytree(good, d)
    data = bytearray((d / "ease.onnx").read_bytes())
    (d / "ease.onnx").write_bytes(bytes(data[:-10]))
    with pytest.raises(BundleError, match=r"ease.onnx: sha256 mismatch .*corrupt or truncated"):
        load_bundle(d)
    _reseal(d, "ease.onnx")
    with pytest.raises(BundleError, match="onnxruntime cannot load it"):
        load_bundle(d)


def test_a_version_still_being_written_is_not_looked_at(
    tmp_path: Path, good: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _version(tmp_path, good, "v1")
    partial = tmp_path / "recs" / "v2"
    partial.mkdir()
    (partial / "ease.onnx").write_bytes(b"half a file")
    reg = ModelRegistry(tmp_path)
    with caplog.at_level(logging.ERROR, logger="slotwise.models"):
        report = reg.reload()
    assert reg.get("recs").version == "v1" and not report["refused"] and not caplog.records  # type: ignore[union-attr]


def test_at_start_a_bad_newest_version_falls_back_to_an_older_good_one(tmp_path: Path, good: Path) -> None:
    _version(tmp_path, good, "v1")
    bad = _version(tmp_path, good, "v2")
    (bad / "items.json").write_text("[]")
    reg = ModelRegistry(tmp_path)
    report = reg.reload()
    assert reg.get("recs").version == "v1" and len(report["refused"]) == 1  # type: ignore[union-attr]


def test_swap_under_load_fails_no_request(tmp_path: Path, good: Path) -> None:
    _version(tmp_path, good, "v1")
    reg = ModelRegistry(tmp_path)
    reg.reload()
    errors: list[BaseException] = []
    done = threading.Event()
    served = [0]

    def client() -> None:
        while not done.is_set():
            try:
                b = reg.get("recs")
                assert b is not None
                out = b.role("hybrid").run(b.encode({"shoes-001": 1.0}))  # type: ignore[union-attr]
                assert out.shape == (1, len(b.items))
                served[0] += 1
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=client) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for k in range(2, 6):
            d = _version(tmp_path, good, f"v{k}")
            if k % 2:  # every other upload is broken
                (d / "hybrid.onnx").write_bytes(b"garbage")
            reg.reload()
    finally:
        done.set()
        for t in threads:
            t.join()
    assert not errors and served[0] > 0
    assert reg.get("recs").version == "v4"  # type: ignore[union-attr]


def test_batcher_runs_one_inference_for_concurrent_slots(good: Path) -> None:
    reg = ModelRegistry(good.parent)
    reg.reload()
    b = reg.get("good")
    assert b is not None
    model = b.role("hybrid")
    rows = [b.encode({i: 1.0}) for i in ("shoes-001", "bags-002", "jeans-003")]

    async def page() -> list[np.ndarray]:
        return list(await asyncio.gather(*(reg.batcher.run(model, r) for r in rows)))  # type: ignore[arg-type]

    outs = asyncio.run(page())
    assert reg.batcher.runs == 1 and reg.batcher.rows == 3
    for r, o in zip(rows, outs, strict=False):
        assert np.allclose(o, model.run(r), atol=1e-6)  # type: ignore[union-attr]


def test_watcher_picks_up_a_new_version(tmp_path: Path, good: Path) -> None:
    _version(tmp_path, good, "v1")
    reg = ModelRegistry(tmp_path, watch_seconds=0.05)
    reg.reload()

    async def run() -> str:
        reg.start_watch()
        _version(tmp_path, good, "v2")
        for _ in range(200):
            await asyncio.sleep(0.05)
            if reg.get("recs").version == "v2":  # type: ignore[union-attr]
                break
        await reg.close()
        return reg.get("recs").version  # type: ignore[union-attr]

    assert asyncio.run(run()) == "v2"


def test_config_section_is_validated(tmp_path: Path) -> None:
    assert build_registry({}) is None
    reg = build_registry({"dir": "models", "intra_op_threads": 2}, tmp_path)
    assert reg is not None and reg.root == tmp_path / "models" and reg.threads == 2
    with pytest.raises(ConfigError) as err:
        build_registry({"intra_op_threads": 0, "colour": "red"})
    text = str(err.value)
    assert "models.dir" in text and "models.intra_op_threads" in text and "models.colour" in text
