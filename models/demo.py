# SPDX-License-Identifier: Apache-2.0
"""`slotwise demo` step: train every model kind on the simulated store's events.

Bundles go to `DATA/models/<kind>/<version>/`, which the gateway's registry (config
`models: {dir: models}`) loads; a later start on the same data directory keeps them unless
the events file has changed since they were trained.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from slotwise.models.bundle import new_version
from slotwise.models.data import events_to_interactions, read_events, read_items, with_categories

KINDS = ("recommender", "segments", "propensity")
KEEP_VERSIONS = 2


def _newest(kind_dir: Path) -> Path | None:
    versions = sorted((v for v in kind_dir.glob("*/manifest.json")), key=lambda p: p.parent.name)
    return versions[-1] if versions else None


def train_demo(
    data_dir: Path, events_path: Path, items_path: Path, log: bool = True, kinds: tuple[str, ...] = KINDS
) -> Path:
    """Train recommender, segments and propensity bundles (or only `kinds`); returns the models directory."""
    from slotwise.models.propensity import train_propensity
    from slotwise.models.segments import train_segments
    from slotwise.models.train_recommender import train_recommender

    root = data_dir / "models"
    newest = [_newest(root / k) for k in kinds]
    if all(newest) and all(p.stat().st_mtime >= events_path.stat().st_mtime for p in newest if p):
        return root  # trained on these events already
    t0 = time.time()
    say = (lambda m: print(f"models: {m}", flush=True)) if log else (lambda m: None)
    items = read_items(items_path)
    events = with_categories(read_events(events_path), items)
    version = new_version()
    if "recommender" in kinds:
        train_recommender(events_to_interactions(events), items, root / "recommender" / version, progress=say)
    if "segments" in kinds:
        train_segments(events, items, root / "segments" / version, range(2, 7), progress=say)
    try:
        if "propensity" in kinds:
            train_propensity(events, items, root / "propensity" / version, progress=say)
    except ValueError as exc:  # e.g. a simulated store with no purchases yet
        say(f"propensity skipped: {exc}")
    for kind in kinds:
        old = sorted((p for p in (root / kind).glob("*") if p.is_dir()), key=lambda p: p.name)[:-KEEP_VERSIONS]
        for p in old:
            shutil.rmtree(p, ignore_errors=True)
    say(f"trained in {time.time() - t0:.1f}s into {root}")
    return root


def demo_hook(data_dir: Path, config_path: Path) -> None:
    """The `hook(data_dir, config_path)` form of the demo's prepare steps."""
    events, items = data_dir / "events.jsonl", data_dir / "items.jsonl"
    if events.exists() and items.exists():
        train_demo(data_dir, events, items)
