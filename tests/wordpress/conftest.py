# SPDX-License-Identifier: Apache-2.0
"""One real WordPress site and gateway for every test module in this folder.

scripts/wordpress-env.sh installs the site and creates a page with three slot blocks and pages
with the shortcode; the WordPress posts are synced into the gateway's catalog through the
connector before the gateway starts, so recommendations can name real posts.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import need
from tests.wordpress import wpenv
from tests.wordpress.wpsite import GW_PORT, WP, WP_PORT, Site, configure


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
        sync = subprocess.run(
            [
                sys.executable,
                "-m",
                "slotwise.connectors.cli",
                "sync",
                "--connector",
                "wordpress",
                "--url",
                WP,
                "--out",
                str(tmp / "items.jsonl"),
                "--full",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=wpenv.ROOT,
        )
        assert sync.returncode == 0, sync.stderr
        assert "item(s) fetched" in sync.stdout
        gw = wpenv.start_gateway(wpenv.gateway_config(tmp, WP_PORT), GW_PORT, tmp / "gateway.log")
        yield Site(ids, tmp, log_start)
    finally:
        if gw is not None:
            wpenv.stop(gw)
        wpenv.stop(wp)
