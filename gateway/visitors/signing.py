# SPDX-License-Identifier: Apache-2.0
"""Signed visitor ids: `s1.NONCE.MAC`, an HMAC under the site's rotating `visitor_secrets`.

A visitor id is a bearer credential (whoever sends it renders as that visitor). With
`visitor_secrets` the gateway issues signed ids; with `require_signed_visitor` an id that is
not signed by one of them gets context-only personalization. The format (docs/configuration.md)
is simple enough for the CMS plugins to issue the same ids:

    NONCE = 16-64 characters of A-Z a-z 0-9 _ -   (the gateway: 32 random hex digits)
    MAC   = the first 32 hex digits of HMAC-SHA256(key = secret, message = "s1|SITE|NONCE")
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence

PREFIX = "s1"
SIGNED = re.compile(r"^s1\.([A-Za-z0-9_-]{16,64})\.([0-9a-f]{32})$")


def _mac(secret: str, site: str, nonce: str) -> str:
    message = f"{PREFIX}|{site}|{nonce}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def sign_visitor(site: str, secret: str, nonce: str | None = None) -> str:
    """A signed visitor id for `site` under `secret` (a fresh random nonce unless given)."""
    nonce = nonce or secrets.token_hex(16)
    return f"{PREFIX}.{nonce}.{_mac(secret, site, nonce)}"


def verify_visitor(site: str, keys: Sequence[str], visitor_id: str) -> bool:
    """Whether `visitor_id` is signed for `site` by one of `keys` (new and old during a rotation).
    Every key is tried, so the time taken does not tell which one matched."""
    match = SIGNED.match(visitor_id)
    if match is None:
        return False
    nonce, mac = match.groups()
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(_mac(key, site, nonce), mac)
    return ok
