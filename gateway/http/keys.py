# SPDX-License-Identifier: Apache-2.0
"""Constant-time comparison of keys and tokens that came from a request."""

from __future__ import annotations

import hmac


def same_secret(given: str, expected: str) -> bool:
    """`hmac.compare_digest` on str accepts only ASCII, and str.encode refuses lone surrogates:
    either would turn a hostile key into a 500. Bytes with surrogatepass compare anything."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))
