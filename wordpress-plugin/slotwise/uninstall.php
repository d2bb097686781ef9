<?php
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Removes everything the plugin stored: its settings and cached slot list.
 *
 * @package Slotwise
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

delete_option( 'slotwise_settings' );
delete_transient( 'slotwise_slots' );
delete_option( 'widget_slotwise_widget' );
