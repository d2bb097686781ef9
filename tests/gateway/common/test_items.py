# SPDX-License-Identifier: Apache-2.0
"""One item schema: the gateway's catalog, the models and the connectors agree on every bad row."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from slotwise.connectors import catalogfile
from slotwise.connectors.base import normalize
from slotwise.gateway.common.items import BadItem, parse_item, read_item_rows
from slotwise.gateway.recommend.catalog import Catalog
from slotwise.models.data import read_items

JSONL_ROWS = [
    '{"item_id": "a", "title": " Alpha ", "categories": "shoes|sale", "price": "9.5"}',
    "not json",
    "[1, 2]",
    '{"item_id": "", "title": "no id"}',
    '{"item_id": true, "title": "bool id"}',
    '{"item_id": 7, "title": "   "}',
    '{"item_id": 7, "title": "Seven", "tags": ["x", null, "", 3], "price": "free"}',
    "",
    '{"item_id": "a", "title": "Alpha again", "price": NaN}',
    '{"movieId": 12, "title": "Heat", "genres": "Action|(no genres listed)"}',
]
REJECTED = [
    (2, "not JSON"),
    (3, "not an object"),
    (4, "'item_id' must be non-empty text or a whole number"),
    (5, "'item_id' must be non-empty text or a whole number"),
    (6, "'title' must be non-empty text"),
]


@pytest.fixture
def items_file(tmp_path: Path) -> Path:
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(JSONL_ROWS) + "\n", encoding="utf-8")
    return path


def test_rules_for_good_and_bad_rows(items_file: Path) -> None:
    found = read_item_rows(items_file)
    assert found.rejected == REJECTED
    assert list(found.by_id) == ["a", "7", "12"]  # a later "a" replaces the first in its place
    a, seven, heat = found.items
    assert (a["title"], a["price"], a["categories"]) == ("Alpha again", None, [])
    assert (seven["title"], seven["tags"], seven["price"]) == ("Seven", ["x", "3"], None)
    assert (heat["item_id"], heat["categories"]) == ("12", ["Action"]) and "movieId" not in heat


def test_gateway_models_and_connectors_see_the_same_items(items_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    expected = read_item_rows(items_file).items
    with caplog.at_level(logging.WARNING):
        catalog = Catalog.load(items_file)
        trained = read_items(items_file)
    assert [catalog.get(i["item_id"]) for i in expected] == expected == trained
    assert len(catalog) == 3
    # Both say which rows they skipped and why.
    assert (
        sum("skipped 5 row(s)" in r.getMessage() and "line 2: not JSON" in r.getMessage() for r in caplog.records) == 2
    )
    by_id, bad = catalogfile.read_catalog(items_file)
    assert list(by_id.values()) == expected and bad == [n for n, _ in REJECTED]


def test_csv_rows_follow_the_same_rules(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text(
        '\ufeffitem_id,title,categories,price\n1,One,a|b,3\n,No id,a,1\n2,,a,1\n3,Three,"x, y",n/a\n',
        encoding="utf-8",
    )
    found = read_item_rows(path)
    assert found.rejected == [
        (3, "'item_id' must be non-empty text or a whole number"),
        (4, "'title' must be non-empty text"),
    ]
    assert [(i["item_id"], i["categories"], i["price"]) for i in found.items] == [
        ("1", ["a", "b"], 3.0),
        ("3", ["x", "y"], None),
    ]
    assert [i["item_id"] for i in Catalog.load(path).by_id.values()] == ["1", "3"]


def test_a_connector_item_is_what_the_reader_reads_back(tmp_path: Path) -> None:
    raw = {"item_id": 5, "title": " T ", "tags": "a,b", "price": 2, "extra": {"k": 1}}
    synced = normalize(raw)
    assert synced is not None and synced["url"] is None and synced["tags"] == ["a", "b"]
    path = tmp_path / "items.jsonl"
    catalogfile.merge(path, [synced], source="test")
    assert read_item_rows(path).items == [{**synced, "source": "test"}]
    assert normalize({"item_id": 5, "title": ""}) is None


@pytest.mark.parametrize("raw", [None, "text", {"title": "x"}, {"item_id": 1.5, "title": "x"}, {"item_id": "1"}])
def test_parse_item_refuses_non_items(raw: object) -> None:
    with pytest.raises(BadItem):
        parse_item(raw)


def test_extra_fields_are_kept() -> None:
    item = parse_item({"item_id": "x", "title": "X", "popularity": 3, "stock": {"n": 1}})
    assert item["popularity"] == 3 and item["stock"] == {"n": 1} and json.dumps(item)
