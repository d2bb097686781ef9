<?php
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * HTTP client of the Slotwise gateway: render, slot list, health, events.
 *
 * Every call follows one chain: wp_remote_* with an explicit short timeout → is_wp_error →
 * status check → shape check → a null result the caller turns into fallback content.
 * Nothing here prints; failures go to the `slotwise_gateway_error` action.
 *
 * @package Slotwise
 */

defined( 'ABSPATH' ) || exit;

/**
 * Gateway calls. Construct with settings (see Slotwise_Options) so tests can pass their own.
 */
class Slotwise_Gateway {

	/**
	 * Settings array.
	 *
	 * @var array<string, mixed>
	 */
	private array $settings;

	/**
	 * Last failure, for the settings page's connection test and for tests.
	 *
	 * @var string
	 */
	public string $last_error = '';

	/**
	 * Constructor.
	 *
	 * @param array<string, mixed> $settings Settings (Slotwise_Options::all() by default).
	 */
	public function __construct( ?array $settings = null ) {
		if ( null === $settings ) {
			$settings               = Slotwise_Options::all();
			$settings['secret_key'] = Slotwise_Options::secret();
		}
		$this->settings = $settings;
	}

	/**
	 * Base URL of the gateway without trailing slash.
	 */
	public function base(): string {
		return untrailingslashit( (string) $this->settings['gateway_url'] );
	}

	/**
	 * The render call: blocks by slot name, or null when the gateway failed in any way.
	 *
	 * @param string[]              $slots      Slot names on the page.
	 * @param array<string, mixed>  $context    Body `context`.
	 * @param array<string, string> $headers    Forwarded visitor headers.
	 * @param string|null           $visitor_id Visitor id or null.
	 * @param bool                  $secret     Use the secret key (editor previews only).
	 * @return array{visitor_id: ?string, blocks: array<string, array<string, mixed>>}|null
	 */
	public function render( array $slots, array $context, array $headers = array(), ?string $visitor_id = null, bool $secret = false ): ?array {
		$body = array(
			'site'       => (string) $this->settings['site_id'],
			'visitor_id' => $visitor_id,
			'slots'      => array_values( $slots ),
			'context'    => (object) $context,
		);
		$key  = $secret ? (string) $this->settings['secret_key'] : (string) $this->settings['publishable_key'];
		$data = $this->post_json( '/v1/render', $body, $key, $headers, $this->budget() );
		if ( null === $data ) {
			return null;
		}
		if ( ! isset( $data['blocks'] ) || ! is_array( $data['blocks'] ) ) {
			return $this->fail( 'render: response has no "blocks" object' );
		}
		$blocks = array();
		foreach ( $data['blocks'] as $slot => $block ) {
			if ( is_array( $block ) && isset( $block['html'] ) && is_string( $block['html'] ) ) {
				$blocks[ (string) $slot ] = $block;
			}
		}
		$vid = isset( $data['visitor_id'] ) && is_string( $data['visitor_id'] ) ? $data['visitor_id'] : null;
		return array(
			'visitor_id' => $vid,
			'blocks'     => $blocks,
		);
	}

	/**
	 * Slots the gateway knows: list of {name, description, type}, or null on failure.
	 *
	 * @return array<int, array{name: string, description: string, type: string}>|null
	 */
	public function slots(): ?array {
		$url  = add_query_arg( 'site', rawurlencode( (string) $this->settings['site_id'] ), $this->base() . '/v1/slots' );
		$data = $this->request( 'GET', $url, null, (string) $this->settings['publishable_key'], array(), 3.0 );
		if ( null === $data ) {
			return null;
		}
		if ( ! isset( $data['slots'] ) || ! is_array( $data['slots'] ) ) {
			return $this->fail( 'slots: response has no "slots" list' );
		}
		$out = array();
		foreach ( $data['slots'] as $slot ) {
			if ( is_array( $slot ) && isset( $slot['name'] ) && is_string( $slot['name'] ) ) {
				$out[] = array(
					'name'        => $slot['name'],
					'description' => isset( $slot['description'] ) ? (string) $slot['description'] : '',
					'type'        => isset( $slot['type'] ) ? (string) $slot['type'] : '',
				);
			}
		}
		return $out;
	}

	/**
	 * Health check for the settings page: ok flag, latency and a message.
	 *
	 * @return array{ok: bool, ms: int, message: string}
	 */
	public function health(): array {
		if ( '' === $this->base() ) {
			return array( 'ok' => false, 'ms' => 0, 'message' => __( 'No gateway URL is set.', 'slotwise' ) );
		}
		$start = microtime( true );
		$data  = $this->request( 'GET', $this->base() . '/readyz', null, '', array(), 3.0 );
		$ms    = (int) round( ( microtime( true ) - $start ) * 1000 );
		if ( null === $data ) {
			return array( 'ok' => false, 'ms' => $ms, 'message' => $this->last_error );
		}
		$slots = $this->slots();
		if ( null === $slots ) {
			/* translators: %s: error message */
			return array( 'ok' => false, 'ms' => $ms, 'message' => sprintf( __( 'The gateway is up but refused this site or key: %s', 'slotwise' ), $this->last_error ) );
		}
		$status = isset( $data['status'] ) ? (string) $data['status'] : 'ok';
		/* translators: 1: gateway status, 2: number of slots */
		return array( 'ok' => true, 'ms' => $ms, 'message' => sprintf( __( 'Gateway status "%1$s", %2$d slot(s) for this site.', 'slotwise' ), $status, count( $slots ) ) );
	}

	/**
	 * Send a batch of events with the secret key. Fire and forget: never blocks longer than the budget.
	 *
	 * @param array<int, array<string, mixed>> $events  Events.
	 * @param array<string, mixed>             $context Context (user agent, consent...).
	 * @param array<string, string>            $headers Forwarded headers.
	 * @param bool                             $wait    Wait for the answer (tests, purchases).
	 */
	public function send_events( array $events, array $context, array $headers = array(), bool $wait = false ): bool {
		if ( empty( $events ) ) {
			return true;
		}
		$key  = '' !== (string) $this->settings['secret_key'] ? (string) $this->settings['secret_key'] : (string) $this->settings['publishable_key'];
		$body = array(
			'site'    => (string) $this->settings['site_id'],
			'events'  => array_values( $events ),
			'context' => (object) $context,
		);
		if ( ! $wait ) {
			$response = wp_remote_post(
				$this->base() . '/v1/events',
				array(
					'timeout'             => 0.05,
					'blocking'            => false,
					'slotwise_timeout_ms' => 50,
					'headers'             => array_merge( $headers, array( 'Content-Type' => 'application/json', 'X-Slotwise-Key' => $key, 'X-Slotwise-Send' => 'async' ) ),
					'body'     => wp_json_encode( $body ),
				)
			);
			return ! is_wp_error( $response );
		}
		return null !== $this->post_json( '/v1/events', $body, $key, $headers, max( 1.0, $this->budget() ) );
	}

	/**
	 * `http_api_curl` action: WordPress's cURL transport rounds timeouts up to one second (for
	 * signal-based DNS), which would blow the page's time budget. For our own requests (marked
	 * with `slotwise_timeout_ms`) set millisecond timeouts for the transfer and the connect, and
	 * no signals. The fsockopen transport already honours sub-second read timeouts.
	 *
	 * @param resource|object      $handle cURL handle.
	 * @param array<string, mixed> $args   Request arguments.
	 */
	public static function tune_curl( $handle, $args ): void {
		if ( ! is_array( $args ) || empty( $args['slotwise_timeout_ms'] ) ) {
			return;
		}
		$ms = max( 1, (int) $args['slotwise_timeout_ms'] );
		curl_setopt( $handle, CURLOPT_NOSIGNAL, true );
		curl_setopt( $handle, CURLOPT_TIMEOUT_MS, $ms );
		curl_setopt( $handle, CURLOPT_CONNECTTIMEOUT_MS, $ms );
	}

	/**
	 * `requests-requests.before_request` action: events marked `X-Slotwise-Send: async` go
	 * through the socket transport, which writes the request and closes without waiting for the
	 * answer (cURL would wait for it, and with mod_php or PHP's server the visitor waits too).
	 * The connect timeout is the transport's minimum, one second; a refused port fails at once.
	 *
	 * @param string               $url     URL.
	 * @param array<string, mixed> $headers Headers (by reference).
	 * @param mixed                $data    Body.
	 * @param string               $type    Method.
	 * @param array<string, mixed> $options Requests options (by reference).
	 */
	public static function route_async( &$url, &$headers, &$data, &$type, &$options ): void {
		if ( ! is_array( $headers ) || ! isset( $headers['X-Slotwise-Send'] ) ) {
			return;
		}
		unset( $headers['X-Slotwise-Send'] );
		if ( class_exists( 'Requests_Transport_fsockopen' ) && Requests_Transport_fsockopen::test( array( 'ssl' => 0 === strpos( (string) $url, 'https://' ) ) ) ) {
			$options['transport']       = 'Requests_Transport_fsockopen';
			$options['connect_timeout'] = 1;
		}
	}

	/**
	 * Time budget in seconds.
	 */
	public function budget(): float {
		return max( 20, (int) $this->settings['budget_ms'] ) / 1000;
	}

	/**
	 * POST a JSON body and decode the JSON answer.
	 *
	 * @param string                $path    Path under the gateway URL.
	 * @param array<string, mixed>  $body    Body.
	 * @param string                $key     Key for X-Slotwise-Key.
	 * @param array<string, string> $headers Extra headers.
	 * @param float                 $timeout Seconds.
	 * @return array<string, mixed>|null
	 */
	private function post_json( string $path, array $body, string $key, array $headers, float $timeout ): ?array {
		return $this->request( 'POST', $this->base() . $path, wp_json_encode( $body ), $key, $headers, $timeout );
	}

	/**
	 * One request through the WordPress HTTP API, with the error chain described above.
	 *
	 * @param string                $method  GET or POST.
	 * @param string                $url     Absolute URL.
	 * @param string|false|null     $body    JSON body.
	 * @param string                $key     Key for X-Slotwise-Key ('' for none).
	 * @param array<string, string> $headers Extra headers.
	 * @param float                 $timeout Seconds.
	 * @return array<string, mixed>|null
	 */
	private function request( string $method, string $url, $body, string $key, array $headers, float $timeout ): ?array {
		if ( '' === $this->base() || ( '' !== $key && '' === (string) $this->settings['site_id'] ) ) {
			return $this->fail( 'not configured: set the gateway URL, site id and keys' );
		}
		if ( false === $body ) {
			return $this->fail( 'could not encode the request as JSON' );
		}
		$headers['Accept'] = 'application/json';
		if ( '' !== $key ) {
			$headers['X-Slotwise-Key'] = $key;
		}
		$args = array(
			'method'               => $method,
			'timeout'              => $timeout,
			'redirection'          => 0,
			'headers'              => $headers,
			'slotwise_timeout_ms'  => (int) round( $timeout * 1000 ),
		);
		if ( null !== $body ) {
			$args['body']                    = $body;
			$args['headers']['Content-Type'] = 'application/json';
		}
		$response = wp_remote_request( $url, $args );
		if ( is_wp_error( $response ) ) {
			return $this->fail( $method . ' ' . $url . ': ' . $response->get_error_message() );
		}
		$status = (int) wp_remote_retrieve_response_code( $response );
		$text   = (string) wp_remote_retrieve_body( $response );
		if ( $status < 200 || $status > 299 ) {
			$data    = json_decode( $text, true );
			// Only a Slotwise error envelope is repeated, as plain text and short (it reaches the
			// settings screen); any other body (a proxy's page, another service) is not echoed.
			$code = is_array( $data ) && isset( $data['error']['code'] ) && is_string( $data['error']['code'] ) ? sanitize_key( $data['error']['code'] ) : '';
			if ( '' === $code ) {
				return $this->fail( $method . ' ' . $url . ': HTTP ' . $status . ' (not a Slotwise gateway answer)' );
			}
			$message = is_string( $data['error']['message'] ?? null ) ? mb_substr( sanitize_text_field( $data['error']['message'] ), 0, 120 ) : '';
			return $this->fail( $method . ' ' . $url . ': HTTP ' . $status . ' ' . $message . ' (' . $code . ')' );
		}
		$data = json_decode( $text, true );
		if ( ! is_array( $data ) ) {
			return $this->fail( $method . ' ' . $url . ': the answer is not a JSON object' );
		}
		$this->last_error = '';
		return $data;
	}

	/**
	 * Record a failure and return null (the caller renders its fallback).
	 *
	 * @param string $message What went wrong.
	 * @return null
	 */
	private function fail( string $message ) {
		$this->last_error = $message;
		do_action( 'slotwise_gateway_error', $message );
		return null;
	}
}
