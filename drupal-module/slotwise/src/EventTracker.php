<?php
// SPDX-License-Identifier: GPL-2.0-or-later

declare(strict_types=1);

namespace Drupal\slotwise;

/**
 * Collects this request's events and sends them in one batch after the response went out.
 *
 * Events are only sent with an identifier-level consent (anonymous or full) and without
 * Global Privacy Control, the same rule the browser client follows.
 */
final class EventTracker {

  /**
   * @var array<int, array<string, mixed>>
   */
  private array $queue = [];

  public function __construct(
    private readonly GatewayClient $client,
    private readonly ContextBuilder $context,
  ) {}

  /**
   * Queues one event; FALSE when consent or configuration rule it out.
   *
   * @param array<string, mixed> $fields
   *   item_id, value, currency, quantity, properties.
   */
  public function track(string $type, array $fields = []): bool {
    if ($this->context->gpc() || !$this->client->settings()->isConfigured()) {
      return FALSE;
    }
    $visitor = $this->context->visitorId(TRUE);
    if ($visitor === NULL) {
      return FALSE;
    }
    $context = $this->context->context();
    $this->queue[] = [
      'event_id' => bin2hex(random_bytes(16)),
      'visitor_id' => $visitor,
      'type' => $type,
      'ts' => gmdate('Y-m-d\TH:i:s\Z'),
    ] + array_filter($fields, static fn ($v) => $v !== NULL) + [
      // The visitor's User-Agent: without it the gateway classifies the event by this
      // server's own (Guzzle's) User-Agent, as a bot, and keeps nothing of it.
      'context' => array_intersect_key($context, array_flip(['url', 'referrer', 'user_agent', 'consent'])),
    ];
    return TRUE;
  }

  public function nodeViewed(string $nid): bool {
    // With client.js on server-rendered pages too, it sends the view: never twice.
    $settings = $this->client->settings();
    return $settings->trackNodeViews() && !$settings->serverImpressions() && $this->track('item_view', ['item_id' => $nid]);
  }

  /**
   * Drupal Commerce's commerce_cart.entity.add (CartEntityAddEvent), duck-typed so the
   * module does not require Commerce.
   */
  public function cartAdd(object $event): bool {
    if (!$this->client->settings()->trackCommerce() || !method_exists($event, 'getEntity')) {
      return FALSE;
    }
    $entity = $event->getEntity();
    $quantity = method_exists($event, 'getQuantity') ? (float) $event->getQuantity() : 1.0;
    $price = self::price($entity);
    return $this->track('add_to_cart', [
      'item_id' => self::productId($entity),
      'quantity' => $quantity,
      'value' => $price[0],
      'currency' => $price[1],
    ]);
  }

  /**
   * Commerce's commerce_order.place.post_transition (WorkflowTransitionEvent): one purchase
   * event per order line, with the line's total.
   */
  public function orderPlaced(object $event): bool {
    if (!$this->client->settings()->trackCommerce() || !method_exists($event, 'getEntity')) {
      return FALSE;
    }
    $order = $event->getEntity();
    $sent = FALSE;
    foreach (method_exists($order, 'getItems') ? $order->getItems() : [] as $line) {
      $entity = method_exists($line, 'getPurchasedEntity') ? $line->getPurchasedEntity() : NULL;
      $total = method_exists($line, 'getTotalPrice') ? $line->getTotalPrice() : NULL;
      $sent = $this->track('purchase', [
        'item_id' => $entity ? self::productId($entity) : NULL,
        'quantity' => method_exists($line, 'getQuantity') ? (float) $line->getQuantity() : NULL,
        'value' => $total ? (float) $total->getNumber() : NULL,
        'currency' => $total ? $total->getCurrencyCode() : NULL,
        'properties' => ['order_id' => method_exists($order, 'id') ? (string) $order->id() : NULL],
      ]) || $sent;
    }
    return $sent;
  }

  /**
   * Sends the queue; called on kernel.terminate.
   */
  public function flush(): bool {
    if (!$this->queue) {
      return FALSE;
    }
    $events = $this->queue;
    $this->queue = [];
    return $this->client->sendEvents($events, $this->context->forwardedHeaders());
  }

  /**
   * @return array<int, array<string, mixed>>
   */
  public function pending(): array {
    return $this->queue;
  }

  /**
   * The catalog id of a purchasable entity: "product-<id>" for a Commerce variation's
   * product (what the catalog connector lists), else "<entity type>-<id>".
   */
  private static function productId(object $entity): ?string {
    if (method_exists($entity, 'getProductId') && $entity->getProductId() !== NULL) {
      return 'product-' . $entity->getProductId();
    }
    if (method_exists($entity, 'id') && $entity->id() !== NULL) {
      $type = method_exists($entity, 'getEntityTypeId') ? $entity->getEntityTypeId() : 'entity';
      return $type . '-' . $entity->id();
    }
    return NULL;
  }

  /**
   * @return array{0: ?float, 1: ?string}
   */
  private static function price(object $entity): array {
    $price = method_exists($entity, 'getPrice') ? $entity->getPrice() : NULL;
    return $price ? [(float) $price->getNumber(), (string) $price->getCurrencyCode()] : [NULL, NULL];
  }

}
