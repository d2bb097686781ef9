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

require_once SLOTWISE_DIR . 'includes/class-slotwise-options.php';
require_once SLOTWISE_DIR . 'includes/class-slotwise-gateway.php';
require_once SLOTWISE_DIR . 'includes/class-slotwise-context.php';
require_once SLOTWISE_DIR . 'includes/class-slotwise-visitor.php';
require_once SLOTWISE_DIR . 'includes/class-slotwise-page.php';
require_once SLOTWISE_DIR . 'includes/class-slotwise-events.php';
require_once SLOTWISE_DIR . 'includes/class-slotwise-widget.php';
require_once SLOTWISE_DIR . 'includes/class-slotwise-plugin.php';
require_once SLOTWISE_DIR . 'includes/class-slotwise-personalization.php';

if ( is_admin() ) {
	require_once SLOTWISE_DIR . 'includes/class-slotwise-admin.php';
	Slotwise_Admin::init();
}
require_once SLOTWISE_DIR . 'includes/class-slotwise-rest.php';
Slotwise_Rest::init();

Slotwise_Plugin::init();
