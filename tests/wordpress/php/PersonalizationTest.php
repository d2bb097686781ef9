<?php
// SPDX-License-Identifier: GPL-2.0-or-later
use PHPUnit\Framework\TestCase;

// The few WordPress functions the shortcode calls that the shared bootstrap does not stand in for.
if ( ! function_exists( 'shortcode_atts' ) ) {
	function shortcode_atts( $pairs, $atts, $shortcode = '' ) {
		$out = array();
		foreach ( $pairs as $name => $default ) {
			$out[ $name ] = array_key_exists( $name, (array) $atts ) ? $atts[ $name ] : $default;
		}
		return $out;
	}
}
if ( ! function_exists( 'add_shortcode' ) ) {
	function add_shortcode( $tag, $callback ) { $GLOBALS['slotwise_shortcodes'][ $tag ] = $callback; }
}
if ( ! function_exists( 'esc_html__' ) ) {
	function esc_html__( $text, $domain = 'default' ) { return htmlspecialchars( (string) $text, ENT_QUOTES, 'UTF-8' ); }
}
if ( ! function_exists( 'wp_enqueue_script' ) ) {
	function wp_enqueue_script( $handle, $src = '', $deps = array(), $ver = false, $in_footer = false ) {
		$GLOBALS['slotwise_enqueued'][ $handle ] = $src;
	}
}
require_once dirname( __DIR__, 3 ) . '/wordpress-plugin/slotwise/includes/class-slotwise-personalization.php';

final class PersonalizationTest extends TestCase {
	protected function setUp(): void {
		$GLOBALS['slotwise_enqueued'] = array();
		$GLOBALS['slotwise_options']['slotwise_settings'] = array(
			'gateway_url'     => 'https://gw.example.com/',
			'site_id'         => 'shop',
			'publishable_key' => 'pk_shop',
			'secret_key'      => 'sk_shop',
		);
	}

	public function test_shortcode_prints_the_widget_placeholder_and_loads_the_client(): void {
		Slotwise_Personalization::register();
		$this->assertSame( array( 'Slotwise_Personalization', 'shortcode' ), $GLOBALS['slotwise_shortcodes']['slotwise_personalization'] );
		$html = Slotwise_Personalization::shortcode( array( 'title' => 'Your "choice" <b>' ) );
		$this->assertStringStartsWith( '<div class="slotwise-personalization" data-slotwise-widget="personalization"', $html );
		$this->assertStringContainsString( 'data-title="Your &quot;choice&quot; &lt;b&gt;"', $html );
		$this->assertStringContainsString( 'data-label-basic="Basic"', $html );
		$this->assertStringContainsString( '<noscript>', $html );
		$this->assertStringNotContainsString( 'sk_shop', $html );  // no secret on the page
		$this->assertSame( array( 'slotwise-client' => 'https://gw.example.com/v1/client.js' ), $GLOBALS['slotwise_enqueued'] );
	}

	public function test_default_title_and_no_client_before_the_plugin_is_configured(): void {
		$GLOBALS['slotwise_options']['slotwise_settings'] = array();
		$html = Slotwise_Personalization::shortcode( '' );
		$this->assertStringContainsString( 'data-title="Personalization"', $html );
		$this->assertSame( array(), $GLOBALS['slotwise_enqueued'] );
	}
}
