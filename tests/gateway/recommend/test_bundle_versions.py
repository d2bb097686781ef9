# SPDX-License-Identifier: Apache-2.0
"""Bundle versions on disk: live pointer, promote, rollback, keep N; the registry follows `LIVE`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from slotwise.gateway.recommend import bundle_versions as bv
from slotwise.gateway.recommend.bundles import ModelRegistry
from tests.gateway.conftest import train_bundle


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_bundle(tmp_path_factory.mktemp("bundle") / "good", items=6, visitors=50, seed=2)


def _versions(root: Path, good: Path, *names: str) -> None:
    for v in names:
        d = root / "recs" / v
        shutil.copytree(good, d)
        m = json.loads((d / "manifest.json").read_text())
        m["version"] = v
        (d / "manifest.json").write_text(json.dumps(m))


def test_without_live_the_newest_serves_and_promote_moves_the_pointer(tmp_path: Path, good: Path) -> None:
    _versions(tmp_path, good, "v1", "v2", "v3")
    assert bv.live_version(tmp_path, "recs") == tmp_path / "recs" / "v3"
    entry = bv.promote(tmp_path, "recs", "v2", "better on holdout")
    assert entry["previous"] == "v3" and entry["version"] == "v2"
    assert [v.name for v in bv.serving_order(tmp_path / "recs")] == ["v2", "v3", "v1"]
    listed = {v.version: v.live for v in bv.list_versions(tmp_path, "recs")}
    assert listed == {"v3": False, "v2": True, "v1": False}
    assert bv.bundle_names(tmp_path) == ["recs"]
    with pytest.raises(bv.VersionError, match="no version 'v9'"):
        bv.promote(tmp_path, "recs", "v9", "typo")


def test_rollback_returns_to_the_previous_live_version_then_older(tmp_path: Path, good: Path) -> None:
    _versions(tmp_path, good, "v1", "v2", "v3")
    bv.promote(tmp_path, "recs", "v1", "pinned")
    bv.promote(tmp_path, "recs", "v3", "retrained")
    assert bv.rollback(tmp_path, "recs")["version"] == "v1"  # the one live before, not the next name
    assert bv.live_version(tmp_path, "recs") == tmp_path / "recs" / "v1"
    assert bv.rollback(tmp_path, "recs")["version"] == "v3"  # v3 (the newest) served before v1 was pinned
    assert bv.rollback(tmp_path, "recs")["version"] == "v2"  # history used up: the next older version
    assert bv.rollback(tmp_path, "recs")["version"] == "v1"
    with pytest.raises(bv.VersionError, match="nothing to roll back to"):
        bv.rollback(tmp_path, "recs")
    actions = [e["action"] for e in bv.history(tmp_path, "recs")]
    assert actions == ["promote", "promote"] + ["rollback"] * 4


def test_prune_keeps_n_and_never_the_live_one_or_its_rollback_target(tmp_path: Path, good: Path) -> None:
    _versions(tmp_path, good, "v1", "v2", "v3", "v4", "v5")
    bv.promote(tmp_path, "recs", "v2", "x")
    bv.promote(tmp_path, "recs", "v1", "y")
    removed = bv.prune(tmp_path, "recs", keep=2)
    assert removed == ["v3"]
    assert [v.name for v in bv.version_dirs(tmp_path / "recs")] == ["v5", "v4", "v2", "v1"]


def test_a_pointer_to_a_missing_version_is_ignored(tmp_path: Path, good: Path) -> None:
    _versions(tmp_path, good, "v1", "v2")
    (tmp_path / "recs" / "LIVE").write_text("../../etc\n")
    assert bv.live_version(tmp_path, "recs") == tmp_path / "recs" / "v2"


def test_staged_candidates_are_invisible_until_installed(tmp_path: Path, good: Path) -> None:
    _versions(tmp_path, good, "v1")
    staged = bv.staging_dir(tmp_path, "recs", "v2")
    shutil.copytree(good, staged)
    assert [v.name for v in bv.version_dirs(tmp_path / "recs")] == ["v1"]
    bv.install(tmp_path, "recs", staged, "v2")
    assert (tmp_path / "recs" / "v2" / "manifest.json").exists() and not staged.exists()


def test_registry_swaps_on_promote_and_rollback(tmp_path: Path, good: Path) -> None:
    _versions(tmp_path, good, "v1", "v2")
    reg = ModelRegistry(tmp_path)
    reg.reload()
    assert reg.get("recs").version == "v2"  # type: ignore[union-attr]
    bv.rollback(tmp_path, "recs")
    assert reg.reload()["loaded"][0]["version"] == "v1"
    assert reg.get("recs").version == "v1"  # type: ignore[union-attr]
    bv.promote(tmp_path, "recs", "v2", "fixed")
    reg.reload()
    assert reg.get("recs").version == "v2"  # type: ignore[union-attr]
