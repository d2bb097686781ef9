<?php
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * One page's slots: placeholders while the page is built, one render call when it is done.
 *
 * Server mode: blocks, shortcodes and widgets leave a marker and register their slot; the page is
 * held in an output buffer, and when it is complete one POST /v1/render asks for every slot at
 * once (never one call per block). Markers become the gateway's HTML, or the fallback when the
 * gateway is slow, down or answers nonsense. Client mode: placeholders with the fallback inside,
 * swapped by the gateway's client.js in the browser (full-page caches keep working).
 *
 * @package Slotwise
 */

defined( 'ABSPATH' ) || exit;

/**
 * Slot collector and substituter for the current request.
 */
class Slotwise_Page {

	const SLOT_PATTERN = '/^[A-Za-z0-9_.:\-]{1,64}$/';

	/**
	 * Collected placeholders: index => array( slot, fallback html, css class ).
	 *
	 * @var array<int, array{0: string, 1: string, 2: string}>
	 */
	private array $slots = array();

	/**
	 * Whether the output buffer is active (server mode).
	 *
	 * @var bool
	 */
	private bool $buffering = false;

	/**
	 * Random per-request marker prefix, so page content cannot forge a marker.
	 *
	 * @var string
	 */
	private string $token;

	/**
	 * Request data for the render call: context, headers, visitor_id.
	 *
	 * @var array{context: array<string, mixed>, headers: array<string, string>, visitor_id: ?string}
	 */
	public array $request = array( 'context' => array(), 'headers' => array(), 'visitor_id' => null );

	/**
	 * Render calls made (one per page; tests and the debug comment read it).
	 *
	 * @var int
	 */
	public int $calls = 0;

	/**
	 * Called once, inside the output buffer, when the page turns out to hold a slot: what
	 * only such pages do (visitor cookie, private caching headers, the view event).
	 *
	 * @var callable|null
	 */
	public $on_slots = null;

	/**
	 * Constructor.
	 *
	 * @param Slotwise_Gateway $gateway Gateway client.
	 * @param string           $mode    server or client.
	 */
	public function __construct( private Slotwise_Gateway $gateway, private string $mode ) {
		$this->token = bin2hex( random_bytes( 6 ) );
	}

	/**
	 * Delivery mode of this page.
	 */
	public function mode(): string {
		return $this->mode;
	}

	/**
	 * Number of placeholders printed so far.
	 */
	public function count(): int {
		return count( $this->slots );
	}

	/**
	 * Markup for one slot. `$fallback` must already be safe HTML (wp_kses_post'ed by the caller).
	 *
	 * @param string $slot     Slot name.
	 * @param string $fallback Safe fallback HTML.
	 * @param string $classes  Extra CSS classes for the wrapper.
	 */
	public function placeholder( string $slot, string $fallback, string $classes = '' ): string {
		if ( ! preg_match( self::SLOT_PATTERN, $slot ) ) {
			return $fallback;
		}
		if ( 'esi' === $this->mode && ! $this->buffering ) {
			return $this->esi( $slot, $fallback, $classes );
		}
		$index           = count( $this->slots );
		$this->slots[]   = array( $slot, $fallback, $classes );
		if ( 'server' === $this->mode || 'esi' === $this->mode ) {
			// Outside the page buffer (feeds, REST renders of content) nothing will fill it in.
			return $this->buffering ? $this->marker( $index ) : $this->wrap( $slot, $fallback, $classes, 'fallback' );
		}
		return $this->wrap( $slot, $fallback, $classes, 'pending' );
	}

	/**
	 * Edge mode: an `<esi:include>` of the gateway's fragment route, which Varnish fills per
	 * visitor (deploy/varnish/slotwise.vcl adds the visitor id and consent). The publishable
	 * key only; `fallback` percent-encoded (%20, never +) for the VCL to serve when the fragment
	 * fails, left out above 2 KiB. `&` stays raw: Varnish reads `src` literally. The same markup
	 * as `slotwise.gateway.edge.esi.esi_include`.
	 *
	 * @param string $slot     Slot name.
	 * @param string $fallback Safe fallback HTML.
	 * @param string $classes  Extra CSS classes.
	 */
	private function esi( string $slot, string $fallback, string $classes ): string {
		$src      = '/v1/slots/' . rawurlencode( $slot ) . '/fragment?site=' . rawurlencode( (string) Slotwise_Options::get( 'site_id' ) )
			. '&key=' . rawurlencode( (string) Slotwise_Options::get( 'publishable_key' ) );
		$encoded  = rawurlencode( $fallback );
		if ( '' !== $fallback && strlen( $encoded ) <= self::ESI_MAX_FALLBACK ) {
			$src .= '&fallback=' . $encoded;
		}
		return sprintf(
			'<div class="%s" data-slotwise-rendered="%s"><esi:include src="%s" onerror="continue"/></div>',
			esc_attr( trim( 'slotwise-slot ' . $classes ) ),
			esc_attr( $slot ),
			$src // rawurlencode leaves no quote or angle bracket; esc_attr would turn & into &amp;.
		);
	}

	const ESI_MAX_FALLBACK = 2048;

	/**
	 * Whether the page is being held in the output buffer (server mode).
	 */
	public function holding(): bool {
		return $this->buffering;
	}

	/**
	 * Start holding the page (server mode, front end only).
	 */
	public function start(): void {
		if ( ! in_array( $this->mode, array( 'server', 'esi' ), true ) || $this->buffering ) {
			return;
		}
		$this->buffering = ob_start( array( $this, 'finish' ) );
	}

	/**
	 * Output-buffer callback: swap every marker for its block or its fallback.
	 *
	 * @param string $html  Buffered page.
	 * @param int    $phase PHP_OUTPUT_HANDLER_* flags.
	 */
	public function finish( string $html, int $phase = 0 ): string {
		if ( empty( $this->slots ) || false === strpos( $html, ' data-slotwise-marker="' . $this->token . ':' ) ) {
			return $html;
		}
		if ( 'esi' === $this->mode ) {
			// After every content filter (wptexturize and convert_chars write & as &#038;, and
			// Varnish reads src literally): the include tags go in last, as they are.
			$pairs = array();
			foreach ( $this->slots as $index => $slot ) {
				$pairs[ $this->marker( $index ) ] = $this->esi( $slot[0], $slot[1], $slot[2] );
			}
			return strtr( $html, $pairs );
		}
		if ( null !== $this->on_slots ) {
			$hook           = $this->on_slots;
			$this->on_slots = null;
			$hook();
		}
		$names = array();
		foreach ( $this->slots as $slot ) {
			$names[ $slot[0] ] = true;
		}
		++$this->calls;
		$started = microtime( true );
		$result  = $this->gateway->render(
			array_keys( $names ),
			$this->request['context'],
			$this->request['headers'],
			$this->request['visitor_id']
		);
		$blocks = null === $result ? array() : $result['blocks'];
		$pairs  = array();
		foreach ( $this->slots as $index => $slot ) {
			list( $name, $fallback, $classes ) = $slot;
			$block = $blocks[ $name ] ?? null;
			if ( null !== $block && '' !== trim( $block['html'] ) ) {
				$inner   = self::kses( $block['html'] );
				$pairs[ $this->marker( $index ) ] = $this->wrap( $name, $inner, $classes, 'ready', $block );
			} else {
				$pairs[ $this->marker( $index ) ] = $this->wrap( $name, $fallback, $classes, 'fallback' );
			}
		}
		$html = strtr( $html, $pairs );
		if ( ! headers_sent() ) {
			// Lets operators (and bench/wordpress_bench.py) see what the slots cost this page.
			header( sprintf( 'Server-Timing: slotwise;dur=%.1f;desc="%s"', ( microtime( true ) - $started ) * 1000, null === $result ? 'fallback' : 'ready' ), false );
		}
		return $html;
	}

	/**
	 * Where slot $index goes in the held page: an empty block-level element, so `wpautop`
	 * leaves it alone (a comment there would get wrapped in a paragraph).
	 *
	 * @param int $index Placeholder index.
	 */
	private function marker( int $index ): string {
		return '<div data-slotwise-marker="' . $this->token . ':' . $index . '"></div>';
	}

	/**
	 * The gateway's HTML through `wp_kses_post`, keeping its `data:image/...` pictures.
	 *
	 * kses drops the `data:` protocol everywhere, and allowing it through the protocol list
	 * would allow it in links too. Raster and SVG images are inert as an img's source, so only
	 * those are swapped for random tokens before kses and put back after.
	 *
	 * @param string $html Gateway HTML.
	 */
	public static function kses( string $html ): string {
		$nonce  = bin2hex( random_bytes( 8 ) );
		$images = array();
		$html   = (string) preg_replace_callback(
			'#(<img\b[^>]*?\ssrc\s*=\s*)(["\'])\s*(data:image/(?:png|gif|jpeg|webp|avif|svg\+xml)(?:;[a-z0-9=.+-]+)*,(?:(?!\2)[^<>])*)\2#i',
			static function ( array $m ) use ( $nonce, &$images ): string {
				$token                    = 'slotwise-img-' . $nonce . '-' . count( $images );
				$images[ '"' . $token . '"' ] = '"' . esc_attr( html_entity_decode( $m[3], ENT_QUOTES | ENT_HTML5, 'UTF-8' ) ) . '"';
				return $m[1] . '"' . $token . '"';
			},
			$html
		);
		return strtr( wp_kses_post( $html ), $images );
	}

	/**
	 * The wrapper every mode prints, so themes style one element. A rendered block also says
	 * what was shown (variant, experiment, arm, propensity, bucket, segments): client.js reads these
	 * to send impressions and clicks for server-rendered slots as it does for its own.
	 *
	 * @param string               $slot    Slot name.
	 * @param string               $inner   Safe HTML.
	 * @param string               $classes Extra classes.
	 * @param string               $state   pending, ready or fallback.
	 * @param array<string, mixed> $block   The gateway's block (ready only).
	 */
	private function wrap( string $slot, string $inner, string $classes, string $state, array $block = array() ): string {
		$attrs = sprintf(
			'class="%s" data-slotwise-slot="%s" data-slotwise-state="%s"',
			esc_attr( trim( 'slotwise-slot ' . $classes ) ),
			esc_attr( $slot ),
			esc_attr( $state )
		);
		return '<div ' . $attrs . self::shown( $block ) . '>' . $inner . '</div>';
	}

	/**
	 * ` data-slotwise-variant="..." data-slotwise-experiment="..." ...` for a rendered block.
	 *
	 * @param array<string, mixed> $block The gateway's block.
	 */
	public static function shown( array $block ): string {
		$out = array();
		if ( isset( $block['variant'] ) && is_string( $block['variant'] ) && '' !== $block['variant'] ) {
			$out['variant'] = $block['variant'];
		}
		$exp = isset( $block['experiment'] ) && is_array( $block['experiment'] ) ? $block['experiment'] : array();
		if ( isset( $exp['key'], $exp['arm'] ) && is_string( $exp['key'] ) && is_string( $exp['arm'] ) ) {
			$out['experiment'] = $exp['key'];
			$out['arm']        = $exp['arm'];
			// A bandit's probability of this arm, and its context bucket (the gateway refuses a
			// propensity outside (0, 1] on the impression, so none is printed).
			if ( isset( $exp['propensity'] ) && is_numeric( $exp['propensity'] ) && $exp['propensity'] > 0 ) {
				$out['propensity'] = (string) (float) $exp['propensity'];
			}
			if ( isset( $exp['bucket'] ) && is_string( $exp['bucket'] ) && '' !== $exp['bucket'] ) {
				$out['bucket'] = $exp['bucket'];
			}
		}
		if ( isset( $block['segments'] ) && is_array( $block['segments'] ) && $block['segments'] ) {
			$out['segments'] = implode( ',', array_filter( $block['segments'], 'is_string' ) );
		}
		$html = '';
		foreach ( $out as $name => $value ) {
			$html .= ' data-slotwise-' . $name . '="' . esc_attr( $value ) . '"';
		}
		return $html;
	}
}
