<?php
// SPDX-License-Identifier: GPL-2.0-or-later
use PHPUnit\Framework\TestCase;

final class VisitorTest extends TestCase {
	public function test_existing_valid_cookie_is_kept_and_refreshed(): void {
		$d = Slotwise_Visitor::decide( array( 'slotwise_vid' => 'abc123' ), 'full', 'server', true );
		$this->assertSame( 'abc123', $d['id'] );
		$this->assertSame( 'abc123', $d['cookie']['value'] );
		$o = $d['cookie']['options'];
		$this->assertTrue( $o['httponly'] );
		$this->assertTrue( $o['secure'] );
		$this->assertSame( 'Lax', $o['samesite'] );
		$this->assertGreaterThan( time() + 360 * 86400, $o['expires'] );
	}

	public function test_new_visitor_in_server_mode_gets_a_fresh_id(): void {
		$d = Slotwise_Visitor::decide( array(), '', 'server', false );
		$this->assertMatchesRegularExpression( '/^[0-9a-f]{32}$/', $d['id'] );
		$this->assertFalse( $d['cookie']['options']['secure'] );
	}

	public function test_tampered_cookie_is_replaced(): void {
		$d = Slotwise_Visitor::decide( array( 'slotwise_vid' => '<script>' ), 'full', 'server', false );
		$this->assertNotSame( '<script>', $d['id'] );
		$this->assertMatchesRegularExpression( Slotwise_Visitor::PATTERN, $d['id'] );
	}

	public function test_consent_none_sets_no_cookie_and_deletes_an_old_one(): void {
		$this->assertSame( array( 'id' => null, 'cookie' => null ), Slotwise_Visitor::decide( array(), 'none', 'server', false ) );
		$d = Slotwise_Visitor::decide( array( 'slotwise_vid' => 'abc' ), 'none', 'client', false );
		$this->assertNull( $d['id'] );
		$this->assertSame( '', $d['cookie']['value'] );
		$this->assertLessThan( time(), $d['cookie']['options']['expires'] );
	}

	public function test_client_mode_cookie_is_readable_by_client_js_and_not_minted_on_cached_pages(): void {
		$this->assertSame( array( 'id' => null, 'cookie' => null ), Slotwise_Visitor::decide( array(), 'full', 'client', false ) );
		$d = Slotwise_Visitor::decide( array( 'slotwise_vid' => 'v1' ), 'full', 'client', false );
		$this->assertFalse( $d['cookie']['options']['httponly'] );
	}
}
