<?php
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Wiring: hooks for the block, shortcode, widget, visitor cookie, page buffer, client script, events.
 *
 * @package Slotwise
 */

defined( 'ABSPATH' ) || exit;

/**
 * The plugin's front-end life cycle for one request.
 */
final class Slotwise_Plugin {

	/**
	 * Page collector of this request.
	 *
	 * @var Slotwise_Page|null
	 */
	private static ?Slotwise_Page $page = null;

	/**
	 * Event queue of this request.
	 *
	 * @var Slotwise_Events|null
	 */
	private static ?Slotwise_Events $events = null;

	/**
	 * Visitor id of this request (null without consent for an identifier).
	 *
	 * @var string|null
	 */
	private static ?string $visitor_id = null;

	/**
	 * Register hooks.
	 */
	public static function init(): void {
		add_action( 'init', array( self::class, 'register' ) );
		add_action( 'widgets_init', array( self::class, 'register_widget' ) );
		add_action( 'template_redirect', array( self::class, 'begin' ), 1 );
		add_action( 'wp_footer', array( self::class, 'enqueue_client' ), 1 );
		add_filter( 'script_loader_tag', array( self::class, 'client_tag' ), 10, 2 );
		add_action( 'shutdown', array( self::class, 'end' ), 0 );
		add_action( 'woocommerce_add_to_cart', array( self::class, 'on_add_to_cart' ), 10, 4 );
		add_action( 'woocommerce_thankyou', array( self::class, 'on_thankyou' ) );
		add_filter( 'map_meta_cap', array( self::class, 'map_caps' ), 10, 2 );
		add_filter( 'the_content', array( self::class, 'shortcodes_before_autop' ), 9 );
		add_action( 'http_api_curl', array( 'Slotwise_Gateway', 'tune_curl' ), 10, 2 );
		add_action( 'requests-requests.before_request', array( 'Slotwise_Gateway', 'route_async' ), 10, 5 );
	}

	/**
	 * Block, shortcode and translations.
	 */
	public static function register(): void {
		load_plugin_textdomain( 'slotwise', false, dirname( plugin_basename( SLOTWISE_FILE ) ) . '/languages' );
		register_block_type( SLOTWISE_DIR . 'block' );
		register_block_type( SLOTWISE_DIR . 'block/variant' );
		add_shortcode( 'slotwise', array( self::class, 'shortcode' ) );
	}

	/**
	 * Classic widget.
	 */
	/**
	 * `slotwise_preview` (the secret-side editor preview) means `edit_others_posts` unless a
	 * site maps it otherwise (a later map_meta_cap filter, or a role given the capability).
	 *
	 * @param string[] $caps Primitive capabilities.
	 * @param string   $cap  Capability asked for.
	 * @return string[]
	 */
	public static function map_caps( $caps, $cap ): array {
		return 'slotwise_preview' === $cap ? array( 'edit_others_posts' ) : (array) $caps;
	}

	/**
	 * Runs the [slotwise] shortcode before `wpautop` (priority 10) in classic content.
	 *
	 * At do_shortcode's usual priority 11 wpautop has already split the enclosed fallback
	 * into paragraphs around the shortcode tags, so the slot's div ended up inside a <p> and
	 * the fallback began with "</p>". Rendered first, the slot is a block-level div that
	 * wpautop leaves alone; its fallback gets wpautop on its own.
	 *
	 * @param mixed $content Post content.
	 * @return mixed
	 */
	public static function shortcodes_before_autop( $content ) {
		if ( ! is_string( $content ) || false === strpos( $content, '[slotwise' ) ) {
			return $content;
		}
		self::$autop = false !== has_filter( 'the_content', 'wpautop' );
		$content     = (string) preg_replace_callback( '/' . get_shortcode_regex( array( 'slotwise' ) ) . '/', 'do_shortcode_tag', $content );
		self::$autop = false;
		return $content;
	}

	/**
	 * Whether the shortcode being rendered should wpautop its own fallback.
	 *
	 * @var bool
	 */
	private static bool $autop = false;

	public static function register_widget(): void {
		register_widget( 'Slotwise_Widget' );
	}

	/**
	 * The page collector (created on first use, so blocks rendered early still work).
	 */
	public static function page(): Slotwise_Page {
		if ( null === self::$page ) {
			$mode       = Slotwise_Options::configured() ? Slotwise_Options::mode() : 'client';
			self::$page = new Slotwise_Page( new Slotwise_Gateway(), $mode );
		}
		return self::$page;
	}

	/**
	 * The event queue.
	 */
	public static function events(): Slotwise_Events {
		if ( null === self::$events ) {
			self::$events = new Slotwise_Events( new Slotwise_Gateway() );
		}
		return self::$events;
	}

	/**
	 * Consent level of this visitor: the setting, then the `slotwise_consent` filter, so a consent
	 * plugin can say 'none', 'anonymous' or 'full' ('' leaves it to the gateway's site default).
	 */
	public static function consent(): string {
		$level = (string) apply_filters( 'slotwise_consent', (string) Slotwise_Options::get( 'default_consent' ) );
		return in_array( $level, Slotwise_Options::CONSENT_LEVELS, true ) ? $level : '';
	}

	/**
	 * Item id of the current page: the post, product or custom post shown (pages are not
	 * catalog items), else null; the `slotwise_item_id` filter can say otherwise.
	 */
	public static function item_id(): ?string {
		$id = ( is_singular() && ! is_page() ) ? (int) get_queried_object_id() : 0;
		return (string) apply_filters( 'slotwise_item_id', $id > 0 ? (string) $id : '' ) ?: null;
	}

	/**
	 * Front-end request start: visitor cookie, render context, page buffer, view event.
	 */
	public static function begin(): void {
		if ( is_admin() || wp_doing_ajax() || is_feed() || ! Slotwise_Options::configured() ) {
			return;
		}
		$page = self::page();
		if ( 'esi' === $page->mode() ) {
			// One shell for everyone: Varnish keeps the visitor cookie and asks the gateway. Held
			// in the buffer only so that content filters cannot rewrite the include tags.
			$page->start();
			return;
		}
		$consent  = self::consent();
		$decision = Slotwise_Visitor::decide( $_COOKIE, $consent, $page->mode(), is_ssl() );
		self::$visitor_id = $decision['id'];
		$page->request    = array(
			'context'    => Slotwise_Context::build( $_SERVER, self::current_url(), self::item_id(), $consent ),
			'headers'    => Slotwise_Context::headers( $_SERVER, Slotwise_Options::geo_headers(), (bool) Slotwise_Options::get( 'forward_ip' ) ),
			'visitor_id' => self::$visitor_id,
		);
		if ( 'server' !== $page->mode() ) {
			self::set_cookie( $decision['cookie'] );
			return;
		}
		// Only a page that turns out to hold a slot gets the cookie, the private caching headers
		// and the view event; the page is held in the buffer anyway, so this is decided there.
		// With impressions on, client.js runs on server-rendered pages too: it reads the visitor
		// cookie (so not HttpOnly) and sends the page view itself (so the server does not).
		$impressions = (bool) Slotwise_Options::get( 'impressions' );
		if ( $impressions && null !== $decision['cookie'] && $decision['cookie']['value'] !== '' ) {
			$decision['cookie']['options']['httponly'] = false;
		}
		$page->on_slots = static function () use ( $decision, $impressions ): void {
			self::set_cookie( $decision['cookie'] );
			if ( ! headers_sent() ) {
				// Personalized HTML must not be shared by caches between visitors.
				header( 'Cache-Control: private, no-cache' );
				header( 'Vary: Cookie, User-Agent', false );
			}
			if ( Slotwise_Options::get( 'events' ) && ! $impressions ) {
				// A post, product or custom post is a catalog item (as client.js treats it, too).
				$item = self::item_id();
				self::events()->add( self::$visitor_id, null === $item ? 'page_view' : 'item_view', null === $item ? array() : array( 'item_id' => $item ) );
			}
		};
		// A known visitor's view of a catalog item still counts on a page without a slot (it feeds
		// the recommendations); nothing is set or sent for anyone else there.
		$known = Slotwise_Visitor::from_cookies( $_COOKIE );
		$item  = self::item_id();
		if ( null !== $known && null !== $item && null !== $decision['id'] && Slotwise_Options::get( 'events' ) ) {
			self::$item_view_without_slots = array( $known, $item );
		}
		$page->start();
	}

	/**
	 * [visitor id, item id] of an item view to send if the page turns out to have no slot.
	 *
	 * @var array{0: string, 1: string}|null
	 */
	private static ?array $item_view_without_slots = null;

	/**
	 * Set the visitor cookie a decision asks for, unless headers are out or a filter says no.
	 *
	 * @param array<string, mixed>|null $cookie Slotwise_Visitor::decide()'s cookie.
	 */
	private static function set_cookie( ?array $cookie ): void {
		if ( null !== $cookie && ! headers_sent() && apply_filters( 'slotwise_set_cookie', true ) ) {
			setcookie( $cookie['name'], $cookie['value'], $cookie['options'] );
		}
	}

	/**
	 * Client mode: the gateway's client.js, once, in the footer.
	 */
	public static function enqueue_client(): void {
		if ( ! Slotwise_Options::configured() ) {
			return;
		}
		$mode = self::page()->mode();
		if ( 'server' === $mode ) {
			// Impressions and clicks of server-rendered blocks (their data-slotwise-* attributes).
			if ( ! Slotwise_Options::get( 'impressions' ) || 0 === self::page()->count() ) {
				return;
			}
		} elseif ( 'client' !== $mode || ( 0 === self::page()->count() && ! Slotwise_Options::get( 'events' ) ) ) {
			return;
		}
		$src = untrailingslashit( (string) Slotwise_Options::get( 'gateway_url' ) ) . '/v1/client.js';
		wp_enqueue_script( 'slotwise-client', $src, array(), null, true );
		if ( self::page()->count() > 0 ) {
			// client.js comes from the gateway: when the gateway is down it never runs, so the
			// page itself settles its placeholders on the fallback when the script fails to load,
			// or after the client's timeout when it hangs.
			wp_add_inline_script(
				'slotwise-client',
				sprintf(
					'(function(){function f(){[].forEach.call(document.querySelectorAll(\'[data-slotwise-state="pending"]\'),function(n){n.setAttribute("data-slotwise-state","fallback")})}'
					. 'document.addEventListener("error",function(e){if(e.target&&e.target.id==="slotwise-client-js")f()},true);setTimeout(f,%d)})();',
					self::client_timeout() + 500
				),
				'before'
			);
		}
	}

	/**
	 * Data attributes and `async` on the client script tag (WordPress 6.1 has no API for them).
	 *
	 * @param string $tag    Script tag.
	 * @param string $handle Handle.
	 */
	public static function client_tag( string $tag, string $handle ): string {
		if ( 'slotwise-client' !== $handle ) {
			return $tag;
		}
		$attrs = sprintf(
			' data-site="%s" data-key="%s" data-timeout="%d" async',
			esc_attr( (string) Slotwise_Options::get( 'site_id' ) ),
			esc_attr( (string) Slotwise_Options::get( 'publishable_key' ) ),
			self::client_timeout()
		);
		// The site's default only: a cached page is shared, so a visitor's own choice reaches
		// client.js in the browser (Slotwise.setConsent(), its cookie, or window.slotwiseContext).
		$consent = (string) Slotwise_Options::get( 'default_consent' );
		if ( in_array( $consent, Slotwise_Options::CONSENT_LEVELS, true ) ) {
			$attrs .= sprintf( ' data-consent="%s"', esc_attr( $consent ) );
		}
		$item = self::item_id();
		if ( null !== $item ) {
			$attrs .= sprintf( ' data-slotwise-item-id="%s"', esc_attr( $item ) );
		}
		// The tag also holds the inline fallback timer: the attributes go on the one with src.
		return (string) preg_replace( '/<script (?=[^>]*\bsrc=)/', '<script' . $attrs . ' ', $tag, 1 );
	}

	/**
	 * client.js's own time limit for the render call, in milliseconds.
	 */
	private static function client_timeout(): int {
		return (int) max( 1000, (int) Slotwise_Options::get( 'budget_ms' ) * 10 );
	}

	/**
	 * Shutdown: finish the page buffer first (the render call happens there), then send events.
	 */
	public static function end(): void {
		if ( null === self::$page ) {
			return;
		}
		if ( self::$page->holding() ) {
			// Hand the visitor the whole page: our buffer's render call runs here, and with it
			// the decision whether this page had a slot (and so a view event) at all.
			wp_ob_end_flush_all();
			flush();
			if ( null !== self::$page->on_slots && null !== self::$item_view_without_slots ) {
				self::events()->add( self::$item_view_without_slots[0], 'item_view', array( 'item_id' => self::$item_view_without_slots[1] ) );
			}
		}
		if ( null !== self::$events && array() !== self::$events->pending() ) {
			if ( function_exists( 'fastcgi_finish_request' ) ) {
				fastcgi_finish_request();
			}
			self::$events->flush( self::$page->request['context'], self::$page->request['headers'] );
		}
	}

	/**
	 * WooCommerce add-to-cart hook.
	 *
	 * @param string $cart_item_key Cart line key.
	 * @param int    $product_id    Product id.
	 * @param int    $quantity      Quantity.
	 * @param int    $variation_id  Variation id.
	 */
	public static function on_add_to_cart( $cart_item_key, $product_id, $quantity = 1, $variation_id = 0 ): void {
		if ( ! Slotwise_Options::configured() || ! Slotwise_Options::get( 'events' ) ) {
			return;
		}
		self::ensure_request();
		self::events()->add( self::$visitor_id, 'add_to_cart', array( 'item_id' => (string) absint( $product_id ), 'quantity' => max( 1, (int) $quantity ) ) );
	}

	/**
	 * WooCommerce thank-you page hook: purchases.
	 *
	 * @param int $order_id Order id.
	 */
	public static function on_thankyou( $order_id ): void {
		if ( ! Slotwise_Options::configured() || ! Slotwise_Options::get( 'events' ) || ! function_exists( 'wc_get_order' ) ) {
			return;
		}
		self::ensure_request();
		self::events()->add_order( self::$visitor_id, wc_get_order( absint( $order_id ) ) );
	}

	/**
	 * AJAX add-to-cart skips template_redirect: resolve visitor and context here.
	 */
	private static function ensure_request(): void {
		$page = self::page();
		if ( ! empty( $page->request['context'] ) ) {
			return;
		}
		$consent          = self::consent();
		self::$visitor_id = 'none' === $consent ? null : Slotwise_Visitor::from_cookies( $_COOKIE );
		$page->request    = array(
			'context'    => Slotwise_Context::build( $_SERVER, self::current_url(), null, $consent ),
			'headers'    => Slotwise_Context::headers( $_SERVER, Slotwise_Options::geo_headers(), (bool) Slotwise_Options::get( 'forward_ip' ) ),
			'visitor_id' => self::$visitor_id,
		);
	}

	/**
	 * Shortcode `[slotwise slot="name"]fallback[/slotwise]`.
	 *
	 * @param array<string, string>|string $atts    Attributes.
	 * @param string|null                  $content Fallback content.
	 */
	public static function shortcode( $atts, $content = null ): string {
		$atts     = shortcode_atts( array( 'slot' => '' ), is_array( $atts ) ? $atts : array(), 'slotwise' );
		$content  = do_shortcode( (string) $content );
		$fallback = wp_kses_post( self::$autop ? wpautop( $content ) : $content );
		return self::page()->placeholder( sanitize_text_field( $atts['slot'] ), $fallback, 'slotwise-shortcode' );
	}

	/**
	 * URL of the current request.
	 */
	private static function current_url(): string {
		$host = isset( $_SERVER['HTTP_HOST'] ) ? sanitize_text_field( wp_unslash( (string) $_SERVER['HTTP_HOST'] ) ) : '';
		$uri  = isset( $_SERVER['REQUEST_URI'] ) ? wp_unslash( (string) $_SERVER['REQUEST_URI'] ) : '/';
		if ( '' === $host || '/' !== substr( $uri, 0, 1 ) ) {
			return home_url( '/' );
		}
		return esc_url_raw( ( is_ssl() ? 'https://' : 'http://' ) . $host . $uri );
	}
}
