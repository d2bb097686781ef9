<?php
// SPDX-License-Identifier: GPL-2.0-or-later
use PHPUnit\Framework\TestCase;

final class ContextTest extends TestCase {
	private array $server = array(
		'HTTP_USER_AGENT'       => "Mozilla/5.0 (iPhone)\x07",
		'HTTP_ACCEPT_LANGUAGE'  => 'de-DE,de;q=0.9',
		'HTTP_REFERER'          => 'https://www.google.com/',
		'HTTP_SEC_GPC'          => '1',
		'HTTP_CF_IPCOUNTRY'     => 'FR',
		'HTTP_X_FORWARDED_FOR'  => '6.6.6.6',
		'HTTP_SEC_CH_UA_MOBILE' => '?1',
		'REMOTE_ADDR'           => '203.0.113.9',
	);

	public function test_context_fields(): void {
		$ctx = Slotwise_Context::build( $this->server, 'https://site.example/?p=3', '3', 'anonymous' );
		$this->assertSame( array(
			'url'        => 'https://site.example/?p=3',
			'user_agent' => 'Mozilla/5.0 (iPhone)',
			'language'   => 'de-DE,de;q=0.9',
			'referrer'   => 'https://www.google.com/',
			'consent'    => 'anonymous',
			'item_id'    => '3',
			'gpc'        => true,
		), $ctx );
	}

	public function test_unknown_consent_and_missing_fields_are_left_out(): void {
		$ctx = Slotwise_Context::build( array(), 'https://site.example/', null, '' );
		$this->assertSame( array( 'url' => 'https://site.example/' ), $ctx );
	}

	public function test_headers_forward_only_configured_geo_and_the_real_peer(): void {
		$h = Slotwise_Context::headers( $this->server, array( 'CF-IPCountry', 'CloudFront-Viewer-Country' ), true );
		$this->assertSame( array(
			'X-Forwarded-For'  => '203.0.113.9',   // the peer WordPress saw, not a client-sent header
			'CF-IPCountry'     => 'FR',
			'Sec-GPC'          => '1',
			'Sec-CH-UA-Mobile' => '?1',
		), $h );
		$this->assertArrayNotHasKey( 'X-Forwarded-For', Slotwise_Context::headers( $this->server, array(), false ) );
	}

	public function test_server_text_is_bounded(): void {
		$this->assertSame( 'abc', Slotwise_Context::server_text( array( 'K' => "  abcdef\n" ), 'K', 3 ) );
		$this->assertSame( '', Slotwise_Context::server_text( array( 'K' => array( 'x' ) ), 'K', 3 ) );
	}
}
