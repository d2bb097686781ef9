<?php
// SPDX-License-Identifier: GPL-2.0-or-later
use PHPUnit\Framework\TestCase;

if ( ! class_exists( 'Requests_Transport_fsockopen' ) ) {
	/** Stand-in for WordPress's socket transport (only its capability test is called). */
	final class Requests_Transport_fsockopen {
		public static function test( $capabilities = array() ) { return true; }
	}
}

final class GatewayTest extends TestCase {
	private function gateway( array $extra = array() ): Slotwise_Gateway {
		return new Slotwise_Gateway( array_merge( Slotwise_Options::defaults(), array(
			'gateway_url' => 'http://gw.test', 'site_id' => 'shop', 'publishable_key' => 'pk_1', 'secret_key' => 'sk_1', 'budget_ms' => 150,
		), $extra ) );
	}

	protected function setUp(): void {
		$GLOBALS['slotwise_requests'] = array();
		$GLOBALS['slotwise_actions']  = array();
	}

	public function test_render_sends_one_request_with_budget_key_and_body(): void {
		$GLOBALS['slotwise_http'] = fn( $url, $args ) => slotwise_response( 200, array(
			'visitor_id' => 'v1',
			'blocks'     => array( 'hero' => array( 'html' => '<b>Hi</b>', 'variant' => 'mobile' ), 'broken' => 'nope' ),
		) );
		$out = $this->gateway()->render( array( 'hero', 'broken' ), array( 'url' => 'u' ), array( 'CF-IPCountry' => 'FR' ), 'v1' );
		$this->assertSame( 'v1', $out['visitor_id'] );
		$this->assertSame( array( 'hero' ), array_keys( $out['blocks'] ) );
		$this->assertCount( 1, $GLOBALS['slotwise_requests'] );
		$req = $GLOBALS['slotwise_requests'][0];
		$this->assertSame( 'http://gw.test/v1/render', $req['url'] );
		$this->assertSame( 0.15, $req['args']['timeout'] );
		$this->assertSame( 150, $req['args']['slotwise_timeout_ms'] );
		$this->assertSame( 'pk_1', $req['args']['headers']['X-Slotwise-Key'] );
		$this->assertSame( 'FR', $req['args']['headers']['CF-IPCountry'] );
		$body = json_decode( $req['args']['body'], true );
		$this->assertSame( array( 'site' => 'shop', 'visitor_id' => 'v1', 'slots' => array( 'hero', 'broken' ), 'context' => array( 'url' => 'u' ) ), $body );
	}

	public function test_secret_key_only_when_asked(): void {
		$GLOBALS['slotwise_http'] = fn( $url, $args ) => slotwise_response( 200, array( 'blocks' => array() ) );
		$this->gateway()->render( array( 'hero' ), array(), array(), null, true );
		$this->assertSame( 'sk_1', $GLOBALS['slotwise_requests'][0]['args']['headers']['X-Slotwise-Key'] );
	}

	/** @dataProvider failures */
	public function test_every_failure_gives_null_and_an_error( $answer, string $expect ): void {
		$GLOBALS['slotwise_http'] = fn( $url, $args ) => $answer;
		$gw = $this->gateway();
		$this->assertNull( $gw->render( array( 'hero' ), array() ) );
		$this->assertStringContainsString( $expect, $gw->last_error );
		$this->assertSame( 'slotwise_gateway_error', $GLOBALS['slotwise_actions'][0][0] );
	}

	public static function failures(): array {
		return array(
			'timeout'     => array( new WP_Error( 'http_request_failed', 'cURL error 28: Operation timed out' ), 'timed out' ),
			'5xx'         => array( slotwise_response( 503, '{"error":{"code":"x","message":"overloaded"}}' ), 'HTTP 503 overloaded' ),
			'401'         => array( slotwise_response( 401, '{"error":{"code":"bad_key","message":"unknown key"}}' ), 'HTTP 401' ),
			'not json'    => array( slotwise_response( 200, '<html>' ), 'not a JSON object' ),
			'no blocks'   => array( slotwise_response( 200, array( 'visitor_id' => 'x' ) ), 'no "blocks"' ),
		);
	}

	public function test_unconfigured_makes_no_request(): void {
		$gw = $this->gateway( array( 'gateway_url' => '' ) );
		$this->assertNull( $gw->render( array( 'hero' ), array() ) );
		$this->assertSame( array(), $GLOBALS['slotwise_requests'] );
	}

	public function test_slots_list_is_validated(): void {
		$GLOBALS['slotwise_http'] = fn( $url, $args ) => slotwise_response( 200, array( 'slots' => array(
			array( 'name' => 'hero', 'description' => 'Top', 'type' => 'banner' ), array( 'description' => 'no name' ),
		) ) );
		$this->assertSame( array( array( 'name' => 'hero', 'description' => 'Top', 'type' => 'banner' ) ), $this->gateway()->slots() );
		$this->assertSame( 'http://gw.test/v1/slots?site=shop', $GLOBALS['slotwise_requests'][0]['url'] );
		$this->assertSame( 'GET', $GLOBALS['slotwise_requests'][0]['args']['method'] );
	}

	public function test_health_reports_latency_and_slot_count(): void {
		$GLOBALS['slotwise_http'] = fn( $url, $args ) => str_ends_with( $url, '/readyz' )
			? slotwise_response( 200, array( 'status' => 'ready' ) )
			: slotwise_response( 200, array( 'slots' => array( array( 'name' => 'a' ) ) ) );
		$h = $this->gateway()->health();
		$this->assertTrue( $h['ok'] );
		$this->assertStringContainsString( '"ready", 1 slot(s)', $h['message'] );
		$GLOBALS['slotwise_http'] = fn( $url, $args ) => new WP_Error( 'x', 'Connection refused' );
		$h = $this->gateway()->health();
		$this->assertFalse( $h['ok'] );
		$this->assertStringContainsString( 'Connection refused', $h['message'] );
	}

	public function test_events_use_the_secret_key_and_do_not_block(): void {
		$GLOBALS['slotwise_http'] = fn( $url, $args ) => slotwise_response( 200, array() );
		$this->assertTrue( $this->gateway()->send_events( array( array( 'type' => 'page_view' ) ), array( 'user_agent' => 'UA' ) ) );
		$req = $GLOBALS['slotwise_requests'][0];
		$this->assertSame( 'http://gw.test/v1/events', $req['url'] );
		$this->assertFalse( $req['args']['blocking'] );
		$this->assertSame( 'sk_1', $req['args']['headers']['X-Slotwise-Key'] );
		$this->assertSame( 'UA', json_decode( $req['args']['body'], true )['context']['user_agent'] );
		$this->assertTrue( $this->gateway()->send_events( array(), array() ) );
		$this->assertCount( 1, $GLOBALS['slotwise_requests'] );
	}

	public function test_async_events_are_routed_to_the_socket_transport_and_lose_the_marker(): void {
		$url     = 'http://gw.test/v1/events';
		$headers = array( 'X-Slotwise-Key' => 'sk', 'X-Slotwise-Send' => 'async' );
		$data    = '{}';
		$type    = 'POST';
		$options = array( 'connect_timeout' => 10 );
		Slotwise_Gateway::route_async( $url, $headers, $data, $type, $options );
		$this->assertSame( array( 'X-Slotwise-Key' => 'sk' ), $headers );
		$this->assertSame( 'Requests_Transport_fsockopen', $options['transport'] );
		$this->assertSame( 1, $options['connect_timeout'] );

		$other   = array( 'Accept' => 'text/html' );
		$options = array();
		Slotwise_Gateway::route_async( $url, $other, $data, $type, $options );
		$this->assertSame( array(), $options );   // other plugins' requests are left alone
	}

	public function test_curl_tuning_only_touches_our_requests(): void {
		if ( ! function_exists( 'curl_init' ) ) {
			$this->markTestSkipped( 'php-curl is not installed' );
		}
		$handle = curl_init( 'http://127.0.0.1:9/' );
		Slotwise_Gateway::tune_curl( $handle, array( 'slotwise_timeout_ms' => 150 ) );
		Slotwise_Gateway::tune_curl( $handle, array( 'timeout' => 5 ) );
		curl_setopt( $handle, CURLOPT_RETURNTRANSFER, true );
		$this->assertFalse( curl_exec( $handle ) );   // the options were accepted; port 9 is closed
		$this->assertNotSame( 0, curl_errno( $handle ) );
		curl_close( $handle );
	}
}
