# SPDX-License-Identifier: Apache-2.0
"""Merge synced items into the catalog JSON-lines file, by item_id, atomically.

The gateway may be reading the file while a sync runs, so the new version is written to a
temporary file in the same directory and moved over the old one with `os.replace` (readers see
the old or the new file, never half of one). Items remember their `source` (connector and URL):
a full sync removes that source's items it no longer saw, and leaves other sources alone.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slotwise.connectors.base import Cursor, Item
from slotwise.gateway.common.items import collect_items, normalize_item
from slotwise.gateway.common.jsoncodec import json_lines


@dataclass
class MergeResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    total: int = 0
    bad_lines: list[int] = field(default_factory=list)


def read_catalog(path: Path) -> tuple[dict[str, Item], list[int]]:
    """Items by id in file order, and the numbers of lines that are not items under the
    gateway's rules (`gateway.common.items`); a merge leaves those out of the new file."""
    if not path.exists():
        return {}, []
    with path.open(encoding="utf-8") as fh:
        found = collect_items(json_lines(fh))
    return found.by_id, [n for n, _ in found.rejected]


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def merge(path: Path, synced: Iterable[Item], *, source: str, full: bool = False) -> MergeResult:
    """Merge `synced` (all tagged with `source`) into the file at `path`."""
    existing, bad = read_catalog(path)
    result = MergeResult(bad_lines=bad)
    seen: set[str] = set()
    for raw in synced:
        item = normalize_item({**raw, "source": source})  # the same rules as the lines read back
        if item is None:
            continue
        iid = item["item_id"]
        seen.add(iid)
        old = existing.get(iid)
        if old is None:
            result.added += 1
        elif old == item:
            result.unchanged += 1
        else:
            result.updated += 1
        existing[iid] = item
    if full:
        for iid in [i for i, it in existing.items() if it.get("source") == source and i not in seen]:
            del existing[iid]
            result.removed += 1
    result.total = len(existing)
    write_atomic(path, "".join(json.dumps(it, ensure_ascii=False, sort_keys=True) + "\n" for it in existing.values()))
    return result


def cursor_path(catalog: Path) -> Path:
    return catalog.with_name(catalog.name + ".cursors.json")


def load_cursor(catalog: Path, source: str) -> Cursor:
    path = cursor_path(catalog)
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return Cursor()
    return Cursor.from_dict(data.get(source) if isinstance(data, dict) else None)


def save_cursor(catalog: Path, source: str, cursor: Cursor) -> None:
    path = cursor_path(catalog)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data = data if isinstance(data, dict) else {}
    except (OSError, json.JSONDecodeError):
        data = {}
    data[source] = cursor.to_dict()
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
