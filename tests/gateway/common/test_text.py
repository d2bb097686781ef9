# SPDX-License-Identifier: Apache-2.0
"""The one plain-text helper the connectors share, and the text of a catalog item."""

from __future__ import annotations

import pytest

from slotwise.gateway.common.text import ITEM_TEXT_LIMIT, item_text, plain_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("<p>Tea &amp; <b>cakes</b></p>\n\n  today", "Tea & cakes today"),
        ({"rendered": "<b>a</b>\n\n b", "protected": False}, "a b"),  # WordPress
        ({"value": "<p>full body</p>", "summary": "", "processed": "<p>Full</p>"}, "Full"),  # Drupal
        ({"value": "<p>x</p>", "summary": "teaser"}, "teaser"),
        ({"other": "x"}, ""),
        (None, ""),
        (42, ""),
        ("a<br/>b", "a b"),
    ],
)
def test_plain_text(value: object, text: str) -> None:
    assert plain_text(value) == text


def test_an_items_text_is_the_first_value_with_text_cut_at_the_limit() -> None:
    assert item_text("<p>teaser</p>", "<p>body</p>") == "teaser"
    assert item_text("<p> </p>", None, {"rendered": "<b>body</b>"}) == "body"  # markup only: the next one
    assert item_text(None, 7) == ""
    long = item_text("word " * 1000)
    assert len(long) == ITEM_TEXT_LIMIT and long.startswith("word word")
