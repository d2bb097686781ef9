# SPDX-License-Identifier: Apache-2.0
"""Versions of one model bundle on disk: list, install, promote, roll back, keep the last N.

Layout: `ROOT/NAME/VERSION/` bundle directories and, beside them, `LIVE` (the version to serve,
one line) and `history.jsonl` (one JSON line per promotion or rollback: version, previous, why,
when). Without `LIVE` the newest version by name serves, as before. Pure file operations (no
onnxruntime, no scikit-learn), so the CLI, the retrain schedule and the studio share them; the
model registry reads `LIVE` through `serving_order` and every replica's watch or sync swaps.
Writes go through a temporary name and a rename, so a reader sees the old or the new pointer.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from slotwise.gateway.common.jsoncodec import json_lines

LIVE_FILE = "LIVE"
HISTORY_FILE = "history.jsonl"
STAGING_DIR = ".staging"  # hidden: candidates being trained or evaluated are never served


class VersionError(ValueError):
    """A version operation that cannot be done (unknown name or version, nothing to roll back to)."""


@dataclass(frozen=True)
class VersionInfo:
    name: str
    version: str
    path: Path
    live: bool
    kind: str = "unknown"
    created_at: str | None = None
    training_window: dict[str, Any] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path)}


def _manifest(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def version_dirs(name_dir: Path) -> list[Path]:
    """Complete versions (manifest.json written, which comes last), newest name first."""
    if not name_dir.is_dir():
        return []
    return sorted(
        (v for v in name_dir.iterdir() if v.is_dir() and not v.name.startswith(".") and (v / "manifest.json").exists()),
        key=lambda v: v.name,
        reverse=True,
    )


def live_pointer(name_dir: Path) -> str | None:
    """The version named in `LIVE`, or None (no pointer, or it names no complete version)."""
    try:
        version = (name_dir / LIVE_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not version or "/" in version or version.startswith(".") or not (name_dir / version / "manifest.json").exists():
        return None
    return version


def serving_order(name_dir: Path) -> list[Path]:
    """Versions in the order the registry tries them: the live one, then the others newest first."""
    versions = version_dirs(name_dir)
    live = live_pointer(name_dir)
    if live is None:
        return versions
    return sorted(versions, key=lambda v: v.name != live)  # stable: the rest keep newest-first


def live_version(root: Path, name: str) -> Path | None:
    order = serving_order(Path(root) / name)
    return order[0] if order else None


def list_versions(root: Path, name: str) -> list[VersionInfo]:
    name_dir = Path(root) / name
    live = live_version(root, name)
    out = []
    for v in version_dirs(name_dir):
        m = _manifest(v) or {}
        out.append(
            VersionInfo(
                name,
                v.name,
                v,
                v == live,
                str(m.get("kind") or "unknown"),
                m.get("created_at"),
                m.get("training_window"),
                dict(m["metrics"]) if isinstance(m.get("metrics"), dict) else {},
            )
        )
    return out


def bundle_names(root: Path) -> list[str]:
    """Names that hold versioned bundles (`ROOT/NAME/VERSION/`)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith(".") and version_dirs(d))


def history(root: Path, name: str) -> list[dict[str, Any]]:
    """Promotions and rollbacks, oldest first (unreadable lines are skipped)."""
    return _records(Path(root) / name / HISTORY_FILE)


def retrain_runs(root: Path, name: str, limit: int = 20) -> list[dict[str, Any]]:
    """The last `limit` retraining runs (`retrain.jsonl`, written by `slotwise retrain`), newest first."""
    return _records(Path(root) / name / "retrain.jsonl")[::-1][:limit]


def _records(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file, in order; a missing file or a bad line counts as none."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [value for _, value in json_lines(lines) if isinstance(value, dict)]


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _record(name_dir: Path, entry: dict[str, Any]) -> None:
    with open(name_dir / HISTORY_FILE, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")


def promote(root: Path, name: str, version: str, reason: str, action: str = "promote") -> dict[str, Any]:
    """Make `version` the live one; returns the history entry written."""
    name_dir = Path(root) / name
    if not (name_dir / version / "manifest.json").exists():
        raise VersionError(f"model {name!r} has no version {version!r} (versions: {_names(name_dir)})")
    current = live_version(root, name)
    entry = {
        "action": action,
        "version": version,
        "previous": current.name if current else None,
        "reason": reason,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _write_atomic(name_dir / LIVE_FILE, version + "\n")
    _record(name_dir, entry)
    return entry


def _live_stack(root: Path, name: str) -> list[str]:
    """Versions made live, oldest at the bottom: a promotion pushes, a rollback pops."""
    stack: list[str] = []
    for entry in history(root, name):
        if entry.get("action") == "rollback":
            if len(stack) > 1:
                stack.pop()
            continue
        if not stack and entry.get("previous"):
            stack.append(str(entry["previous"]))
        stack.append(str(entry.get("version")))
    return stack


def rollback_target(root: Path, name: str) -> str | None:
    """The version a rollback would serve: the one live before the current, else the next older."""
    name_dir = Path(root) / name
    current = live_version(root, name)
    if current is None:
        return None
    present = {v.name for v in version_dirs(name_dir)}
    stack = _live_stack(root, name)
    if stack and stack[-1] == current.name:
        for version in reversed(stack[:-1]):
            if version in present and version != current.name:
                return version
    older = [v.name for v in version_dirs(name_dir) if v.name < current.name]
    return older[0] if older else None


def rollback(root: Path, name: str, reason: str = "rollback asked") -> dict[str, Any]:
    """Serve the version that was live before the current one (else the next older version)."""
    if live_version(root, name) is None:
        raise VersionError(f"model {name!r} has no versions under {root}")
    target = rollback_target(root, name)
    if target is None:
        raise VersionError(f"model {name!r}: nothing to roll back to from {live_version(root, name).name}")  # type: ignore[union-attr]
    return promote(root, name, target, reason, "rollback")


def staging_dir(root: Path, name: str, version: str) -> Path:
    """Where a candidate is written before it is installed (hidden from the registry)."""
    path = Path(root) / name / STAGING_DIR / version
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def install(root: Path, name: str, staged: Path, version: str) -> Path:
    """Move a staged bundle to `ROOT/NAME/VERSION/` (one rename on the same file system)."""
    target = Path(root) / name / version
    if target.exists():
        raise VersionError(f"model {name!r} already has a version {version!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, target)
    return target


def discard(staged: Path) -> None:
    shutil.rmtree(staged, ignore_errors=True)


def prune(root: Path, name: str, keep: int) -> list[str]:
    """Remove all but the newest `keep` versions, never the live one nor its rollback target."""
    if keep < 1:
        raise VersionError("keep must be at least 1")
    name_dir = Path(root) / name
    live = live_version(root, name)
    protect = {live.name} if live else set()
    target = rollback_target(root, name)
    if target is not None:
        protect.add(target)
    removed = []
    for v in version_dirs(name_dir)[keep:]:
        if v.name not in protect:
            shutil.rmtree(v, ignore_errors=True)
            removed.append(v.name)
    return removed


def _names(name_dir: Path) -> str:
    return ", ".join(v.name for v in version_dirs(name_dir)) or "none"
