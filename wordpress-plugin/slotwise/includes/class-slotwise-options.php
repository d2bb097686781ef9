<?php
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The plugin's settings: one option array, its defaults and its sanitizer.
 *
 * @package Slotwise
 */

defined( 'ABSPATH' ) || exit;

/**
 * Settings access and validation (no WordPress UI here, see Slotwise_Admin).
 */
final class Slotwise_Options {

	const OPTION = 'slotwise_settings';
	const MODES  = array( 'server', 'client', 'auto', 'esi' );
	const CONSENT_LEVELS = array( 'none', 'anonymous', 'full' );

	/**
	 * Defaults: a fresh install renders nothing but fallbacks until a gateway is set.
	 *
	 * @return array<string, mixed>
	 */
	public static function defaults(): array {
		return array(
			'gateway_url'     => '',
			'site_id'         => '',
			'publishable_key' => '',
			'secret_key'      => '',
			'mode'            => 'auto',
			'budget_ms'       => 150,
			'default_consent' => '',
			'events'          => true,
			'impressions'     => false,
			'geo_headers'     => 'CF-IPCountry',
			'forward_ip'      => false,
		);
	}

	/**
	 * Current settings merged over the defaults (memoized per request).
	 *
	 * @return array<string, mixed>
	 */
	public static function all(): array {
		static $cache = null;
		static $raw_seen = null;
		$raw = get_option( self::OPTION, array() );
		if ( $cache === null || $raw !== $raw_seen ) {
			$raw_seen = $raw;
			$cache    = array_merge( self::defaults(), is_array( $raw ) ? $raw : array() );
		}
		return $cache;
	}

	/**
	 * One setting.
	 *
	 * @param string $key Setting name.
	 * @return mixed
	 */
	public static function get( string $key ) {
		$all = self::all();
		return $all[ $key ] ?? null;
	}

	/**
	 * True once the gateway URL, site id and publishable key are set.
	 */
	public static function configured(): bool {
		return '' !== self::get( 'gateway_url' ) && '' !== self::get( 'site_id' ) && '' !== self::get( 'publishable_key' );
	}

	/**
	 * The delivery mode for this request: `auto` means client when a full-page cache is on.
	 */
	public static function mode(): string {
		$mode = (string) self::get( 'mode' );
		if ( 'auto' === $mode ) {
			$mode = ( defined( 'WP_CACHE' ) && WP_CACHE ) ? 'client' : 'server';
		}
		return (string) apply_filters( 'slotwise_mode', $mode );
	}

	/**
	 * Sanitize a submitted settings array (the `sanitize_callback` of register_setting).
	 * An empty secret field keeps the stored secret, so the form never has to print it.
	 *
	 * @param mixed $input Raw input.
	 * @return array<string, mixed>
	 */
	public static function sanitize( $input ): array {
		$input   = is_array( $input ) ? $input : array();
		$current = self::all();
		$out     = self::defaults();

		$url = isset( $input['gateway_url'] ) ? trim( (string) $input['gateway_url'] ) : '';
		$url = untrailingslashit( esc_url_raw( $url, array( 'http', 'https' ) ) );
		if ( '' !== $url && ! self::safe_url( $url ) ) {
			// Keys would cross the network in clear text: keep the previous URL.
			if ( function_exists( 'add_settings_error' ) ) {
				add_settings_error( self::OPTION, 'slotwise_https', __( 'The gateway URL must use https (plain http only to this machine); the previous URL was kept.', 'slotwise' ) );
			}
			$url = (string) $current['gateway_url'];
		}
		$out['gateway_url'] = $url;

		foreach ( array( 'site_id', 'publishable_key' ) as $key ) {
			$out[ $key ] = isset( $input[ $key ] ) ? self::token( (string) $input[ $key ] ) : '';
		}
		$secret = isset( $input['secret_key'] ) ? self::token( (string) $input['secret_key'] ) : '';
		$out['secret_key'] = '' !== $secret ? $secret : (string) $current['secret_key'];
		if ( ! empty( $input['clear_secret'] ) ) {
			$out['secret_key'] = '';
		}
		// A stored secret belongs to the gateway it was typed for: a new origin without a newly
		// typed secret drops it, so it is never sent to another host.
		if ( '' === $secret && self::origin( $url ) !== self::origin( (string) $current['gateway_url'] ) ) {
			$out['secret_key'] = '';
		}

		$mode        = isset( $input['mode'] ) ? (string) $input['mode'] : 'auto';
		$out['mode'] = in_array( $mode, self::MODES, true ) ? $mode : 'auto';

		$budget           = isset( $input['budget_ms'] ) ? absint( $input['budget_ms'] ) : 150;
		$out['budget_ms'] = max( 20, min( 2000, $budget ) );

		$consent                = isset( $input['default_consent'] ) ? (string) $input['default_consent'] : '';
		$out['default_consent'] = in_array( $consent, self::CONSENT_LEVELS, true ) ? $consent : '';

		$out['events']      = ! empty( $input['events'] );
		$out['impressions'] = ! empty( $input['impressions'] );
		$out['forward_ip'] = ! empty( $input['forward_ip'] );

		$headers = isset( $input['geo_headers'] ) ? explode( ',', (string) $input['geo_headers'] ) : array();
		$headers = array_filter( array_map( array( self::class, 'header_name' ), $headers ) );
		$out['geo_headers'] = implode( ', ', array_unique( $headers ) );
		return $out;
	}

	/**
	 * The secret key for this server's calls, or '' when there is none for this gateway.
	 *
	 * `SLOTWISE_SECRET_KEY` in wp-config.php wins over the stored option (then the secret is
	 * never in the database), and is used only with the gateway origin named next to it in
	 * `SLOTWISE_SECRET_KEY_ORIGIN`. Either way it goes only to an https (or loopback) URL.
	 */
	public static function secret(): string {
		$url = (string) self::get( 'gateway_url' );
		if ( ! self::safe_url( $url ) ) {
			return '';
		}
		if ( defined( 'SLOTWISE_SECRET_KEY' ) ) {
			$origin = defined( 'SLOTWISE_SECRET_KEY_ORIGIN' ) ? self::origin( (string) SLOTWISE_SECRET_KEY_ORIGIN ) : '';
			return ( '' !== $origin && self::origin( $url ) === $origin ) ? self::token( (string) SLOTWISE_SECRET_KEY ) : '';
		}
		return (string) self::get( 'secret_key' );
	}

	/**
	 * Whether the secret comes from wp-config.php (the settings page then shows no field).
	 */
	public static function secret_from_config(): bool {
		return defined( 'SLOTWISE_SECRET_KEY' );
	}

	/**
	 * scheme://host[:port], lower-cased, default ports dropped ('' for no URL).
	 *
	 * @param string $url URL.
	 */
	public static function origin( string $url ): string {
		$parts = wp_parse_url( trim( $url ) );
		if ( ! is_array( $parts ) || ! isset( $parts['scheme'], $parts['host'] ) ) {
			return '';
		}
		$scheme = strtolower( $parts['scheme'] );
		$port   = isset( $parts['port'] ) ? (int) $parts['port'] : 0;
		$port   = ( 0 === $port || ( 'https' === $scheme && 443 === $port ) || ( 'http' === $scheme && 80 === $port ) ) ? '' : ':' . $port;
		return $scheme . '://' . strtolower( $parts['host'] ) . $port;
	}

	/**
	 * https, or http to this machine only (127.0.0.0/8, localhost, ::1).
	 *
	 * @param string $url URL.
	 */
	public static function safe_url( string $url ): bool {
		$parts = wp_parse_url( trim( $url ) );
		if ( ! is_array( $parts ) || ! isset( $parts['scheme'], $parts['host'] ) ) {
			return false;
		}
		$scheme   = strtolower( $parts['scheme'] );
		$host     = strtolower( trim( $parts['host'], '[]' ) );
		$loopback = 'localhost' === $host || '::1' === $host
			|| ( false !== filter_var( $host, FILTER_VALIDATE_IP, FILTER_FLAG_IPV4 ) && 0 === strpos( $host, '127.' ) );
		return 'https' === $scheme || ( 'http' === $scheme && $loopback );
	}

	/**
	 * Geo header names from the settings, e.g. array( 'CF-IPCountry' ).
	 *
	 * @return string[]
	 */
	public static function geo_headers(): array {
		return array_values( array_filter( array_map( array( self::class, 'header_name' ), explode( ',', (string) self::get( 'geo_headers' ) ) ) ) );
	}

	/**
	 * Keys and ids: printable ASCII without spaces or quotes.
	 *
	 * @param string $value Raw value.
	 */
	private static function token( string $value ): string {
		return (string) preg_replace( '/[^A-Za-z0-9_.:\-]/', '', trim( $value ) );
	}

	/**
	 * An HTTP header name, or '' when it is not one.
	 *
	 * @param string $value Raw value.
	 */
	public static function header_name( string $value ): string {
		$value = trim( $value );
		return preg_match( '/^[A-Za-z0-9\-]{1,64}$/', $value ) ? $value : '';
	}
}
