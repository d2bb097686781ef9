# SPDX-License-Identifier: Apache-2.0
"""Screenshots for docs/wordpress.md, taken in headless Chromium on the test site (not a test).

    python tests/wordpress/screenshots.py     # writes docs/img/wordpress-*.png

The editor shot logs in through a must-use plugin installed for this run only, which also
selects the first "Personalized slot" block so its sidebar (slot list, fallback, preview) shows.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script: `tests` is not installed
from tests.conftest import free_port  # noqa: E402
from tests.procs import CHROMIUM_FLAGS  # noqa: E402
from tests.wordpress import wpenv  # noqa: E402

WP_PORT, GW_PORT = free_port(), free_port()
OUT = ROOT / "docs" / "img"
MU = Path("/var/lib/wordpress/wp-content/mu-plugins/slotwise-screenshot-login.php")
MU_CODE = r"""<?php
// Installed by tests/wordpress/screenshots.py for one run and removed after it.
add_action( 'init', function () {
	if ( isset( $_GET['slotwise_shot'] ) && hash_equals( '%TOKEN%', (string) $_GET['slotwise_shot'] ) ) {
		wp_set_current_user( 1 );
		wp_set_auth_cookie( 1 );
		update_user_meta( 1, $GLOBALS['wpdb']->get_blog_prefix() . 'persisted_preferences', array(
			'core/edit-post' => array( 'welcomeGuide' => false, 'isComplementaryAreaVisible' => true ),
			'_modified'      => gmdate( 'c' ),
		) );
		wp_safe_redirect( remove_query_arg( 'slotwise_shot' ) );
		exit;
	}
} );
add_action( 'admin_footer', function () {
	?>
	<script>
	setTimeout( function () {
		var blocks = wp.data.select( 'core/block-editor' ).getBlocks()
			.filter( function ( b ) { return b.name === 'slotwise/slot'; } );
		if ( blocks.length ) { wp.data.dispatch( 'core/block-editor' ).selectBlock( blocks[0].clientId ); }
		wp.data.dispatch( 'core/edit-post' ).openGeneralSidebar( 'edit-post/block' );
	}, 2500 );
	</script>
	<?php
} );
"""
FLAGS = [*CHROMIUM_FLAGS, "--hide-scrollbars"]


def shoot(url: str, name: str, size: str, profile: Path, ua: str | None = None, wait_ms: int = 4000) -> None:
    args = [
        "chromium",
        *FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size={size}",
        f"--virtual-time-budget={wait_ms}",
        f"--screenshot={OUT / (name + '.png')}",
        url,
    ]
    if ua:
        args.insert(1, f"--user-agent={ua}")
    subprocess.run(args, capture_output=True, check=True, timeout=180)
    print("wrote", OUT / (name + ".png"))


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="slotwise-shots-"))
    ids = wpenv.setup()
    wp = wpenv.start_wordpress(WP_PORT, tmp / "php.log")
    gw = None
    token = secrets.token_hex(16)
    try:
        wpenv.sync_catalog(WP_PORT, tmp / "items.jsonl").check_returncode()
        gw = wpenv.start_gateway(wpenv.gateway_config(tmp, WP_PORT), GW_PORT, tmp / "gateway.log")
        wpenv.configure(GW_PORT, "server")
        page = f"http://127.0.0.1:{WP_PORT}/?page_id={ids['slotwise-block']}"
        for _ in range(3):
            httpx.get(page, timeout=30)  # the gateway's first render warms its caches
        shoot(page, "wordpress-page-desktop", "1100,1250", tmp / "p1")
        shoot(page, "wordpress-page-mobile", "420,1250", tmp / "p2", ua=wpenv.MOBILE_UA)
        MU.parent.mkdir(exist_ok=True)
        MU.write_text(MU_CODE.replace("%TOKEN%", token), encoding="utf-8")
        editor = (
            f"http://127.0.0.1:{WP_PORT}/wp-admin/post.php?post={ids['slotwise-block']}"
            f"&action=edit&slotwise_shot={token}"
        )
        shoot(editor, "wordpress-editor", "1400,1000", tmp / "p3", wait_ms=15000)
    finally:
        MU.unlink(missing_ok=True)
        if gw is not None:
            wpenv.stop(gw)
        wpenv.stop(wp)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
