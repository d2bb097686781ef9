# SPDX-License-Identifier: Apache-2.0
"""The demo shop's catalog: ten fashion categories, seeded, with titles, tags, text and prices.

One generator for the demo, the tests and the benchmarks; item ids are `<category>-<nnn>`.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

__all__ = ["CATEGORIES", "build_catalog", "write_items"]

_CATEGORIES = {
    "dresses": ("Dress", (39, 189)),
    "shoes": ("Sneaker", (49, 229)),
    "boots": ("Boot", (79, 299)),
    "jackets": ("Jacket", (69, 349)),
    "shirts": ("Shirt", (19, 89)),
    "jeans": ("Jeans", (39, 149)),
    "knitwear": ("Sweater", (35, 159)),
    "bags": ("Bag", (29, 259)),
    "accessories": ("Scarf", (9, 79)),
    "sportswear": ("Running Top", (19, 119)),
}
_COLOURS = {
    "black": "#222",
    "navy": "#1f3a68",
    "sand": "#d8c3a5",
    "red": "#b3262e",
    "olive": "#6b7a3a",
    "white": "#f4f4f0",
    "grey": "#8a8d91",
    "camel": "#b5835a",
    "green": "#2f7d5b",
    "pink": "#e59ab0",
}
_ADJECTIVES = (
    "Classic",
    "Relaxed",
    "Slim",
    "Organic",
    "Vintage",
    "Urban",
    "Essential",
    "Lightweight",
    "Cosy",
    "Tailored",
    "Weekend",
    "Studio",
)
_MATERIALS = ("cotton", "wool", "linen", "leather", "denim", "recycled polyester", "cashmere", "suede")
_STYLES = ("casual", "formal", "sporty", "outdoor", "minimal", "boho")


def image_svg(name: str) -> str | None:
    """The picture at /demo/img/{name}.svg ("<colour>-<noun>"), or None for an unknown name."""
    colour, _, noun = name.partition("-")
    label = {n.lower().replace(" ", "_"): n for n, _ in _CATEGORIES.values()}.get(noun)
    if colour not in _COLOURS or label is None:
        return None
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='160' height='160' viewBox='0 0 160 160'>"
        f"<rect width='160' height='160' fill='{_COLOURS[colour]}'/>"
        f"<circle cx='80' cy='70' r='38' fill='rgba(255,255,255,0.35)'/>"
        f"<text x='80' y='138' font-family='sans-serif' font-size='15' text-anchor='middle' "
        f"fill='#111'>{label}</text></svg>"
    )


def _image_url(colour: str, noun: str) -> str:
    """A demo item's picture: a real URL the demo serves (`image_svg`), not a data: URI, which
    CMS filters strip into broken images and 404s."""
    return f"/demo/img/{colour}-{noun.lower().replace(' ', '_')}.svg"


def build_catalog(n_per_category: int = 32, seed: int = 7) -> list[dict[str, Any]]:
    """`n_per_category` items in each of the ten categories (320 by default, the demo shop)."""
    rng = random.Random(seed)
    items = []
    for cat, (noun, (low, high)) in _CATEGORIES.items():
        for k in range(n_per_category):
            colour = rng.choice(list(_COLOURS))
            adjective = rng.choice(_ADJECTIVES)
            material = rng.choice(_MATERIALS)
            style = rng.choice(_STYLES)
            season = rng.choice(("spring", "summer", "autumn", "winter"))
            item_id = f"{cat}-{k:03d}"
            title = f"{adjective} {colour.title()} {noun}"
            items.append(
                {
                    "item_id": item_id,
                    "title": title,
                    "url": f"/demo?item={item_id}",
                    "image": _image_url(colour, noun),
                    "price": round(rng.uniform(low, high), 2) - 0.01,
                    "currency": "EUR",
                    "categories": [cat],
                    "tags": [colour, material, style, season],
                    "text": f"{adjective} {noun.lower()} in {colour} {material}, a {style} piece for {season}.",
                    "popularity": round(1000 / (1 + rng.random() * 60), 2),
                }
            )
    return items


CATEGORIES = tuple(_CATEGORIES)


def write_items(items: list[dict[str, Any]], path: Path) -> Path:
    """Items as JSON lines (the gateway's `catalog.path` format and the trainers' `--items`)."""
    path.write_text("".join(json.dumps(it) + "\n" for it in items), encoding="utf-8")
    return path
