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
		$index           = count( $this->slots );
		$this->slots[]   = array( $slot, $fallback, $classes );
		if ( 'server' === $this->mode ) {
			// Outside the page buffer (feeds, REST renders of content) nothing will fill it in.
			return $this->buffering ? $this->marker( $index ) : $this->wrap( $slot, $fallback, $classes, 'fallback', '' );
		}
		return $this->wrap( $slot, $fallback, $classes, 'pending', '' );
	}

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
		if ( 'server' !== $this->mode || $this->buffering ) {
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
				$variant = isset( $block['variant'] ) && is_string( $block['variant'] ) ? $block['variant'] : '';
				$inner   = self::kses( $block['html'] );
				$pairs[ $this->marker( $index ) ] = $this->wrap( $name, $inner, $classes, 'ready', $variant, self::measure( $block ) );
			} else {
				$pairs[ $this->marker( $index ) ] = $this->wrap( $name, $fallback, $classes, 'fallback', '' );
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
	 * What client.js reads to send the block's impression and clicks: the experiment or bandit
	 * key, the arm, and a bandit's propensity and context bucket (attribute => value).
	 *
	 * @param array<string, mixed> $block A block of the render response.
	 * @return array<string, string>
	 */
	private static function measure( array $block ): array {
		$exp = isset( $block['experiment'] ) && is_array( $block['experiment'] ) ? $block['experiment'] : array();
		$out = array();
		if ( isset( $exp['key'], $exp['arm'] ) && is_string( $exp['key'] ) && is_string( $exp['arm'] ) ) {
			$out['experiment'] = $exp['key'];
			$out['arm']        = $exp['arm'];
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
		return $out;
	}

	/**
	 * The wrapper every mode prints, so themes style one element.
	 *
	 * @param string                $slot    Slot name.
	 * @param string                $inner   Safe HTML.
	 * @param string                $classes Extra classes.
	 * @param string                $state   pending, ready or fallback.
	 * @param string                $variant Variant id ('' for none).
	 * @param array<string, string> $measure Measurement attributes (see measure()).
	 */
	private function wrap( string $slot, string $inner, string $classes, string $state, string $variant, array $measure = array() ): string {
		$attrs = sprintf(
			'class="%s" data-slotwise-slot="%s" data-slotwise-state="%s"',
			esc_attr( trim( 'slotwise-slot ' . $classes ) ),
			esc_attr( $slot ),
			esc_attr( $state )
		);
		if ( '' !== $variant ) {
			$attrs .= sprintf( ' data-slotwise-variant="%s"', esc_attr( $variant ) );
		}
		foreach ( $measure as $name => $value ) {
			$attrs .= sprintf( ' data-slotwise-%s="%s"', esc_attr( $name ), esc_attr( $value ) );
		}
		return '<div ' . $attrs . '>' . $inner . '</div>';
	}
}
