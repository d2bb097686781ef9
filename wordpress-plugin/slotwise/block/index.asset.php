<?php
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Dependencies of index.js (no build step: it uses the wp.* globals).
 *
 * @package Slotwise
 */

return array(
	'dependencies' => array( 'wp-blocks', 'wp-element', 'wp-block-editor', 'wp-components', 'wp-i18n', 'wp-api-fetch', 'wp-data' ),
	'version'      => '0.2.0',
);
