<?php
// SPDX-License-Identifier: GPL-2.0-or-later
use PHPUnit\Framework\TestCase;

final class OptionsTest extends TestCase {
	protected function setUp(): void {
		$GLOBALS['slotwise_options'] = array();
		$GLOBALS['slotwise_filters'] = array();
	}

	public function test_sanitize_cleans_every_field(): void {
		$out = Slotwise_Options::sanitize( array(
			'gateway_url'     => ' https://gw.example.com/ ',
			'site_id'         => 'shop" onmouseover=x',
			'publishable_key' => 'pk_live_1',
			'secret_key'      => 'sk_live_1',
			'mode'            => 'sideways',
			'budget_ms'       => '5',
			'default_consent' => 'maybe',
			'events'          => '1',
			'geo_headers'     => 'CF-IPCountry, bad header!, CloudFront-Viewer-Country',
		) );
		$this->assertSame( 'https://gw.example.com', $out['gateway_url'] );
		$this->assertSame( 'shoponmouseoverx', $out['site_id'] );
		$this->assertSame( 'auto', $out['mode'] );
		$this->assertSame( 20, $out['budget_ms'] );
		$this->assertSame( '', $out['default_consent'] );
		$this->assertTrue( $out['events'] );
		$this->assertFalse( $out['forward_ip'] );
		$this->assertSame( 'CF-IPCountry, CloudFront-Viewer-Country', $out['geo_headers'] );
	}

	public function test_javascript_url_is_refused(): void {
		$out = Slotwise_Options::sanitize( array( 'gateway_url' => 'javascript:alert(1)' ) );
		$this->assertSame( '', $out['gateway_url'] );
	}

	public function test_empty_secret_keeps_the_stored_one_unless_cleared(): void {
		$GLOBALS['slotwise_options']['slotwise_settings'] = array( 'secret_key' => 'sk_old' );
		$this->assertSame( 'sk_old', Slotwise_Options::sanitize( array( 'secret_key' => '' ) )['secret_key'] );
		$this->assertSame( '', Slotwise_Options::sanitize( array( 'clear_secret' => '1' ) )['secret_key'] );
		$this->assertSame( 'sk_new', Slotwise_Options::sanitize( array( 'secret_key' => 'sk_new' ) )['secret_key'] );
	}

	public function test_budget_is_capped_and_defaults_apply(): void {
		$this->assertSame( 2000, Slotwise_Options::sanitize( array( 'budget_ms' => '99999' ) )['budget_ms'] );
		$this->assertSame( 150, Slotwise_Options::defaults()['budget_ms'] );
		$this->assertSame( 'auto', Slotwise_Options::get( 'mode' ) );
		$this->assertFalse( Slotwise_Options::configured() );
	}

	public function test_auto_mode_is_server_without_page_cache_and_filterable(): void {
		$GLOBALS['slotwise_options']['slotwise_settings'] = array( 'mode' => 'auto' );
		$this->assertSame( 'server', Slotwise_Options::mode() );
		$GLOBALS['slotwise_filters']['slotwise_mode'] = fn( $m ) => 'client';
		$this->assertSame( 'client', Slotwise_Options::mode() );
	}
}
