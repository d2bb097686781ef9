# SPDX-License-Identifier: Apache-2.0
"""The render response's blocks, written member by member (`encode_block`'s fast path), are the
same text the JSON encoder writes for the whole block: the page cache rebuilds responses byte for
byte from these pieces, and clients parse them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from slotwise.gateway.blocks.page import HTML_JSON, encode_block, encode_page

SEGMENTS = ["mobile", "ünï", 'quo"te']


def by_encoder(name: str, block: dict[str, Any]) -> str:
    """What the encoder writes for the block as one dict (the text before the fast path)."""
    plain = {k: v for k, v in block.items() if k != HTML_JSON}
    rest = json.dumps({k: v for k, v in plain.items() if k != "html"}, ensure_ascii=False)
    return f'{json.dumps(name)}:{{"html":{json.dumps(plain["html"], ensure_ascii=False)},{rest[1:]}'


BLOCKS = [
    {"html": '<p>ü \ud800 " \\ </p>', "variant": "v:ä", "segments": SEGMENTS, "experiment": None, "ttl": 300},
    {
        "html": "x",
        "variant": "offer:b",
        "segments": [],
        "experiment": {"key": "k", "arm": "ä", "propensity": 1 / 3, "holdout": False},
        "ttl": 0,
    },
    {"html": "x", "variant": "v", "segments": SEGMENTS, "experiment": None, "ttl": 5, "fallback": "error"},
    {"html": "x", "variant": "v", "segments": SEGMENTS, "experiment": None, "ttl": True},  # not an int
    {"variant": "v", "html": "x", "segments": SEGMENTS, "experiment": None, "ttl": 5},  # another order
    {"html": None, "variant": "v", "segments": SEGMENTS, "experiment": None, "ttl": 5},
]


@pytest.mark.parametrize("block", BLOCKS)
def test_a_block_reads_as_the_encoder_writes_it(block: dict[str, Any]) -> None:
    assert encode_block("slöt", dict(block)) == by_encoder("slöt", block)
    assert encode_block("slöt", dict(block), {}) == by_encoder("slöt", block)


def test_the_page_encodes_its_shared_segment_list_once_and_the_same() -> None:
    blocks = {f"s{i}": {**BLOCKS[0], "html": f"<b>{i}</b>"} for i in range(3)}
    for block in blocks.values():
        block["segments"] = SEGMENTS  # one list, as render_page passes to every slot
    expected = json.dumps({"visitor_id": "v1", "blocks": blocks}, ensure_ascii=False)
    sent = encode_page({"visitor_id": "v1"}, {k: dict(v) for k, v in blocks.items()})
    assert json.loads(sent) == json.loads(expected.encode("utf-8", "replace"))
    assert sent.count('"segments": ["mobile", "ünï", "quo\\"te"]'.encode()) == 3


def test_pre_encoded_html_is_used_and_dropped() -> None:
    block = {**BLOCKS[0], HTML_JSON: '"cached"'}
    out = encode_block("s", block)
    assert out.startswith('"s":{"html":"cached",') and HTML_JSON not in block
