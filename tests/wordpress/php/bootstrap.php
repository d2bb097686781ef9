<?php
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Minimal stand-ins for the WordPress functions the plugin's units call, so the units run
 * under plain PHPUnit. Behaviour inside real WordPress is covered by the end-to-end tests.
 * Remote calls go to $GLOBALS['slotwise_http'] (a callable) and are recorded.
 */

define( 'ABSPATH', '/tmp/' );
define( 'MINUTE_IN_SECONDS', 60 );

$GLOBALS['slotwise_options'] = array();
$GLOBALS['slotwise_filters'] = array();
$GLOBALS['slotwise_actions'] = array();
$GLOBALS['slotwise_requests'] = array();
$GLOBALS['slotwise_http'] = null;

class WP_Error {
	public function __construct( public string $code = '', public string $message = '', public $data = null ) {}
	public function get_error_message(): string { return $this->message; }
}

function get_option( $name, $default = false ) { return $GLOBALS['slotwise_options'][ $name ] ?? $default; }
function add_action( ...$args ) { return true; }
function add_filter( ...$args ) { return true; }
function apply_filters( $name, $value, ...$args ) {
	return isset( $GLOBALS['slotwise_filters'][ $name ] ) ? ( $GLOBALS['slotwise_filters'][ $name ] )( $value, ...$args ) : $value;
}
function do_action( $name, ...$args ) { $GLOBALS['slotwise_actions'][] = array( $name, $args ); }
function __( $text, $domain = 'default' ) { return $text; }
function untrailingslashit( $value ) { return rtrim( (string) $value, '/\\' ); }
function esc_url_raw( $url, $protocols = null ) {
	$url = trim( (string) $url );
	$scheme = strtolower( (string) parse_url( $url, PHP_URL_SCHEME ) );
	if ( '' === $url || ! in_array( $scheme, $protocols ?? array( 'http', 'https' ), true ) ) {
		return '';
	}
	return preg_replace( '/[^A-Za-z0-9\-._~:\/?#\[\]@!$&\'()*+,;=%]/', '', $url );
}
function absint( $v ) { return abs( (int) $v ); }
function esc_attr( $v ) { return htmlspecialchars( (string) $v, ENT_QUOTES, 'UTF-8' ); }
function esc_html( $v ) { return htmlspecialchars( (string) $v, ENT_QUOTES, 'UTF-8' ); }
function wp_kses_post( $html ) {
	// Enough of kses for the tests: scripts and event handlers go.
	$html = preg_replace( '#<script\b[^>]*>.*?</script>#is', '', (string) $html );
	return preg_replace( '/\s+on[a-z]+\s*=\s*("[^"]*"|\'[^\']*\'|[^\s>]+)/i', '', $html );
}
function wp_json_encode( $data ) { return json_encode( $data ); }
function add_query_arg( $key, $value, $url ) { return $url . ( str_contains( $url, '?' ) ? '&' : '?' ) . $key . '=' . $value; }
function is_wp_error( $v ) { return $v instanceof WP_Error; }
function wp_remote_request( $url, $args ) {
	$GLOBALS['slotwise_requests'][] = array( 'url' => $url, 'args' => $args );
	$handler = $GLOBALS['slotwise_http'];
	return $handler ? $handler( $url, $args ) : new WP_Error( 'http_request_failed', 'no handler' );
}
function wp_remote_post( $url, $args ) { return wp_remote_request( $url, array_merge( $args, array( 'method' => 'POST' ) ) ); }
function wp_remote_retrieve_response_code( $r ) { return is_array( $r ) ? $r['response']['code'] : ''; }
function wp_remote_retrieve_body( $r ) { return is_array( $r ) ? $r['body'] : ''; }
function wp_generate_uuid4() { return sprintf( '%s-%s-4%s-a%s-%s', bin2hex( random_bytes( 4 ) ), bin2hex( random_bytes( 2 ) ), substr( bin2hex( random_bytes( 2 ) ), 1 ), substr( bin2hex( random_bytes( 2 ) ), 1 ), bin2hex( random_bytes( 6 ) ) ); }
function sanitize_text_field( $v ) { return trim( strip_tags( (string) $v ) ); }

/** A canned HTTP answer. */
function slotwise_response( int $code, $body ): array {
	return array( 'response' => array( 'code' => $code ), 'body' => is_string( $body ) ? $body : json_encode( $body ) );
}

$plugin = dirname( __DIR__, 3 ) . '/wordpress-plugin/slotwise/includes/';
require_once $plugin . 'class-slotwise-options.php';
require_once $plugin . 'class-slotwise-gateway.php';
require_once $plugin . 'class-slotwise-context.php';
require_once $plugin . 'class-slotwise-visitor.php';
require_once $plugin . 'class-slotwise-page.php';
require_once $plugin . 'class-slotwise-events.php';
require_once $plugin . 'class-slotwise-rest.php';
function wp_parse_url( $url, $component = -1 ) { return parse_url( $url, $component ); }
function sanitize_key( $key ) { return preg_replace( '/[^a-z0-9_\-]/', '', strtolower( (string) $key ) ); }
