<?php
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The personalization level widget: `[slotwise_personalization title="..."]`.
 *
 * Prints the placeholder that the gateway's client.js turns into the visitor's choice of
 * full, basic or off personalization (saved through the gateway's consent route with the
 * publishable key; no secret ever reaches the page), and makes sure client.js is on the page.
 * Labels are translatable here and passed as data attributes.
 *
 * @package Slotwise
 */

defined( 'ABSPATH' ) || exit;

/**
 * Shortcode (also usable from the Shortcode block) for the personalization level widget.
 */
final class Slotwise_Personalization {

	/**
	 * Registers the shortcode.
	 */
	public static function register(): void {
		add_shortcode( 'slotwise_personalization', array( self::class, 'shortcode' ) );
	}

	/**
	 * The widget's placeholder; without JavaScript a short note stays.
	 *
	 * @param array<string, string>|string $atts Shortcode attributes (`title`).
	 */
	public static function shortcode( $atts ): string {
		$atts  = shortcode_atts(
			array( 'title' => __( 'Personalization', 'slotwise' ) ),
			is_array( $atts ) ? $atts : array(),
			'slotwise_personalization'
		);
		$attrs = array(
			'data-slotwise-widget' => 'personalization',
			'data-title'           => (string) $atts['title'],
			'data-label-full'      => __( 'Full', 'slotwise' ),
			'data-help-full'       => __( 'recommendations from what you browse here', 'slotwise' ),
			'data-label-basic'     => __( 'Basic', 'slotwise' ),
			'data-help-basic'      => __( 'only this page and the time of day, nothing remembered', 'slotwise' ),
			'data-label-off'       => __( 'Off', 'slotwise' ),
			'data-help-off'        => __( 'no personalization, no identifier', 'slotwise' ),
			'data-gpc'             => __( 'Your browser sends Global Privacy Control: nothing is profiled, whatever you choose.', 'slotwise' ),
		);
		$html  = '<div class="slotwise-personalization"';
		foreach ( $attrs as $name => $value ) {
			$html .= sprintf( ' %s="%s"', $name, esc_attr( $value ) );
		}
		$html .= '><noscript>' . esc_html__( 'Choosing your personalization level needs JavaScript.', 'slotwise' ) . '</noscript></div>';
		self::enqueue_client();
		return $html;
	}

	/**
	 * The gateway's client.js (the plugin's own handle, so it is printed once, with its data attributes).
	 */
	private static function enqueue_client(): void {
		if ( ! Slotwise_Options::configured() ) {
			return;
		}
		$src = untrailingslashit( (string) Slotwise_Options::get( 'gateway_url' ) ) . '/v1/client.js';
		wp_enqueue_script( 'slotwise-client', $src, array(), null, true );
	}
}
