# SPDX-License-Identifier: Apache-2.0
"""The `<esi:include>` markup for a slot, as CMS plugins emit it for a Varnish in front.

`src` is the gateway's fragment route; `fallback` carries the block's fallback HTML,
percent-encoded, which the shipped VCL (`deploy/varnish/slotwise.vcl`) decodes and serves when
the fragment fails. The visitor id and consent are added by the VCL from the visitor's cookies,
so the shell stays the same for everyone and can be cached.
"""

from __future__ import annotations

import html
from urllib.parse import quote, urlencode

FRAGMENT_PATH = "/v1/slots/{slot}/fragment"
MAX_FALLBACK = 2048  # bytes of encoded fallback kept in the URL (Varnish's default limits are 8 KiB)


def esi_include(slot: str, site: str, key: str, fallback: str = "") -> str:
    """`<div data-slotwise-rendered=SLOT><esi:include src="..."/></div>`; the wrapper is the
    same element the other delivery modes print, so themes style one thing."""
    query = {"site": site, "key": key}
    encoded = quote(fallback, safe="")
    if fallback and len(encoded) <= MAX_FALLBACK:
        query["fallback"] = fallback
    src = FRAGMENT_PATH.format(slot=quote(slot, safe="")) + "?" + urlencode(query, quote_via=quote)
    # Varnish reads src literally (no entity decoding), so "&" stays raw; quote() leaves no '"'.
    return (
        f'<div class="slotwise-slot" data-slotwise-rendered="{html.escape(slot, quote=True)}">'
        f'<esi:include src="{src}" onerror="continue"/></div>'
    )
