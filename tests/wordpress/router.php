<?php
// SPDX-License-Identifier: Apache-2.0
/**
 * Router for `php -S ... -t /usr/share/wordpress`: Debian keeps wp-content in /var/lib/wordpress,
 * so /wp-content/ files (plugins' scripts, uploads) are served from there; everything else as usual.
 */
$slotwise_path = (string) parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH );
if ( 0 === strpos( $slotwise_path, '/wp-content/' ) && ! preg_match( '/\.php$/', $slotwise_path ) ) {
	foreach ( array( '/var/lib/wordpress', '/usr/share/wordpress' ) as $slotwise_base ) {
		$slotwise_file = realpath( $slotwise_base . $slotwise_path );
		if ( false !== $slotwise_file && is_file( $slotwise_file ) ) {
			$slotwise_types = array( 'js' => 'application/javascript', 'css' => 'text/css', 'svg' => 'image/svg+xml', 'png' => 'image/png', 'jpg' => 'image/jpeg', 'woff2' => 'font/woff2', 'json' => 'application/json' );
			$slotwise_ext   = strtolower( pathinfo( $slotwise_file, PATHINFO_EXTENSION ) );
			header( 'Content-Type: ' . ( $slotwise_types[ $slotwise_ext ] ?? 'application/octet-stream' ) );
			readfile( $slotwise_file );
			return true;
		}
	}
}
return false;
