<?php
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Server-side events: page and item views (server mode), add-to-cart and purchases (WooCommerce).
 *
 * Events are queued during the request and sent in one batch at shutdown, after the response
 * is finished where the server allows it (PHP-FPM), without waiting for the answer. Event ids
 * of purchases are derived from the order, so a reloaded thank-you page is not counted twice
 * (the gateway's events are idempotent by event_id).
 *
 * @package Slotwise
 */

defined( 'ABSPATH' ) || exit;

/**
 * Event queue of the current request.
 */
class Slotwise_Events {

	/**
	 * Queued events.
	 *
	 * @var array<int, array<string, mixed>>
	 */
	private array $queue = array();

	/**
	 * Constructor.
	 *
	 * @param Slotwise_Gateway $gateway Gateway client.
	 */
	public function __construct( private Slotwise_Gateway $gateway ) {}

	/**
	 * Queue one event (ignored without a visitor id: no consent, no identifier, no event).
	 *
	 * @param string|null          $visitor_id Visitor id.
	 * @param string               $type       Event type.
	 * @param array<string, mixed> $fields     item_id, value, currency, quantity, properties, event_id.
	 */
	public function add( ?string $visitor_id, string $type, array $fields = array() ): void {
		if ( null === $visitor_id ) {
			return;
		}
		$event = array(
			'event_id'   => isset( $fields['event_id'] ) ? (string) $fields['event_id'] : wp_generate_uuid4(),
			'visitor_id' => $visitor_id,
			'type'       => $type,
			'ts'         => gmdate( 'Y-m-d\TH:i:s\Z' ),
		);
		foreach ( array( 'item_id', 'value', 'currency', 'quantity', 'properties' ) as $key ) {
			if ( isset( $fields[ $key ] ) ) {
				$event[ $key ] = 'item_id' === $key ? (string) $fields[ $key ] : $fields[ $key ];
			}
		}
		$this->queue[] = $event;
	}

	/**
	 * Queued events (tests).
	 *
	 * @return array<int, array<string, mixed>>
	 */
	public function pending(): array {
		return $this->queue;
	}

	/**
	 * Send the queue in one batch.
	 *
	 * @param array<string, mixed>  $context Context of the visitor.
	 * @param array<string, string> $headers Forwarded headers.
	 */
	public function flush( array $context, array $headers ): void {
		if ( empty( $this->queue ) ) {
			return;
		}
		$events      = $this->queue;
		$this->queue = array();
		$this->gateway->send_events( $events, $context, $headers );
	}

	/**
	 * Purchase events of a WooCommerce order, one per line.
	 *
	 * @param string|null $visitor_id Visitor id.
	 * @param object      $order      WC_Order.
	 */
	public function add_order( ?string $visitor_id, $order ): void {
		if ( ! is_object( $order ) || ! method_exists( $order, 'get_items' ) ) {
			return;
		}
		$currency = method_exists( $order, 'get_currency' ) ? (string) $order->get_currency() : null;
		foreach ( $order->get_items() as $line_id => $line ) {
			if ( ! is_object( $line ) || ! method_exists( $line, 'get_product_id' ) ) {
				continue;
			}
			$this->add(
				$visitor_id,
				'purchase',
				array(
					'event_id' => 'wc-order-' . $order->get_id() . '-' . $line_id,
					'item_id'  => (string) $line->get_product_id(),
					'quantity' => (int) $line->get_quantity(),
					'value'    => (float) $line->get_total(),
					'currency' => $currency,
				)
			);
		}
	}
}
