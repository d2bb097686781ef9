# SPDX-License-Identifier: Apache-2.0
"""The one plain-text helper the connectors share."""

from __future__ import annotations

import pytest

from slotwise.gateway.common.text import plain_text


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
