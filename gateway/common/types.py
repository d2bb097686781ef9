# SPDX-License-Identifier: Apache-2.0
"""Type aliases shared across the gateway."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]
Item = dict[str, Any]
"""A catalog item in the items-file shape: item_id, title, url, image, price, categories, tags, text."""
Block = dict[str, Any]
"""A block's validated configuration (type plus the type's own fields)."""
