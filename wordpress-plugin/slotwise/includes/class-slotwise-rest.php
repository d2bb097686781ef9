<?php
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * REST routes for the block editor: the gateway's slot list and a preview for a sample context.
 *
 * The preview calls the gateway with the SECRET key (needed for `context.simulate`), from this
 * server only: the editor's browser talks to WordPress (cookie + wp_rest nonce, edit_posts),
 * never to the gateway with the secret.
 *
 * @package Slotwise
 */

defined( 'ABSPATH' ) || exit;

/**
 * Routes under /wp-json/slotwise/v1.
 */
final class Slotwise_Rest {

	const DEVICES  = array( 'mobile', 'tablet', 'desktop' );
	const WEEKDAYS = array( 'mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun' );
	const NEUTRAL_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

	/**
	 * Register hooks.
	 */
	public static function init(): void {
		add_action( 'rest_api_init', array( self::class, 'routes' ) );
	}

	/**
	 * Only people who can edit posts may use these routes.
	 */
	public static function can_edit(): bool {
		return current_user_can( 'edit_posts' );
	}

	/**
	 * The preview renders with the secret key, which lets the gateway simulate any context:
	 * for editors and administrators only (contributors and authors get a plain preview). Sites can map the
	 * `slotwise_preview` capability to other roles; it defaults to `edit_others_posts`.
	 */
	public static function can_preview(): bool {
		return current_user_can( 'slotwise_preview' );
	}

	/**
	 * Route registration.
	 */
	public static function routes(): void {
		register_rest_route(
			'slotwise/v1',
			'/slots',
			array(
				'methods'             => 'GET',
				'callback'            => array( self::class, 'slots' ),
				'permission_callback' => array( self::class, 'can_edit' ),
			)
		);
		register_rest_route(
			'slotwise/v1',
			'/preview',
			array(
				'methods'             => 'POST',
				'callback'            => array( self::class, 'preview' ),
				'permission_callback' => array( self::class, 'can_edit' ),
				'args'                => array(
					'slot'     => array( 'type' => 'string', 'required' => true, 'pattern' => '^[A-Za-z0-9_.:\-]{1,64}$' ),
					'device'   => array( 'type' => 'string', 'enum' => array_merge( array( '' ), self::DEVICES ), 'default' => '' ),
					'country'  => array( 'type' => 'string', 'pattern' => '^([A-Za-z]{2})?$', 'default' => '' ),
					'hour'     => array( 'type' => 'integer', 'minimum' => -1, 'maximum' => 23, 'default' => -1 ),
					'weekday'  => array( 'type' => 'string', 'enum' => array_merge( array( '' ), self::WEEKDAYS ), 'default' => '' ),
				),
			)
		);
	}

	/**
	 * GET /slotwise/v1/slots: cached for five minutes.
	 *
	 * @return WP_REST_Response|WP_Error
	 */
	public static function slots() {
		$slots = get_transient( 'slotwise_slots' );
		if ( ! is_array( $slots ) ) {
			$gateway = new Slotwise_Gateway();
			$slots   = $gateway->slots();
			if ( null === $slots ) {
				return new WP_Error( 'slotwise_gateway', $gateway->last_error, array( 'status' => 502 ) );
			}
			set_transient( 'slotwise_slots', $slots, 5 * MINUTE_IN_SECONDS );
		}
		return rest_ensure_response( array( 'slots' => $slots ) );
	}

	/**
	 * POST /slotwise/v1/preview: one slot rendered for a simulated context.
	 *
	 * @param WP_REST_Request $request Request.
	 * @return WP_REST_Response|WP_Error
	 */
	public static function preview( $request ) {
		$simulate = self::simulate( (string) $request['device'], (string) $request['country'], (int) $request['hour'], (string) $request['weekday'] );
		// The editor's own browser is the base context ("as detected"); with a simulated device a
		// plain browser stands in, since gateways never simulate for bots (a headless browser, or
		// WordPress's own HTTP client when no user agent is passed).
		$ua      = Slotwise_Context::server_text( $_SERVER, 'HTTP_USER_AGENT', 512 );
		$context = array(
			'url'        => home_url( '/' ),
			'consent'    => 'anonymous',
			'user_agent' => ( '' === $ua || isset( $simulate['device'] ) ) ? self::NEUTRAL_UA : $ua,
		);
		if ( ! empty( $simulate ) ) {
			$context['simulate'] = $simulate;
		}
		$gateway = new Slotwise_Gateway();
		// Contributors and authors get a preview with the publishable key (no simulation).
		$secret  = '' !== Slotwise_Options::secret() && self::can_preview();
		$result  = $gateway->render( array( (string) $request['slot'] ), $context, array(), null, $secret );
		if ( null === $result ) {
			return new WP_Error( 'slotwise_gateway', $gateway->last_error, array( 'status' => 502 ) );
		}
		$block = $result['blocks'][ (string) $request['slot'] ] ?? null;
		return rest_ensure_response(
			array(
				'html'     => null === $block ? '' : Slotwise_Page::kses( $block['html'] ),
				'variant'  => null === $block ? null : ( $block['variant'] ?? null ),
				'segments' => null === $block ? array() : ( $block['segments'] ?? array() ),
				'simulated' => $secret,
			)
		);
	}

	/**
	 * The `simulate` object the gateway understands, from the editor's choices.
	 *
	 * @param string $device  mobile, tablet, desktop or ''.
	 * @param string $country ISO-2 or ''.
	 * @param int    $hour    0-23 or -1.
	 * @param string $weekday mon..sun or ''.
	 * @return array<string, mixed>
	 */
	public static function simulate( string $device, string $country, int $hour, string $weekday ): array {
		$out = array();
		if ( in_array( $device, self::DEVICES, true ) ) {
			$out['device'] = $device;
		}
		if ( preg_match( '/^[A-Za-z]{2}$/', $country ) ) {
			$out['country'] = strtoupper( $country );
		}
		if ( $hour >= 0 && $hour <= 23 ) {
			$out['hour'] = $hour;
		}
		if ( in_array( $weekday, self::WEEKDAYS, true ) ) {
			$out['weekday'] = $weekday;
		}
		return $out;
	}
}
