# SPDX-License-Identifier: Apache-2.0
"""Plain text from CMS markup: the one helper every connector uses for titles, terms and excerpts,
and the text of a catalog item."""

from __future__ import annotations

import html
import re
from typing import Any

TAG_RE = re.compile(r"<[^>]+>")
SPACE_RE = re.compile(r"\s+")
# Where CMS APIs put the text of a rich field: WordPress `{"rendered"}`, Drupal text fields
# `{"value", "processed", "summary"}` (the summary is the teaser, so it comes first).
TEXT_KEYS = ("rendered", "summary", "processed", "value")
# An item's text feeds the content model's TF-IDF: its first 2,000 characters are enough for that,
# and a catalog of long articles stays small.
ITEM_TEXT_LIMIT = 2000


def plain_text(value: Any) -> str:
    """Tags dropped, entities decoded, white space collapsed; '' for anything without text."""
    if isinstance(value, dict):
        value = next((value[k] for k in TEXT_KEYS if isinstance(value.get(k), str) and value[k]), "")
    if not isinstance(value, str):
        return ""
    return SPACE_RE.sub(" ", html.unescape(TAG_RE.sub(" ", value))).strip()


def item_text(*values: Any) -> str:
    """A catalog item's text: the first of `values` (an excerpt, then the body) with plain text,
    cut at `ITEM_TEXT_LIMIT` characters."""
    return next((text for text in map(plain_text, values) if text), "")[:ITEM_TEXT_LIMIT]
