<?php
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The gateway's admin routes (secret key as a Bearer token), for publishing authored slots.
 *
 * Unlike page renders these calls are made while an editor saves a post: a longer timeout (5 s),
 * and the answer's status and error details are returned instead of a silent fallback, because
 * the editor must see why a variant was refused.
 *
 * @package Slotwise
 */

defined( 'ABSPATH' ) || exit;

/**
 * Calls to /v1/admin/... with the secret key.
 */
final class Slotwise_Admin_Client {

	const TIMEOUT = 5.0;

	/**
	 * One call: ok, HTTP status (0 when none), decoded data, error details and a message.
	 *
	 * @param string                    $method GET, PUT or DELETE.
	 * @param string                    $path   Path under the gateway URL.
	 * @param array<string, mixed>|null $body   JSON body.
	 * @return array{ok: bool, status: int, data: ?array, details: array<int, array<string, mixed>>, error: string}
	 */
	public function send( string $method, string $path, ?array $body ): array {
		$base   = untrailingslashit( (string) Slotwise_Options::get( 'gateway_url' ) );
		$secret = Slotwise_Options::secret();
		if ( '' === $base || '' === $secret ) {
			return self::failed( 0, __( 'No gateway URL or secret key is set (Settings → Slotwise).', 'slotwise' ) );
		}
		$args = array(
			'method'              => $method,
			'timeout'             => self::TIMEOUT,
			'redirection'         => 0,
			'headers'             => array(
				'Accept'        => 'application/json',
				'Authorization' => 'Bearer ' . $secret,
			),
			'slotwise_timeout_ms' => (int) ( self::TIMEOUT * 1000 ),
		);
		if ( null !== $body ) {
			$json = wp_json_encode( $body );
			if ( false === $json ) {
				return self::failed( 0, __( 'The variants could not be encoded as JSON.', 'slotwise' ) );
			}
			$args['body']                    = $json;
			$args['headers']['Content-Type'] = 'application/json';
		}
		$response = wp_remote_request( $base . $path, $args );
		if ( is_wp_error( $response ) ) {
			/* translators: %s: transport error */
			return self::failed( 0, sprintf( __( 'The gateway could not be reached (%s); visitors see the default content.', 'slotwise' ), $response->get_error_message() ) );
		}
		$status = (int) wp_remote_retrieve_response_code( $response );
		$data   = json_decode( (string) wp_remote_retrieve_body( $response ), true );
		if ( $status >= 200 && $status < 300 && is_array( $data ) ) {
			return array( 'ok' => true, 'status' => $status, 'data' => $data, 'details' => array(), 'error' => '' );
		}
		$error = is_array( $data ) && is_array( $data['error'] ?? null ) ? $data['error'] : null;
		if ( null === $error || ! is_string( $error['message'] ?? null ) ) {
			/* translators: %d: HTTP status */
			return self::failed( $status, sprintf( __( 'The gateway answered HTTP %d (not a Slotwise answer).', 'slotwise' ), $status ) );
		}
		$details = array_values( array_filter( is_array( $error['details'] ?? null ) ? $error['details'] : array(), 'is_array' ) );
		$out     = self::failed( $status, sanitize_text_field( mb_substr( $error['message'], 0, 300 ) ) );
		$out['details'] = $details;
		return $out;
	}

	/**
	 * A failed answer.
	 *
	 * @param int    $status  HTTP status or 0.
	 * @param string $message Why.
	 * @return array{ok: bool, status: int, data: ?array, details: array<int, array<string, mixed>>, error: string}
	 */
	private static function failed( int $status, string $message ): array {
		return array( 'ok' => false, 'status' => $status, 'data' => null, 'details' => array(), 'error' => $message );
	}
}
