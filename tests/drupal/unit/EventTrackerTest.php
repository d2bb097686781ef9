<?php
// SPDX-License-Identifier: Apache-2.0

declare(strict_types=1);

namespace Drupal\Tests\slotwise;

use Drupal\slotwise\EventSubscriber\SlotwiseSubscriber;
use PHPUnit\Framework\TestCase;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\HttpFoundation\Response;

final class Price {
  public function __construct(private string $number, private string $currency) {}
  public function getNumber(): string { return $this->number; }
  public function getCurrencyCode(): string { return $this->currency; }
}

final class Variation {
  public function __construct(private int $productId, private Price $price) {}
  public function getProductId(): int { return $this->productId; }
  public function getPrice(): Price { return $this->price; }
}

final class OrderItem {
  public function __construct(private Variation $variation, private string $quantity, private Price $total) {}
  public function getPurchasedEntity(): Variation { return $this->variation; }
  public function getQuantity(): string { return $this->quantity; }
  public function getTotalPrice(): Price { return $this->total; }
}

final class Order {
  public function __construct(private array $items) {}
  public function id(): int { return 42; }
  public function getItems(): array { return $this->items; }
}

final class CartEntityAddEvent {
  public function __construct(private Variation $entity, private string $quantity) {}
  public function getEntity(): Variation { return $this->entity; }
  public function getQuantity(): string { return $this->quantity; }
}

final class WorkflowTransitionEvent {
  public function __construct(private Order $order) {}
  public function getEntity(): Order { return $this->order; }
}

final class EventTrackerTest extends TestCase {

  private function accepting(): ScriptedHttpClient {
    return new ScriptedHttpClient(fn () => ScriptedHttpClient::json(['accepted' => 1, 'rejected' => []]));
  }

  private const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';

  private function nodePage(array $cookies = [], array $headers = []): Request {
    return request('https://example.com/node/7', $headers + ['Referer' => 'https://example.com/', 'User-Agent' => self::FIREFOX], $cookies);
  }

  public function testServerModeSendsNodeViewsAfterTheResponse(): void {
    $site = new Site($this->accepting(), $this->nodePage(['slotwise_vid' => 'visitor00001']), [], [], TRUE,
      new FakeRouteMatch('entity.node.canonical', ['node' => '7']));
    $response = new Response();
    $site->subscriber->onResponse(responseEvent($site->request, $response));
    $this->assertSame([], $site->http->requests, 'nothing is sent before the page is out');
    $this->assertSame([], $response->headers->getCookies(), 'a known visitor gets no new cookie');
    $site->subscriber->onTerminate();
    $this->assertCount(1, $site->http->requests);
    $req = $site->http->requests[0];
    $this->assertSame('http://gateway.test/v1/events', $req['uri']);
    $this->assertSame('drupal', $req['options']['json']['site']);
    $event = $req['options']['json']['events'][0];
    $this->assertSame(['event_id', 'visitor_id', 'type', 'ts', 'item_id', 'context'], array_keys($event));
    $this->assertSame('item_view', $event['type']);
    $this->assertSame('7', $event['item_id']);
    $this->assertSame('visitor00001', $event['visitor_id']);
    $this->assertMatchesRegularExpression('/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/', $event['ts']);
    $this->assertSame('https://example.com/node/7', $event['context']['url']);
    // The request to the gateway carries Guzzle's User-Agent, which the gateway takes for a
    // bot's (nothing kept): each event names the visitor's own, as client.js's do.
    $this->assertSame(self::FIREFOX, $event['context']['user_agent']);
    $this->assertArrayNotHasKey('User-Agent', $req['options']['headers']);
    $this->assertSame('203.0.113.7', $req['options']['headers']['X-Forwarded-For']);
    $site->subscriber->onTerminate();
    $this->assertCount(1, $site->http->requests, 'the queue is sent once');
  }

  public function testADeniedNodePageIsNotAView(): void {
    $site = new Site($this->accepting(), $this->nodePage(['slotwise_vid' => 'visitor00001']), [], [], TRUE,
      new FakeRouteMatch('entity.node.canonical', ['node' => '7']));
    $site->subscriber->onResponse(responseEvent($site->request, new Response('Access denied', 403)));
    $site->subscriber->onTerminate();
    $this->assertSame([], $site->http->requests);
  }

  public function testANewVisitorGetsACookieWithItsFirstEvent(): void {
    $site = new Site($this->accepting(), $this->nodePage(), [], [], TRUE, new FakeRouteMatch('entity.node.canonical', ['node' => '7']));
    $response = new Response();
    $site->subscriber->onResponse(responseEvent($site->request, $response));
    $site->subscriber->onTerminate();
    $vid = cookie($response, 'slotwise_vid')->getValue();
    $this->assertSame($vid, $site->http->requests[0]['options']['json']['events'][0]['visitor_id']);
  }

  public function testClientModeLeavesNodeViewsToTheBrowser(): void {
    $site = new Site($this->accepting(), $this->nodePage(), [], ['page_cache'], TRUE, new FakeRouteMatch('entity.node.canonical', ['node' => '7']));
    $response = new Response();
    $site->subscriber->onResponse(responseEvent($site->request, $response));
    $site->subscriber->onTerminate();
    $this->assertSame([], $site->http->requests);
    $this->assertSame([], $response->headers->getCookies(), 'a page-cached page never sets a cookie');
  }

  public function testNoEventsWithoutConsentOrWithGpc(): void {
    $route = new FakeRouteMatch('entity.node.canonical', ['node' => '7']);
    foreach ([
      $this->nodePage(['slotwise_consent' => 'none']),
      $this->nodePage(['slotwise_vid' => 'visitor00001'], ['Sec-GPC' => '1']),
    ] as $request) {
      $site = new Site($this->accepting(), $request, [], [], TRUE, $route);
      $response = new Response();
      $site->subscriber->onResponse(responseEvent($request, $response));
      $site->subscriber->onTerminate();
      $this->assertSame([], $site->http->requests);
      $this->assertSame([], $response->headers->getCookies());
    }
    $site = new Site($this->accepting(), $this->nodePage(['slotwise_vid' => 'visitor00001']), ['track_node_views' => FALSE], [], TRUE, $route);
    $this->assertFalse($site->tracker->nodeViewed('7'));
    // client.js on server-rendered pages sends the view itself: the server does not, never twice.
    $site = new Site($this->accepting(), $this->nodePage(['slotwise_vid' => 'visitor00001']), ['server_impressions' => TRUE], [], TRUE, $route);
    $this->assertFalse($site->tracker->nodeViewed('7'));
    $site = new Site($this->accepting(), $this->nodePage(['slotwise_vid' => 'visitor00001']), [], [], TRUE, $route);
    $this->assertTrue($site->tracker->nodeViewed('7'));
  }

  public function testCommerceCartAndOrderEvents(): void {
    $site = new Site($this->accepting(), request('https://shop.example/cart', [], ['slotwise_vid' => 'visitor00001']));
    $subscribed = SlotwiseSubscriber::getSubscribedEvents();
    $this->assertSame(['onCartAdd'], $subscribed['commerce_cart.entity.add']);
    $this->assertSame(['onOrderPlace'], $subscribed['commerce_order.place.post_transition']);
    $shirt = new Variation(12, new Price('19.90', 'EUR'));
    $site->subscriber->onCartAdd(new CartEntityAddEvent($shirt, '2'));
    $site->subscriber->onOrderPlace(new WorkflowTransitionEvent(new Order([
      new OrderItem($shirt, '2', new Price('39.80', 'EUR')),
      new OrderItem(new Variation(30, new Price('5', 'EUR')), '1', new Price('5', 'EUR')),
    ])));
    $site->subscriber->onTerminate();
    $events = $site->http->requests[0]['options']['json']['events'];
    $this->assertSame(['add_to_cart', 'purchase', 'purchase'], array_column($events, 'type'));
    $this->assertSame(['product-12', 'product-12', 'product-30'], array_column($events, 'item_id'));
    $this->assertSame([19.9, 39.8, 5.0], array_column($events, 'value'));
    $this->assertSame('EUR', $events[1]['currency']);
    $this->assertSame(2.0, $events[1]['quantity']);
    $this->assertSame(['order_id' => '42'], $events[2]['properties']);
    $this->assertCount(3, array_unique(array_column($events, 'event_id')));

    $site = new Site($this->accepting(), request('https://example.com/', [], ['slotwise_vid' => 'visitor00001']), ['track_commerce' => FALSE]);
    $this->assertFalse($site->tracker->cartAdd(new CartEntityAddEvent($shirt, '1')));
  }

}
