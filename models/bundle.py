# SPDX-License-Identifier: Apache-2.0
"""Model bundles: ONNX files + id maps + manifest.json holding the sha256 of every file.

The manifest is written last (through a temporary name and a rename), so a reader that finds
`manifest.json` finds every file it lists complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import onnx

FORMAT = "slotwise-bundle/1"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def new_version() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{os.getpid() % 10000:04d}"


def write_bundle(
    out: Path,
    kind: str,
    models: dict[str, tuple[onnx.ModelProto | None, dict[str, Any]]],
    default: str,
    files: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write `models` (name → (graph, manifest entry without 'file'), or (None, entry naming
    another model's 'file')) and the JSON or raw `files` to `out`."""
    if default not in models:
        raise ValueError(f"default model {default!r} is not one of {sorted(models)}")
    out.mkdir(parents=True, exist_ok=True)
    entries: dict[str, Any] = {}
    for name, (model, entry) in models.items():
        if model is None:  # an alias of another model's file (same graph, another role)
            entries[name] = dict(entry)
            continue
        fname = f"{name}.onnx"
        (out / fname).write_bytes(model.SerializeToString())
        entries[name] = {"file": fname, **entry}
    for fname, data in (files or {}).items():
        path = out / fname
        if isinstance(data, (bytes, str)):
            path.write_bytes(data if isinstance(data, bytes) else data.encode())
        else:
            path.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
    listed = sorted({e["file"] for e in entries.values()} | set(files or {}))
    manifest = {
        "format": FORMAT,
        "kind": kind,
        "version": new_version(),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "models": entries,
        "default": default,
        **(meta or {}),
        "sha256": {f: sha256_file(out / f) for f in listed},
    }
    tmp = out / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, default=_jsonable), encoding="utf-8")
    os.replace(tmp, out / "manifest.json")
    return out / "manifest.json"


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON-serializable: {type(value).__name__}")
