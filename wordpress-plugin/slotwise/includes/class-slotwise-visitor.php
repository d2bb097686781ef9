<?php
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The visitor id cookie `slotwise_vid`, set by PHP with Set-Cookie.
 *
 * Browsers cap the lifetime of cookies written by JavaScript (Safari: 7 days), so the id lives in
 * a first-party cookie sent from the server. With consent `none` no identifying cookie is set,
 * and an existing one is deleted.
 *
 * @package Slotwise
 */

defined( 'ABSPATH' ) || exit;

/**
 * Visitor id: read, validate, mint, and the cookie's attributes.
 */
final class Slotwise_Visitor {

	const COOKIE   = 'slotwise_vid';
	const LIFETIME = 31536000; // One year.
	const PATTERN  = '/^[A-Za-z0-9_.:\-]{1,128}$/';

	/**
	 * A valid id from the request cookies, or null (a tampered value is ignored).
	 *
	 * @param array<string, mixed> $cookies $_COOKIE.
	 */
	public static function from_cookies( array $cookies ): ?string {
		$value = isset( $cookies[ self::COOKIE ] ) && is_string( $cookies[ self::COOKIE ] ) ? $cookies[ self::COOKIE ] : '';
		return preg_match( self::PATTERN, $value ) ? $value : null;
	}

	/**
	 * A new random id (32 hex characters, like the gateway's own).
	 */
	public static function mint(): string {
		return bin2hex( random_bytes( 16 ) );
	}

	/**
	 * Decide the visitor id and the cookie to send for this request.
	 *
	 * @param array<string, mixed> $cookies $_COOKIE.
	 * @param string               $consent Consent level ('' = the site default, which allows an id).
	 * @param string               $mode    Delivery mode: server or client.
	 * @param bool                 $https   Whether the page is served over HTTPS.
	 * @return array{id: ?string, cookie: ?array{name: string, value: string, options: array<string, mixed>}}
	 */
	public static function decide( array $cookies, string $consent, string $mode, bool $https ): array {
		$existing = self::from_cookies( $cookies );
		if ( 'none' === $consent ) {
			$delete = null;
			if ( isset( $cookies[ self::COOKIE ] ) ) {
				$delete = array( 'name' => self::COOKIE, 'value' => '', 'options' => self::options( $mode, $https, -1 ) );
			}
			return array( 'id' => null, 'cookie' => $delete );
		}
		if ( 'client' === $mode && null === $existing ) {
			// A brand-new visitor on a possibly cached page: client.js obtains the id, and the next
			// uncached response re-issues it from here with the full lifetime.
			return array( 'id' => null, 'cookie' => null );
		}
		$id = $existing ?? self::mint();
		return array(
			'id'     => $id,
			'cookie' => array( 'name' => self::COOKIE, 'value' => $id, 'options' => self::options( $mode, $https, self::LIFETIME ) ),
		);
	}

	/**
	 * Cookie attributes: HttpOnly in server mode (no script needs it), readable by client.js in
	 * client mode; SameSite=Lax always; Secure on HTTPS.
	 *
	 * @param string $mode     server or client.
	 * @param bool   $https    HTTPS page.
	 * @param int    $lifetime Seconds (negative deletes).
	 * @return array<string, mixed>
	 */
	public static function options( string $mode, bool $https, int $lifetime ): array {
		return array(
			'expires'  => $lifetime < 0 ? 1 : time() + $lifetime,
			'path'     => '/',
			'secure'   => $https,
			'httponly' => 'client' !== $mode,
			'samesite' => 'Lax',
		);
	}
}
