<?php
// SPDX-License-Identifier: GPL-2.0-or-later
use PHPUnit\Framework\TestCase;

/** A gateway double that answers from a table and counts calls. */
final class FakeGateway extends Slotwise_Gateway {
	public array $calls = array();
	public function __construct( private ?array $answer ) { parent::__construct( Slotwise_Options::defaults() ); }
	public function render( array $slots, array $context, array $headers = array(), ?string $visitor_id = null, bool $secret = false ): ?array {
		$this->calls[] = array( $slots, $context, $headers, $visitor_id );
		return $this->answer;
	}
}

final class PageTest extends TestCase {
	private function buffered( Slotwise_Page $page ): void {
		$prop = new ReflectionProperty( Slotwise_Page::class, 'buffering' );
		$prop->setValue( $page, true );   // as after start(), without touching PHPUnit's own buffers
	}

	/** A page of this mode that is buffering, as after start(). */
	private function buffered_page( FakeGateway $gw, string $mode = 'server' ): Slotwise_Page {
		$page = new Slotwise_Page( $gw, $mode );
		$this->buffered( $page );
		return $page;
	}

	/** A server-mode page of the slots hero and recs with these fallbacks, finished. */
	private function hero_and_recs( FakeGateway $gw, string $hero, string $recs ): string {
		$page = $this->buffered_page( $gw );
		return $page->finish( $page->placeholder( 'hero', $hero ) . $page->placeholder( 'recs', $recs ) );
	}

	public function test_server_mode_makes_one_call_for_all_slots_and_substitutes(): void {
		$gw   = new FakeGateway( array( 'visitor_id' => 'v', 'blocks' => array(
			'hero' => array( 'html' => '<p>Mobile hero</p><script>x()</script>', 'variant' => 'mobile' ),
			'recs' => array( 'html' => '<ul><li>Post</li></ul>', 'variant' => 'default' ),
		) ) );
		$page = $this->buffered_page( $gw );
		$page->request = array( 'context' => array( 'url' => 'u' ), 'headers' => array(), 'visitor_id' => 'v' );
		$html = '<main>' . $page->placeholder( 'hero', '<p>fb1</p>' ) . $page->placeholder( 'recs', '<p>fb2</p>' )
			. $page->placeholder( 'hero', '<p>fb3</p>' ) . '</main>';
		$this->assertStringNotContainsString( 'fb1', $html );
		$out = $page->finish( $html );
		$this->assertCount( 1, $gw->calls );
		$this->assertSame( array( 'hero', 'recs' ), $gw->calls[0][0] );
		$this->assertSame( 'v', $gw->calls[0][3] );
		$this->assertSame( 2, substr_count( $out, '<p>Mobile hero</p>' ) );
		$this->assertStringContainsString( 'data-slotwise-slot="recs" data-slotwise-state="ready" data-slotwise-variant="default"><ul><li>Post</li></ul>', $out );
		$this->assertStringNotContainsString( '<script>', $out );
		$this->assertStringNotContainsString( 'data-slotwise-marker', $out );
	}

	public function test_server_mode_writes_the_attributes_client_js_measures(): void {
		$exp  = array( 'key' => 'hero-season', 'arm' => 'denim', 'propensity' => 0.412, 'bandit' => true, 'bucket' => 'mobile"' );
		$gw   = new FakeGateway( array( 'visitor_id' => 'v', 'blocks' => array(
			'hero' => array( 'html' => '<p>Denim</p>', 'variant' => 'season:denim', 'experiment' => $exp, 'segments' => array( 'vip' ) ),
		) ) );
		$page = $this->buffered_page( $gw );
		$page->request = array( 'context' => array(), 'headers' => array(), 'visitor_id' => 'v' );
		$out = $page->finish( '<main>' . $page->placeholder( 'hero', '<p>fb</p>' ) . '</main>' );
		$this->assertStringContainsString(
			'data-slotwise-variant="season:denim" data-slotwise-experiment="hero-season" data-slotwise-arm="denim" data-slotwise-propensity="0.412" data-slotwise-bucket="mobile&quot;" data-slotwise-segments="vip"><p>Denim</p>',
			$out
		);
	}

	public function test_gateway_failure_renders_every_fallback(): void {
		$gw   = new FakeGateway( null );
		$out = $this->hero_and_recs( $gw, '<p>fb1</p>', '<p>fb2</p>' );
		$this->assertSame(
			'<div class="slotwise-slot" data-slotwise-slot="hero" data-slotwise-state="fallback"><p>fb1</p></div>'
			. '<div class="slotwise-slot" data-slotwise-slot="recs" data-slotwise-state="fallback"><p>fb2</p></div>',
			$out
		);
	}

	public function test_missing_or_empty_block_falls_back_per_slot(): void {
		$gw   = new FakeGateway( array( 'visitor_id' => null, 'blocks' => array( 'hero' => array( 'html' => '  ' ) ) ) );
		$out = $this->hero_and_recs( $gw, 'A', 'B' );
		$this->assertStringContainsString( 'state="fallback">A</div>', $out );
		$this->assertStringContainsString( 'state="fallback">B</div>', $out );
	}

	public function test_page_without_slots_makes_no_call_and_forged_markers_are_ignored(): void {
		$gw   = new FakeGateway( null );
		$page = new Slotwise_Page( $gw, 'server' );
		$this->assertSame( '<p>plain</p>', $page->finish( '<p>plain</p>' ) );
		$this->buffered( $page );
		$page->placeholder( 'hero', 'A' );
		$this->assertSame( '<div data-slotwise-marker="0000:0"></div>', $page->finish( '<div data-slotwise-marker="0000:0"></div>' ) );
		$this->assertSame( array(), $gw->calls );
	}

	public function test_client_mode_prints_placeholders_with_fallback(): void {
		$gw   = new FakeGateway( null );
		$page = new Slotwise_Page( $gw, 'client' );
		$this->assertSame(
			'<div class="slotwise-slot x" data-slotwise-slot="hero" data-slotwise-state="pending"><p>fb</p></div>',
			$page->placeholder( 'hero', '<p>fb</p>', 'x' )
		);
		$this->assertSame( 1, $page->count() );
		$this->assertSame( array(), $gw->calls );
	}

	public function test_invalid_slot_name_prints_only_the_fallback(): void {
		$page = new Slotwise_Page( new FakeGateway( null ), 'client' );
		$this->assertSame( '<p>fb</p>', $page->placeholder( '"><script>', '<p>fb</p>' ) );
	}

	public function test_server_mode_outside_the_page_buffer_prints_the_fallback(): void {
		$gw   = new FakeGateway( null );
		$page = new Slotwise_Page( $gw, 'server' );
		$this->assertSame(
			'<div class="slotwise-slot" data-slotwise-slot="hero" data-slotwise-state="fallback"><p>fb</p></div>',
			$page->placeholder( 'hero', '<p>fb</p>' )
		);
	}

	public function test_server_rendered_blocks_say_what_was_shown_for_client_js(): void {
		$gw   = new FakeGateway( array( 'visitor_id' => 'v', 'blocks' => array(
			'hero' => array( 'html' => '<p>B</p>', 'variant' => 'test:b', 'segments' => array( 'mobile', 'vip' ),
				'experiment' => array( 'key' => 'hero-x', 'arm' => 'b', 'holdout' => false, 'propensity' => 0.25 ) ),
			'recs' => array( 'html' => '<p>R</p>', 'variant' => 'default', 'experiment' => null ),
		) ) );
		$out = $this->hero_and_recs( $gw, 'A', 'B' );
		$this->assertStringContainsString(
			'data-slotwise-slot="hero" data-slotwise-state="ready" data-slotwise-variant="test:b" data-slotwise-experiment="hero-x"'
			. ' data-slotwise-arm="b" data-slotwise-propensity="0.25" data-slotwise-segments="mobile,vip"><p>B</p>',
			$out
		);
		$this->assertStringContainsString( 'data-slotwise-state="ready" data-slotwise-variant="default"><p>R</p>', $out );
		$this->assertStringNotContainsString( 'data-slotwise-experiment=""', $out );
	}

	public function test_esi_mode_puts_include_tags_in_after_every_content_filter(): void {
		$GLOBALS['slotwise_options']['slotwise_settings'] = array( 'site_id' => 'wp', 'publishable_key' => 'pk_x', 'secret_key' => 'sk_never' );
		$gw   = new FakeGateway( null );
		$page = $this->buffered_page( $gw, 'esi' );
		$marker = $page->placeholder( 'hero', '<p>Hi there</p>', 'x' );
		$this->assertStringNotContainsString( 'esi:include', $marker );
		$long = $page->placeholder( 'recs', str_repeat( '<p>long</p>', 200 ) );
		$out  = $page->finish( '<main>' . $marker . $long . '</main>' );
		$this->assertSame(
			'<main><div class="slotwise-slot x" data-slotwise-rendered="hero"><esi:include'
			. ' src="/v1/slots/hero/fragment?site=wp&key=pk_x&fallback=%3Cp%3EHi%20there%3C%2Fp%3E" onerror="continue"/></div>'
			. '<div class="slotwise-slot" data-slotwise-rendered="recs"><esi:include src="/v1/slots/recs/fragment?site=wp&key=pk_x"'
			. ' onerror="continue"/></div></main>',
			$out
		);
		$this->assertSame( array(), $gw->calls );
		unset( $GLOBALS['slotwise_options']['slotwise_settings'] );
	}
}
