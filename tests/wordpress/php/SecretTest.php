<?php
// SPDX-License-Identifier: GPL-2.0-or-later
use PHPUnit\Framework\TestCase;

/**
 * The secret key goes only to the gateway it was given for, over https (or loopback), and
 * error bodies from elsewhere never reach the settings screen.
 */
final class SecretTest extends TestCase {
	protected function setUp(): void {
		$GLOBALS['slotwise_options'] = array( 'slotwise_settings' => array( 'gateway_url' => 'https://gw.example.com', 'secret_key' => 'sk_old', 'site_id' => 's', 'publishable_key' => 'pk' ) );
		$GLOBALS['slotwise_filters'] = array();
		$GLOBALS['slotwise_actions'] = array();
		$GLOBALS['slotwise_requests'] = array();
	}

	public function test_a_new_gateway_origin_drops_the_stored_secret(): void {
		$moved = Slotwise_Options::sanitize( array( 'gateway_url' => 'https://evil.example.net', 'secret_key' => '' ) );
		$this->assertSame( '', $moved['secret_key'] );
		$same = Slotwise_Options::sanitize( array( 'gateway_url' => 'https://GW.example.com:443/', 'secret_key' => '' ) );
		$this->assertSame( 'sk_old', $same['secret_key'], 'the same origin keeps it' );
		$retyped = Slotwise_Options::sanitize( array( 'gateway_url' => 'https://other.example.com', 'secret_key' => 'sk_new' ) );
		$this->assertSame( 'sk_new', $retyped['secret_key'], 'typed again with the new URL' );
		$port = Slotwise_Options::sanitize( array( 'gateway_url' => 'https://gw.example.com:8443', 'secret_key' => '' ) );
		$this->assertSame( '', $port['secret_key'] );
	}

	public function test_plain_http_is_refused_except_for_loopback(): void {
		$out = Slotwise_Options::sanitize( array( 'gateway_url' => 'http://gw.example.com', 'secret_key' => '' ) );
		$this->assertSame( 'https://gw.example.com', $out['gateway_url'], 'the previous URL is kept' );
		foreach ( array( 'http://127.0.0.1:8080', 'http://localhost:8080', 'https://gw.example.com' ) as $ok ) {
			$this->assertTrue( Slotwise_Options::safe_url( $ok ), $ok );
		}
		foreach ( array( 'http://gw.example.com', 'http://127.0.0.1.evil.example', 'ftp://x', '' ) as $bad ) {
			$this->assertFalse( Slotwise_Options::safe_url( $bad ), $bad );
		}
	}

	public function test_a_stored_secret_is_not_used_over_plain_http(): void {
		$GLOBALS['slotwise_options']['slotwise_settings']['gateway_url'] = 'http://gw.example.com';
		$this->assertSame( '', Slotwise_Options::secret() );
		$GLOBALS['slotwise_options']['slotwise_settings']['gateway_url'] = 'https://gw.example.com';
		$this->assertSame( 'sk_old', Slotwise_Options::secret() );
	}

	/**
	 * @runInSeparateProcess
	 * @preserveGlobalState disabled
	 */
	public function test_wp_config_constant_wins_and_is_bound_to_its_origin(): void {
		define( 'SLOTWISE_SECRET_KEY', 'sk_from_config' );
		define( 'SLOTWISE_SECRET_KEY_ORIGIN', 'https://gw.example.com' );
		$GLOBALS['slotwise_options'] = array( 'slotwise_settings' => array( 'gateway_url' => 'https://gw.example.com', 'secret_key' => 'sk_db', 'site_id' => 's', 'publishable_key' => 'pk' ) );
		$this->assertTrue( Slotwise_Options::secret_from_config() );
		$this->assertSame( 'sk_from_config', Slotwise_Options::secret() );
		$GLOBALS['slotwise_http'] = fn( $url, $args ) => slotwise_response( 200, array( 'blocks' => array() ) );
		( new Slotwise_Gateway() )->render( array( 'hero' ), array(), array(), null, true );
		$this->assertSame( 'sk_from_config', $GLOBALS['slotwise_requests'][0]['args']['headers']['X-Slotwise-Key'] );
		$GLOBALS['slotwise_options']['slotwise_settings']['gateway_url'] = 'https://evil.example.net';
		$this->assertSame( '', Slotwise_Options::secret(), 'another origin never gets it' );
	}

	public function test_error_bodies_that_are_not_the_gateways_are_not_repeated(): void {
		$GLOBALS['slotwise_http'] = fn( $url, $args ) => slotwise_response( 502, '<html>internal host db01.corp:5432 password=hunter2</html>' );
		$gw = new Slotwise_Gateway();
		$this->assertNull( $gw->slots() );
		$this->assertStringNotContainsString( 'hunter2', $gw->last_error );
		$this->assertStringContainsString( 'HTTP 502 (not a Slotwise gateway answer)', $gw->last_error );
		$GLOBALS['slotwise_http'] = fn( $url, $args ) => slotwise_response( 401, array( 'error' => array( 'code' => 'bad_key', 'message' => '<b>Wrong</b> key ' . str_repeat( 'x', 500 ) ) ) );
		$gw->slots();
		$this->assertStringContainsString( 'bad_key', $gw->last_error );
		$this->assertStringNotContainsString( '<b>', $gw->last_error );
		$this->assertLessThan( 260, strlen( $gw->last_error ) );
	}
}
