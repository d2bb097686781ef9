<?php
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Plugin Name:       Slotwise
 * Plugin URI:        https://github.com/slotwise/slotwise
 * Description:       Personalized slots from a Slotwise gateway: a block, a shortcode and a widget, rendered on the server within a time budget or in the browser behind page caches.
 * Version:           0.1.0
 * Requires at least: 6.1
 * Requires PHP:      8.1
 * Author:            Slotwise
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       slotwise
 * Domain Path:       /languages
 *
 * @package Slotwise
 */

defined( 'ABSPATH' ) || exit;

define( 'SLOTWISE_VERSION', '0.1.0' );
define( 'SLOTWISE_FILE', __FILE__ );
define( 'SLOTWISE_DIR', __DIR__ . '/' );

// Classes load when first used (Slotwise_Foo_Bar: includes/class-slotwise-foo-bar.php): a page
// parses only what it runs; the editor, REST and authoring code stay out of visitors' pages.
spl_autoload_register(
	static function ( string $class ): void {
		if ( 0 === strpos( $class, 'Slotwise_' ) && preg_match( '/^Slotwise_[A-Za-z_]+$/', $class ) ) {
			$file = SLOTWISE_DIR . 'includes/class-' . str_replace( '_', '-', strtolower( $class ) ) . '.php';
			if ( is_readable( $file ) ) {
				require_once $file;
			}
		}
	}
);

if ( is_admin() ) {
	Slotwise_Admin::init();
}
add_action( 'rest_api_init', array( 'Slotwise_Rest', 'routes' ) );
Slotwise_Plugin::init();
add_action( 'init', array( 'Slotwise_Personalization', 'register' ) ); // [slotwise_personalization]

// Authored variants (Slotwise_Authoring): hooks named here, so the class loads only when one fires.
add_action( 'rest_api_init', array( 'Slotwise_Authoring', 'register_meta' ), 5 );
add_action( 'rest_api_init', array( 'Slotwise_Authoring', 'routes' ) );
add_action( 'wp_after_insert_post', array( 'Slotwise_Authoring', 'on_save' ), 10, 2 );
add_action( 'before_delete_post', array( 'Slotwise_Authoring', 'on_delete' ) );
add_action( 'load-post.php', array( 'Slotwise_Authoring', 'watch_notices' ) );
