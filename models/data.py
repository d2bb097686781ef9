# SPDX-License-Identifier: Apache-2.0
"""Training inputs: interactions CSV, items CSV / JSON lines, events JSON lines."""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from slotwise.gateway.common.eventlog import read_event_log
from slotwise.gateway.common.items import read_item_rows

log = logging.getLogger("slotwise.models")


@dataclass
class Interactions:
    """Parallel arrays, one row per interaction; ids are strings as in the items file."""

    users: np.ndarray
    items: np.ndarray
    weights: np.ndarray
    timestamps: np.ndarray | None = None
    ratings: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.users)

    def subset(self, mask: np.ndarray) -> Interactions:
        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[mask]

        return Interactions(
            self.users[mask], self.items[mask], self.weights[mask], pick(self.timestamps), pick(self.ratings)
        )


# MovieLens spellings, so its files train without conversion.
ALIASES = {"userId": "user_id", "movieId": "item_id", "itemId": "item_id", "genres": "categories"}


def _dict_reader(fh: Any) -> csv.DictReader[str]:
    reader = csv.DictReader(fh)
    if reader.fieldnames:
        reader.fieldnames = [ALIASES.get(c, c) for c in reader.fieldnames]
    return reader


def read_interactions(path: Path) -> Interactions:
    """CSV with a header: `user_id,item_id` and optional `timestamp`, `rating`, `weight`."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = _dict_reader(fh)
        cols = set(reader.fieldnames or [])
        missing = {"user_id", "item_id"} - cols
        if missing:
            raise ValueError(
                f"{path}: missing column(s) {', '.join(sorted(missing))} "
                f"(header has {', '.join(sorted(cols)) or 'nothing'})"
            )
        rows = list(reader)
    users = np.array([r["user_id"] for r in rows], dtype=object)
    items = np.array([r["item_id"] for r in rows], dtype=object)

    def column(name: str) -> np.ndarray | None:
        if name not in cols:
            return None
        try:
            return np.array([float(r[name]) for r in rows], dtype=np.float64)
        except ValueError as exc:
            raise ValueError(f"{path}: column '{name}' holds a non-number ({exc})") from None

    weights = column("weight")
    ratings = column("rating")
    return Interactions(
        users, items, weights if weights is not None else np.ones(len(rows)), column("timestamp"), ratings
    )


def read_items(path: Path) -> list[dict[str, Any]]:
    """Items under the gateway's rules (`gateway.common.items`): what the model is trained on is
    what the gateway serves. Rows that are not items are skipped with a warning."""
    found = read_item_rows(Path(path))
    if found.rejected:
        log.warning("%s", found.describe_rejected(str(path)))
    return found.items


def read_events(path: Path) -> list[dict[str, Any]]:
    """Events in the JSON-lines shape, sorted by time, `ts` as unix seconds (the gateway's reader)."""
    return read_event_log(path)


# Implicit strength of each event type when events become interactions.
EVENT_WEIGHTS = {"item_view": 1.0, "click": 1.0, "add_to_cart": 3.0, "purchase": 5.0, "conversion": 5.0}


# A visitor's latest `feedback` rating of an item: `up` is a strong positive, `down` and
# `not_interested` remove every interaction of that visitor with that item from training.
FEEDBACK_UP_WEIGHT = 3.0
NEGATIVE_RATINGS = frozenset({"down", "not_interested"})


def events_to_interactions(events: list[dict[str, Any]]) -> Interactions:
    latest: dict[tuple[str, str], tuple[float, str, str]] = {}
    for e in events:
        if e["type"] == "feedback" and e.get("item_id"):
            key = (e["visitor_id"], e["item_id"])
            seen = (float(e["ts"]), str(e.get("event_id", "")), str((e.get("properties") or {}).get("rating")))
            if key not in latest or seen[:2] > latest[key][:2]:
                latest[key] = seen
    rated = {key: rating for key, (_, _, rating) in latest.items()}
    rows = [
        (e["visitor_id"], e["item_id"], EVENT_WEIGHTS[e["type"]], e["ts"])
        for e in events
        if e.get("item_id") and e["type"] in EVENT_WEIGHTS
    ]
    rows = [r for r in rows if rated.get((r[0], r[1])) not in NEGATIVE_RATINGS]
    rows += [(v, i, FEEDBACK_UP_WEIGHT, latest[(v, i)][0]) for (v, i), rating in rated.items() if rating == "up"]
    if not rows:
        raise ValueError("no item interactions (item_view, click, add_to_cart, purchase) in events")
    u, i, w, t = zip(*rows, strict=False)
    return Interactions(
        np.array(u, dtype=object),
        np.array(i, dtype=object),
        np.array(w, dtype=np.float64),
        np.array(t, dtype=np.float64),
    )


@dataclass
class Index:
    """Dense indices for string ids, in a fixed order (items.json keeps the item order)."""

    ids: list[str]

    def __post_init__(self) -> None:
        self.pos = {v: k for k, v in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def encode(self, values: np.ndarray) -> np.ndarray:
        return np.fromiter((self.pos.get(v, -1) for v in values), dtype=np.int64, count=len(values))


def item_index(inter: Interactions, items: list[dict[str, Any]] | None = None) -> Index:
    """Catalog order first (so cold items get columns too), then any extra interacted items."""
    ids = [it["item_id"] for it in items or []]
    seen = set(ids)
    for v in dict.fromkeys(inter.items.tolist()):
        if v not in seen:
            ids.append(v)
            seen.add(v)
    return Index(ids)


def user_item_matrix(inter: Interactions, users: Index, items: Index, binary: bool = True) -> sp.csr_matrix:
    """Users × items, duplicates summed (or 1 where any interaction exists, if binary)."""
    u, i = users.encode(inter.users), items.encode(inter.items)
    keep = (u >= 0) & (i >= 0)
    m = sp.csr_matrix((inter.weights[keep], (u[keep], i[keep])), shape=(len(users), len(items)), dtype=np.float64)
    m.sum_duplicates()
    if binary:
        m.data[:] = 1.0
    return m


def iter_lines(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8") as fh:
        yield from fh


def with_categories(events: list[dict[str, Any]], items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Events whose item has catalog categories/tags get them as properties where they lack
    them (the gateway's client sends them with item events; offline files may not)."""
    if not items:
        return events
    meta = {it["item_id"]: it for it in items}
    out = []
    for ev in events:
        item = meta.get(str(ev.get("item_id"))) if ev.get("item_id") else None
        props = ev.get("properties") or {}
        if item and not props.get("categories") and (item.get("categories") or item.get("tags")):
            props = {**props, "categories": item.get("categories", []), "tags": item.get("tags", [])}
            ev = {**ev, "properties": props}
        out.append(ev)
    return out


def interactions_to_events(inter: Interactions) -> list[dict[str, Any]]:
    """Each interaction as an `item_view` event (for segmenting rating or click logs)."""
    if inter.timestamps is None:
        raise ValueError("segments from interactions need a 'timestamp' column")
    return [
        {"event_id": f"i{n}", "visitor_id": str(u), "type": "item_view", "item_id": str(i), "ts": float(t)}
        for n, (u, i, t) in enumerate(zip(inter.users, inter.items, inter.timestamps, strict=False))
    ]
