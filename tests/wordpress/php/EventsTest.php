<?php
// SPDX-License-Identifier: GPL-2.0-or-later
use PHPUnit\Framework\TestCase;

final class FakeOrderLine {
	public function __construct( private int $product, private int $qty, private float $total ) {}
	public function get_product_id() { return $this->product; }
	public function get_quantity() { return $this->qty; }
	public function get_total() { return $this->total; }
}

final class FakeOrder {
	public function get_id() { return 42; }
	public function get_currency() { return 'EUR'; }
	public function get_items() { return array( 7 => new FakeOrderLine( 100, 2, 39.8 ), 8 => new FakeOrderLine( 101, 1, 5.0 ) ); }
}

final class EventsTest extends TestCase {
	protected function setUp(): void {
		$GLOBALS['slotwise_requests'] = array();
		$GLOBALS['slotwise_http']     = fn( $url, $args ) => slotwise_response( 200, array() );
	}

	private function events(): Slotwise_Events {
		return new Slotwise_Events( new Slotwise_Gateway( array_merge( Slotwise_Options::defaults(), array(
			'gateway_url' => 'http://gw.test', 'site_id' => 's', 'publishable_key' => 'pk', 'secret_key' => 'sk',
		) ) ) );
	}

	public function test_no_visitor_id_means_no_event(): void {
		$e = $this->events();
		$e->add( null, 'page_view' );
		$this->assertSame( array(), $e->pending() );
		$e->flush( array(), array() );
		$this->assertSame( array(), $GLOBALS['slotwise_requests'] );
	}

	public function test_events_have_the_contract_shape_and_go_in_one_batch(): void {
		$e = $this->events();
		$e->add( 'v1', 'item_view', array( 'item_id' => 12 ) );
		$e->add( 'v1', 'add_to_cart', array( 'item_id' => '12', 'quantity' => 2 ) );
		$ev = $e->pending()[0];
		$this->assertSame( array( 'event_id', 'visitor_id', 'type', 'ts', 'item_id' ), array_keys( $ev ) );
		$this->assertSame( '12', $ev['item_id'] );
		$this->assertMatchesRegularExpression( '/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/', $ev['ts'] );
		$e->flush( array( 'user_agent' => 'UA' ), array() );
		$this->assertCount( 1, $GLOBALS['slotwise_requests'] );
		$this->assertCount( 2, json_decode( $GLOBALS['slotwise_requests'][0]['args']['body'], true )['events'] );
		$this->assertSame( array(), $e->pending() );
	}

	public function test_purchase_event_ids_are_stable_per_order_line(): void {
		$e = $this->events();
		$e->add_order( 'v1', new FakeOrder() );
		$ids = array_column( $e->pending(), 'event_id' );
		$this->assertSame( array( 'wc-order-42-7', 'wc-order-42-8' ), $ids );
		$this->assertSame( 39.8, $e->pending()[0]['value'] );
		$this->assertSame( 'EUR', $e->pending()[0]['currency'] );
		$this->assertSame( 2, $e->pending()[0]['quantity'] );
	}
}
