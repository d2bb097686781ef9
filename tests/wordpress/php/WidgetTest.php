<?php
// SPDX-License-Identifier: GPL-2.0-or-later
use PHPUnit\Framework\TestCase;

if ( ! class_exists( 'WP_Widget' ) ) {
	/** Stand-in for WordPress's widget base class (constructor arguments only). */
	class WP_Widget {
		public array $registered = array();
		public function __construct( $id_base, $name, $widget_options = array() ) {
			$this->registered = array( $id_base, $name, $widget_options );
		}
	}
}
if ( ! class_exists( 'Slotwise_Plugin' ) ) {
	/** The widget asks the plugin for the page collector; here a client-mode page. */
	final class Slotwise_Plugin {
		public static ?Slotwise_Page $page = null;
		public static function page(): Slotwise_Page {
			return self::$page ??= new Slotwise_Page( new Slotwise_Gateway( Slotwise_Options::defaults() ), 'client' );
		}
	}
}
require_once dirname( __DIR__, 3 ) . '/wordpress-plugin/slotwise/includes/class-slotwise-widget.php';

final class WidgetTest extends TestCase {
	public function test_update_sanitizes_slot_and_fallback(): void {
		$w   = new Slotwise_Widget();
		$out = $w->update( array( 'slot' => 'home-hero', 'fallback' => '<p onclick="x()">Hi</p><script>bad()</script>' ), array() );
		$this->assertSame( array( 'slot' => 'home-hero', 'fallback' => '<p>Hi</p>' ), $out );
		$this->assertSame( '', $w->update( array( 'slot' => 'bad slot"' ), array() )['slot'] );
		$this->assertSame( 'slotwise_widget', $w->registered[0] );
	}

	public function test_widget_prints_a_placeholder_inside_the_sidebar_markup(): void {
		$w = new Slotwise_Widget();
		ob_start();
		$w->widget( array( 'before_widget' => '<section>', 'after_widget' => '</section>' ), array( 'slot' => 'offer', 'fallback' => '<p>Newsletter</p>' ) );
		$html = ob_get_clean();
		$this->assertSame( '<section><div class="slotwise-slot slotwise-widget" data-slotwise-slot="offer" data-slotwise-state="pending"><p>Newsletter</p></div></section>', $html );
		ob_start();
		$w->widget( array(), array( 'slot' => '' ) );
		$this->assertSame( '', ob_get_clean() );
	}
}
