<?php
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Front-end render of the "Personalized slot" block.
 *
 * @package Slotwise
 *
 * @var array<string, mixed> $attributes Block attributes.
 */

defined( 'ABSPATH' ) || exit;

$slotwise_slot     = isset( $attributes['slot'] ) ? (string) $attributes['slot'] : '';
$slotwise_fallback = isset( $attributes['fallback'] ) ? wp_kses_post( (string) $attributes['fallback'] ) : '';
$slotwise_align    = isset( $attributes['align'] ) ? 'align' . sanitize_html_class( (string) $attributes['align'] ) : '';

if ( '' === $slotwise_slot ) {
	echo $slotwise_fallback; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- wp_kses_post above.
	return;
}
// Built from escaped parts (Slotwise_Page::wrap) or a marker comment replaced the same way later.
echo Slotwise_Plugin::page()->placeholder( $slotwise_slot, $slotwise_fallback, trim( 'wp-block-slotwise-slot ' . $slotwise_align ) ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped
