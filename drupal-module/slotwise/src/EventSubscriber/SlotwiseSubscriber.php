<?php
// SPDX-License-Identifier: GPL-2.0-or-later

declare(strict_types=1);

namespace Drupal\slotwise\EventSubscriber;

use Drupal\Core\PageCache\ResponsePolicy\KillSwitch;
use Drupal\Core\Render\AttachmentsInterface;
use Drupal\slotwise\ContextBuilder;
use Drupal\slotwise\DeliveryMode;
use Drupal\slotwise\EventTracker;
use Drupal\slotwise\SlotRenderer;
use Symfony\Component\EventDispatcher\EventSubscriberInterface;
use Symfony\Component\HttpFoundation\Cookie;
use Symfony\Component\HttpKernel\Event\ResponseEvent;
use Symfony\Component\HttpKernel\KernelEvents;

/**
 * Page-level work: one render call per page, the visitor cookie, server-side events.
 */
final class SlotwiseSubscriber implements EventSubscriberInterface {

  public function __construct(
    private readonly SlotRenderer $renderer,
    private readonly ContextBuilder $context,
    private readonly EventTracker $tracker,
    private readonly KillSwitch $killSwitch,
  ) {}

  public static function getSubscribedEvents(): array {
    return [
      // Before core's HtmlResponsePlaceholderStrategySubscriber (priority 5), which hands
      // the placeholders to BigPipe (on for signed-in users in the standard profile): after
      // it they are gone from the attachments and could not be fetched in one call, nor
      // the visitor id minted while headers can still be sent.
      KernelEvents::RESPONSE => ['onResponse', 6],
      KernelEvents::TERMINATE => ['onTerminate'],
      // Drupal Commerce, when present; these names simply never fire without it.
      'commerce_cart.entity.add' => ['onCartAdd'],
      'commerce_order.place.post_transition' => ['onOrderPlace'],
    ];
  }

  public function onResponse(ResponseEvent $event): void {
    if (!$event->isMainRequest()) {
      return;
    }
    $response = $event->getResponse();
    $slots = $response instanceof AttachmentsInterface ? self::slotsOf($response->getAttachments()) : [];
    $server = $this->renderer->mode() === DeliveryMode::SERVER;
    if ($slots) {
      $this->renderer->prime($slots);
    }
    // Only a node page actually shown counts as a view (not a 403, 404 or redirect).
    if ($server && $response->isSuccessful() && ($item = $this->context->itemId()) !== NULL) {
      $this->tracker->nodeViewed($item);
    }
    if ($server && $slots) {
      // Mint the id now: with BigPipe the placeholders render after the headers are sent.
      $this->context->visitorId(TRUE);
    }
    $minted = $this->context->mintedVisitorId();
    if ($minted !== NULL) {
      // A cookie must never land in a cached page that other visitors receive.
      $this->killSwitch->trigger();
      $response->headers->setCookie(Cookie::create(ContextBuilder::VISITOR_COOKIE, $minted,
        time() + 31536000, '/', NULL, $event->getRequest()->isSecure(), FALSE, FALSE, Cookie::SAMESITE_LAX));
    }
  }

  public function onTerminate(): void {
    $this->tracker->flush();
  }

  public function onCartAdd(object $event): void {
    $this->tracker->cartAdd($event);
  }

  public function onOrderPlace(object $event): void {
    $this->tracker->orderPlaced($event);
  }

  /**
   * Slot names of the Slotwise placeholders among a response's attachments.
   *
   * @param array<string, mixed> $attachments
   *
   * @return string[]
   */
  public static function slotsOf(array $attachments): array {
    $slots = [];
    // BigPipe's replacements keep the original placeholders in their own #attached, should
    // another subscriber have run the placeholder strategy first.
    $lists = [$attachments['placeholders'] ?? []];
    while ($lists) {
      foreach (array_shift($lists) as $placeholder) {
        if (!is_array($placeholder)) {
          continue;
        }
        $builder = $placeholder['#lazy_builder'] ?? NULL;
        if (is_array($builder) && ($builder[0] ?? NULL) === SlotRenderer::LAZY_BUILDER && isset($builder[1][0])) {
          $slots[] = (string) $builder[1][0];
        }
        foreach (['big_pipe_placeholders', 'big_pipe_nojs_placeholders'] as $key) {
          if (isset($placeholder['#attached'][$key]) && is_array($placeholder['#attached'][$key])) {
            $lists[] = $placeholder['#attached'][$key];
          }
        }
      }
    }
    return array_values(array_unique($slots));
  }

}
