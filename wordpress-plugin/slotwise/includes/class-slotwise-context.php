<?php
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The request context a server-side render passes to the gateway, and the headers it forwards.
 *
 * @package Slotwise
 */

defined( 'ABSPATH' ) || exit;

/**
 * Pure functions of the visitor's request ($_SERVER) and the settings, so they are unit-tested.
 */
final class Slotwise_Context {

	/**
	 * Body `context` for /v1/render and /v1/events.
	 *
	 * @param array<string, mixed> $server  $_SERVER.
	 * @param string               $url     Current page URL.
	 * @param string|null          $item_id Item shown on this page (post/product id) or null.
	 * @param string               $consent Consent level ('' when unknown: the gateway's site default applies).
	 * @return array<string, mixed>
	 */
	public static function build( array $server, string $url, ?string $item_id, string $consent ): array {
		$context = array( 'url' => $url );
		$ua      = self::server_text( $server, 'HTTP_USER_AGENT', 512 );
		if ( '' !== $ua ) {
			$context['user_agent'] = $ua;
		}
		$lang = self::server_text( $server, 'HTTP_ACCEPT_LANGUAGE', 200 );
		if ( '' !== $lang ) {
			$context['language'] = $lang;
		}
		$referrer = self::server_text( $server, 'HTTP_REFERER', 2000 );
		if ( '' !== $referrer ) {
			$context['referrer'] = $referrer;
		}
		if ( in_array( $consent, Slotwise_Options::CONSENT_LEVELS, true ) ) {
			$context['consent'] = $consent;
		}
		if ( null !== $item_id && '' !== $item_id ) {
			$context['item_id'] = $item_id;
		}
		if ( '1' === self::server_text( $server, 'HTTP_SEC_GPC', 4 ) ) {
			$context['gpc'] = true;
		}
		return $context;
	}

	/**
	 * Headers forwarded to the gateway: the visitor's address (only useful when the WordPress host
	 * is among the gateway's trusted proxies), the configured CDN geo headers, Sec-GPC and the
	 * client hint for mobile.
	 *
	 * @param array<string, mixed> $server      $_SERVER.
	 * @param string[]             $geo_headers Header names, e.g. array( 'CF-IPCountry' ).
	 * @param bool                 $forward_ip  Send X-Forwarded-For.
	 * @return array<string, string>
	 */
	public static function headers( array $server, array $geo_headers, bool $forward_ip ): array {
		$out = array();
		if ( $forward_ip ) {
			$ip = self::server_text( $server, 'REMOTE_ADDR', 64 );
			if ( '' !== $ip && false !== filter_var( $ip, FILTER_VALIDATE_IP ) ) {
				$out['X-Forwarded-For'] = $ip;
			}
		}
		foreach ( $geo_headers as $name ) {
			$value = self::server_text( $server, 'HTTP_' . strtoupper( str_replace( '-', '_', $name ) ), 64 );
			if ( '' !== $value ) {
				$out[ $name ] = $value;
			}
		}
		foreach ( array( 'Sec-GPC' => 'HTTP_SEC_GPC', 'Sec-CH-UA-Mobile' => 'HTTP_SEC_CH_UA_MOBILE', 'DNT' => 'HTTP_DNT' ) as $name => $key ) {
			$value = self::server_text( $server, $key, 16 );
			if ( '' !== $value ) {
				$out[ $name ] = $value;
			}
		}
		return $out;
	}

	/**
	 * A $_SERVER value as bounded plain text without control characters.
	 *
	 * @param array<string, mixed> $server $_SERVER.
	 * @param string               $key    Key.
	 * @param int                  $max    Maximum length.
	 */
	public static function server_text( array $server, string $key, int $max ): string {
		if ( ! isset( $server[ $key ] ) || ! is_string( $server[ $key ] ) ) {
			return '';
		}
		$value = (string) preg_replace( '/[\x00-\x1F\x7F]/', '', $server[ $key ] );
		return substr( trim( $value ), 0, $max );
	}
}
