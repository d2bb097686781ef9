# SPDX-License-Identifier: Apache-2.0
"""One real WordPress site and gateway for every test module in this folder.

scripts/wordpress-env.sh installs the site and creates a page with three slot blocks and pages
with the shortcode; the WordPress posts are synced into the gateway's catalog through the
connector before the gateway starts, so recommendations can name real posts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import need
from tests.wordpress import wpenv
from tests.wordpress.wpsite import GW_PORT, WP_PORT, Site, configure


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    need(not wpenv.available(), f"a real WordPress ({', '.join(wpenv.available())})")
    tmp = tmp_path_factory.mktemp("wordpress")
    ids = wpenv.setup()
    configure(GW_PORT, "server")
    log_start = wpenv.log_size()
    wp = wpenv.start_wordpress(WP_PORT, tmp / "php.log")
    gw = None
    try:
        sync = wpenv.sync_catalog(WP_PORT, tmp / "items.jsonl", full=True)
        assert sync.returncode == 0, sync.stderr
        assert "item(s) fetched" in sync.stdout
        gw = wpenv.start_gateway(wpenv.gateway_config(tmp, WP_PORT), GW_PORT, tmp / "gateway.log")
        yield Site(ids, tmp, log_start)
    finally:
        if gw is not None:
            wpenv.stop(gw)
        wpenv.stop(wp)
