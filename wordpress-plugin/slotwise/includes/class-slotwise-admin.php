<?php
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Settings → Slotwise: gateway, keys, delivery mode, time budget, and a connection test.
 *
 * @package Slotwise
 */

defined( 'ABSPATH' ) || exit;

/**
 * Settings page (Settings API: options.php checks the nonce and manage_options).
 */
final class Slotwise_Admin {

	const PAGE = 'slotwise';

	/**
	 * Register hooks.
	 */
	public static function init(): void {
		add_action( 'admin_menu', array( self::class, 'menu' ) );
		add_action( 'admin_init', array( self::class, 'settings' ) );
		add_action( 'admin_post_slotwise_test', array( self::class, 'test_connection' ) );
		add_filter( 'plugin_action_links_' . plugin_basename( SLOTWISE_FILE ), array( self::class, 'action_links' ) );
	}

	/**
	 * Menu entry.
	 */
	public static function menu(): void {
		add_options_page( __( 'Slotwise', 'slotwise' ), __( 'Slotwise', 'slotwise' ), 'manage_options', self::PAGE, array( self::class, 'render' ) );
	}

	/**
	 * "Settings" link on the plugins screen.
	 *
	 * @param string[] $links Links.
	 * @return string[]
	 */
	public static function action_links( array $links ): array {
		$url = admin_url( 'options-general.php?page=' . self::PAGE );
		array_unshift( $links, '<a href="' . esc_url( $url ) . '">' . esc_html__( 'Settings', 'slotwise' ) . '</a>' );
		return $links;
	}

	/**
	 * Setting registration.
	 */
	public static function settings(): void {
		register_setting(
			'slotwise',
			Slotwise_Options::OPTION,
			array(
				'type'              => 'array',
				'sanitize_callback' => array( 'Slotwise_Options', 'sanitize' ),
				'default'           => Slotwise_Options::defaults(),
				'show_in_rest'      => false,
			)
		);
	}

	/**
	 * admin-post handler of the "Test connection" button.
	 */
	public static function test_connection(): void {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'You are not allowed to do this.', 'slotwise' ), 403 );
		}
		check_admin_referer( 'slotwise_test' );
		$result = ( new Slotwise_Gateway() )->health();
		set_transient( 'slotwise_test_' . get_current_user_id(), $result, 60 );
		delete_transient( 'slotwise_slots' );
		wp_safe_redirect( admin_url( 'options-general.php?page=' . self::PAGE . '&slotwise-tested=1' ) );
		exit;
	}

	/**
	 * The page.
	 */
	public static function render(): void {
		if ( ! current_user_can( 'manage_options' ) ) {
			return;
		}
		$o      = Slotwise_Options::all();
		$name   = Slotwise_Options::OPTION;
		$result = get_transient( 'slotwise_test_' . get_current_user_id() );
		?>
		<div class="wrap">
			<h1><?php esc_html_e( 'Slotwise', 'slotwise' ); ?></h1>
			<?php if ( is_array( $result ) ) : ?>
				<?php delete_transient( 'slotwise_test_' . get_current_user_id() ); ?>
				<div class="notice <?php echo esc_attr( $result['ok'] ? 'notice-success' : 'notice-error' ); ?> is-dismissible" id="slotwise-test-result">
					<p>
						<?php
						printf(
							/* translators: 1: OK or failed, 2: milliseconds, 3: message */
							esc_html__( 'Connection %1$s in %2$d ms. %3$s', 'slotwise' ),
							$result['ok'] ? esc_html__( 'OK', 'slotwise' ) : esc_html__( 'failed', 'slotwise' ),
							(int) $result['ms'],
							esc_html( (string) $result['message'] )
						);
						?>
					</p>
				</div>
			<?php endif; ?>
			<form method="post" action="options.php">
				<?php settings_fields( 'slotwise' ); ?>
				<table class="form-table" role="presentation">
					<tr>
						<th scope="row"><label for="slotwise-gateway"><?php esc_html_e( 'Gateway URL', 'slotwise' ); ?></label></th>
						<td><input type="url" class="regular-text" id="slotwise-gateway" name="<?php echo esc_attr( $name ); ?>[gateway_url]" value="<?php echo esc_attr( $o['gateway_url'] ); ?>" placeholder="https://gateway.example.com" /></td>
					</tr>
					<tr>
						<th scope="row"><label for="slotwise-site"><?php esc_html_e( 'Site id', 'slotwise' ); ?></label></th>
						<td><input type="text" class="regular-text" id="slotwise-site" name="<?php echo esc_attr( $name ); ?>[site_id]" value="<?php echo esc_attr( $o['site_id'] ); ?>" /></td>
					</tr>
					<tr>
						<th scope="row"><label for="slotwise-pk"><?php esc_html_e( 'Publishable key', 'slotwise' ); ?></label></th>
						<td><input type="text" class="regular-text" id="slotwise-pk" name="<?php echo esc_attr( $name ); ?>[publishable_key]" value="<?php echo esc_attr( $o['publishable_key'] ); ?>" />
						<p class="description"><?php esc_html_e( 'Sent to browsers in client mode.', 'slotwise' ); ?></p></td>
					</tr>
					<tr>
						<th scope="row"><label for="slotwise-sk"><?php esc_html_e( 'Secret key', 'slotwise' ); ?></label></th>
						<td><?php if ( Slotwise_Options::secret_from_config() ) : ?>
						<p><?php echo '' !== Slotwise_Options::secret() ? esc_html__( 'Set in wp-config.php (SLOTWISE_SECRET_KEY) for this gateway.', 'slotwise' ) : esc_html__( 'Set in wp-config.php, but SLOTWISE_SECRET_KEY_ORIGIN is not this gateway\'s origin (or the URL is not https): not sent.', 'slotwise' ); ?></p>
						<?php else : ?>
						<input type="password" class="regular-text" id="slotwise-sk" name="<?php echo esc_attr( $name ); ?>[secret_key]" value="" autocomplete="off" placeholder="<?php echo '' !== $o['secret_key'] ? esc_attr__( '(stored; leave empty to keep)', 'slotwise' ) : ''; ?>" />
						<label><input type="checkbox" name="<?php echo esc_attr( $name ); ?>[clear_secret]" value="1" /> <?php esc_html_e( 'Remove the stored secret', 'slotwise' ); ?></label>
						<?php endif; ?>
						<p class="description"><?php esc_html_e( 'Used only by this server (events, editor previews); never sent to browsers. Changing the gateway URL to another origin removes a stored secret. Better: define SLOTWISE_SECRET_KEY and SLOTWISE_SECRET_KEY_ORIGIN in wp-config.php.', 'slotwise' ); ?></p></td>
					</tr>
					<tr>
						<th scope="row"><?php esc_html_e( 'Delivery mode', 'slotwise' ); ?></th>
						<td>
							<?php
							$modes = array(
								'server' => __( 'Server: rendered into the page by WordPress within the time budget', 'slotwise' ),
								'client' => __( 'Client: placeholders filled in the browser (works behind full-page caches)', 'slotwise' ),
								'esi'    => __( 'Edge (ESI): <esi:include> tags that Varnish fills from the gateway (deploy/varnish/slotwise.vcl)', 'slotwise' ),
								'auto'   => __( 'Auto: client when a page cache is active (WP_CACHE), else server', 'slotwise' ),
							);
							foreach ( $modes as $value => $label ) :
								?>
								<label><input type="radio" name="<?php echo esc_attr( $name ); ?>[mode]" value="<?php echo esc_attr( $value ); ?>" <?php checked( $o['mode'], $value ); ?> /> <?php echo esc_html( $label ); ?></label><br />
							<?php endforeach; ?>
						</td>
					</tr>
					<tr>
						<th scope="row"><label for="slotwise-budget"><?php esc_html_e( 'Time budget (ms)', 'slotwise' ); ?></label></th>
						<td><input type="number" min="20" max="2000" step="10" id="slotwise-budget" name="<?php echo esc_attr( $name ); ?>[budget_ms]" value="<?php echo esc_attr( (string) $o['budget_ms'] ); ?>" />
						<p class="description"><?php esc_html_e( 'After this the page shows the fallback content.', 'slotwise' ); ?></p></td>
					</tr>
					<tr>
						<th scope="row"><label for="slotwise-consent"><?php esc_html_e( 'Default consent', 'slotwise' ); ?></label></th>
						<td><select id="slotwise-consent" name="<?php echo esc_attr( $name ); ?>[default_consent]">
							<option value="" <?php selected( $o['default_consent'], '' ); ?>><?php esc_html_e( "The gateway's site default", 'slotwise' ); ?></option>
							<option value="none" <?php selected( $o['default_consent'], 'none' ); ?>><?php esc_html_e( 'None: no cookie, context only', 'slotwise' ); ?></option>
							<option value="anonymous" <?php selected( $o['default_consent'], 'anonymous' ); ?>><?php esc_html_e( 'Anonymous: cookie, no profile', 'slotwise' ); ?></option>
							<option value="full" <?php selected( $o['default_consent'], 'full' ); ?>><?php esc_html_e( 'Full: profile and experiments', 'slotwise' ); ?></option>
						</select>
						<p class="description"><?php esc_html_e( 'A consent plugin can change it per visitor with the slotwise_consent filter.', 'slotwise' ); ?></p></td>
					</tr>
					<tr>
						<th scope="row"><?php esc_html_e( 'Events', 'slotwise' ); ?></th>
						<td><label><input type="checkbox" name="<?php echo esc_attr( $name ); ?>[events]" value="1" <?php checked( (bool) $o['events'] ); ?> /> <?php esc_html_e( 'Send page views, item views, add-to-cart and purchases', 'slotwise' ); ?></label><br />
						<label><input type="checkbox" name="<?php echo esc_attr( $name ); ?>[impressions]" value="1" <?php checked( (bool) $o['impressions'] ); ?> /> <?php esc_html_e( "Server mode: load the gateway's client.js on pages with slots, for impressions and clicks (it then sends the page view, and the visitor cookie is readable by it)", 'slotwise' ); ?></label></td>
					</tr>
					<tr>
						<th scope="row"><label for="slotwise-geo"><?php esc_html_e( 'Trusted geo headers', 'slotwise' ); ?></label></th>
						<td><input type="text" class="regular-text" id="slotwise-geo" name="<?php echo esc_attr( $name ); ?>[geo_headers]" value="<?php echo esc_attr( $o['geo_headers'] ); ?>" />
						<p class="description"><?php esc_html_e( 'Comma-separated CDN headers passed on to the gateway, e.g. CF-IPCountry.', 'slotwise' ); ?></p>
						<label><input type="checkbox" name="<?php echo esc_attr( $name ); ?>[forward_ip]" value="1" <?php checked( (bool) $o['forward_ip'] ); ?> /> <?php esc_html_e( "Forward the visitor's IP address (X-Forwarded-For; the gateway must trust this server)", 'slotwise' ); ?></label></td>
					</tr>
				</table>
				<?php submit_button(); ?>
			</form>
			<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
				<input type="hidden" name="action" value="slotwise_test" />
				<?php wp_nonce_field( 'slotwise_test' ); ?>
				<?php submit_button( __( 'Test connection', 'slotwise' ), 'secondary', 'slotwise-test', false ); ?>
			</form>
		</div>
		<?php
	}
}
