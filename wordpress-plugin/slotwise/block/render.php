<?php
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Front-end render of the "Personalized slot" block.
 *
 * @package Slotwise
 *
 * @var array<string, mixed> $attributes Block attributes.
 * @var WP_Block             $block      The block (its variants, for authored slots).
 */

defined( 'ABSPATH' ) || exit;

$slotwise_slot     = isset( $attributes['slot'] ) ? (string) $attributes['slot'] : '';
$slotwise_fallback = isset( $attributes['fallback'] ) ? wp_kses_post( (string) $attributes['fallback'] ) : '';
$slotwise_align    = isset( $attributes['align'] ) ? 'align' . sanitize_html_class( (string) $attributes['align'] ) : '';

// Variants written in the editor: the slot the post published, its default variant as fallback.
$slotwise_inner = isset( $block ) && $block instanceof WP_Block ? $block->parsed_block['innerBlocks'] ?? array() : array();
if ( Slotwise_Authoring::is_authored( $slotwise_inner ) ) {
	$slotwise_post     = isset( $block->context['postId'] ) ? (int) $block->context['postId'] : (int) get_the_ID();
	$slotwise_slot     = Slotwise_Authoring::slot_name( $slotwise_post, $attributes );
	$slotwise_fallback = '';
	foreach ( $slotwise_inner as $slotwise_variant ) {
		if ( 'slotwise/variant' === ( $slotwise_variant['blockName'] ?? '' ) && ! empty( $slotwise_variant['attrs']['isDefault'] ) ) {
			// The post's own content, rendered as WordPress renders it anywhere else.
			$slotwise_fallback = Slotwise_Authoring::content( $slotwise_variant );
			break;
		}
	}
}

if ( '' === $slotwise_slot ) {
	echo $slotwise_fallback; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- wp_kses_post above.
	return;
}
// Built from escaped parts (Slotwise_Page::wrap) or a marker comment replaced the same way later.
echo Slotwise_Plugin::page()->placeholder( $slotwise_slot, $slotwise_fallback, trim( 'wp-block-slotwise-slot ' . $slotwise_align ) ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped
