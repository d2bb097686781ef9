<?php
// SPDX-License-Identifier: GPL-2.0-or-later

declare(strict_types=1);

namespace Drupal\slotwise;

use Drupal\Component\Utility\Xss;
use Drupal\Core\Extension\ModuleHandlerInterface;
use Drupal\Core\PageCache\ResponsePolicy\KillSwitch;
use Drupal\Core\Render\Markup;
use Drupal\Core\Security\TrustedCallbackInterface;
use Drupal\Core\Session\AccountInterface;

/**
 * Builds the render arrays of personalized slots.
 *
 * Server mode: the block is a #lazy_builder placeholder, so the Dynamic Page Cache (and
 * BigPipe for signed-in users) keep the rest of the page cached and only this part runs per
 * request. The first placeholder rendered fetches every slot the page carries in one
 * /v1/render call (SlotwiseSubscriber primes the list from the response's placeholders);
 * the others read the memo. Client mode: a static placeholder that the gateway's client.js
 * fills in the browser, identical for every visitor and so safe in any page cache.
 */
final class SlotRenderer implements TrustedCallbackInterface {

  public const LAZY_BUILDER = 'slotwise.slot_renderer:lazyBuild';

  /**
   * @var string[]
   *   Slots known to be on this page and not fetched yet.
   */
  private array $pending = [];

  /**
   * @var array<string, array<string, mixed>|null>
   *   slot => gateway block, or NULL when the gateway gave nothing for it.
   */
  private array $fetched = [];

  public function __construct(
    private readonly GatewayClient $client,
    private readonly ContextBuilder $context,
    private readonly KillSwitch $killSwitch,
    private readonly ModuleHandlerInterface $moduleHandler,
    private readonly AccountInterface $currentUser,
  ) {}

  public static function trustedCallbacks(): array {
    return ['lazyBuild'];
  }

  public function pageCacheEnabled(): bool {
    return $this->moduleHandler->moduleExists('page_cache');
  }

  /**
   * The delivery mode for the current visitor.
   */
  public function mode(): string {
    return DeliveryMode::resolve($this->client->settings()->deliveryMode(),
      $this->currentUser->isAnonymous(), $this->pageCacheEnabled());
  }

  /**
   * The block's render array (cacheable: the per-visitor part is a placeholder).
   *
   * The cache metadata sits on an outer array and the slot is its child: the renderer keeps
   * a placeholder's own #cache inside the placeholder, so only this way does it bubble to the
   * block's render-cache entry (a mode switch then re-renders the block); and Block layout
   * and Layout Builder move a block content's top-level #attributes onto the block wrapper,
   * so the slot's attributes stay on the slot, not on the wrapper with the block title.
   */
  public function build(string $slot, string $fallback, ?string $format): array {
    $build = [
      '#cache' => [
        // The mode depends on whether the visitor is anonymous, and on the settings
        // (page_cache being installed is folded into the same tag, see slotwise.module).
        'contexts' => ['user.roles:anonymous'],
        'tags' => ['config:slotwise.settings'],
      ],
    ];
    $mode = $this->mode();
    if ($mode === DeliveryMode::ESI) {
      // A Markup object: the renderer's admin XSS filter would drop the <esi:include> tag.
      $settings = $this->client->settings();
      $build['slot'] = ['#markup' => Markup::create(self::esi($slot, $settings->site(), $settings->publishableKey(), Xss::filterAdmin($fallback)))];
    }
    elseif ($mode === DeliveryMode::CLIENT) {
      $build['slot'] = $this->clientPlaceholder($slot, $fallback, $format);
    }
    else {
      $build['slot'] = [
        '#lazy_builder' => [self::LAZY_BUILDER, [$slot, $fallback, (string) $format]],
        '#create_placeholder' => TRUE,
      ];
    }
    return $build;
  }

  /**
   * Edge mode: an <esi:include> of the gateway's fragment route (publishable key), as
   * `slotwise.gateway.edge.esi.esi_include` prints it. The fallback HTML is percent-encoded
   * (%20, never +) for the shipped VCL to serve when the fragment fails, left out above 2 KiB;
   * `&` stays raw because Varnish reads `src` literally. The VCL adds visitor id and consent.
   */
  public static function esi(string $slot, string $site, string $key, string $fallback): string {
    $src = '/v1/slots/' . rawurlencode($slot) . '/fragment?site=' . rawurlencode($site) . '&key=' . rawurlencode($key);
    $encoded = rawurlencode($fallback);
    if ($fallback !== '' && strlen($encoded) <= 2048) {
      $src .= '&fallback=' . $encoded;
    }
    return '<div class="slotwise-slot" data-slotwise-rendered="' . self::attr($slot) . '"><esi:include src="' . $src . '" onerror="continue"/></div>';
  }

  /**
   * The browser-mode placeholder: the fallback, swapped by client.js.
   */
  private function clientPlaceholder(string $slot, string $fallback, ?string $format): array {
    return [
      '#type' => 'container',
      '#attributes' => ['data-slotwise-slot' => $slot, 'class' => ['slotwise-slot']],
      'fallback' => self::fallback($fallback, $format),
      '#attached' => ClientTag::attachments($this->client->settings()),
    ];
  }

  /**
   * Tells the renderer which slots the page carries, so they are fetched in one call.
   *
   * @param string[] $slots
   */
  public function prime(array $slots): void {
    foreach ($slots as $slot) {
      if (!array_key_exists($slot, $this->fetched) && !in_array($slot, $this->pending, TRUE)) {
        $this->pending[] = $slot;
      }
    }
  }

  /**
   * The #lazy_builder callback: this visitor's block, or the fallback.
   */
  public function lazyBuild(string $slot, string $fallback, string $format): array {
    // Never cache the result anywhere. For anonymous visitors also trigger the kill switch:
    // core's response policy then keeps the page out of the Internal Page Cache and
    // FinishResponseSubscriber sends "no-cache, private" instead of a public max-age that
    // Varnish or a CDN would honour (with or without the page_cache module).
    if ($this->mode() === DeliveryMode::CLIENT) {
      // A placeholder cached before a switch to browser mode: answer as browser mode does.
      return $this->clientPlaceholder($slot, $fallback, $format !== '' ? $format : NULL);
    }
    $build = ['#cache' => ['max-age' => 0]];
    if ($this->currentUser->isAnonymous()) {
      $this->killSwitch->trigger();
    }
    $block = $this->fetch($slot);
    if ($block === NULL) {
      $build['content'] = self::fallback($fallback, $format !== '' ? $format : NULL);
      $build['#prefix'] = '<div class="slotwise-slot" data-slotwise-rendered="' . self::attr($slot) . '" data-slotwise-state="fallback">';
    }
    else {
      // The gateway's sandboxed, autoescaped HTML gets a second line of defence that keeps
      // its data: images (see GatewayMarkup).
      $build['content'] = ['#markup' => GatewayMarkup::filter($block['html'])];
      $build['#prefix'] = '<div class="slotwise-slot" data-slotwise-rendered="' . self::attr($slot) . '" data-slotwise-state="ready"' . self::shown($block) . '>';
    }
    $build['#suffix'] = '</div>';
    return $build;
  }

  /**
   * The gateway block of $slot, fetching it with every pending slot in one request.
   *
   * @return array<string, mixed>|null
   */
  public function fetch(string $slot): ?array {
    if (!array_key_exists($slot, $this->fetched)) {
      $this->prime([$slot]);
      $batch = $this->pending;
      $this->pending = [];
      $result = $this->client->render($batch, $this->context->visitorId(TRUE),
        $this->context->context(), $this->context->forwardedHeaders());
      foreach ($batch as $name) {
        $this->fetched[$name] = $result['blocks'][$name] ?? NULL;
      }
    }
    return $this->fetched[$slot];
  }

  /**
   * The editor's fallback content as a render array.
   */
  public static function fallback(string $text, ?string $format): array {
    if ($text === '') {
      return [];
    }
    return ['#type' => 'processed_text', '#text' => $text, '#format' => $format];
  }

  /**
   * What a rendered block shows, as data attributes: client.js reads variant, experiment, arm,
   * propensity, bucket and segments to send impressions and clicks for server-rendered slots.
   *
   * @param array<string, mixed> $block
   *   The gateway's block.
   */
  public static function shown(array $block): string {
    $out = ['variant' => is_string($block['variant'] ?? NULL) ? $block['variant'] : ''];
    $exp = is_array($block['experiment'] ?? NULL) ? $block['experiment'] : [];
    if (is_string($exp['key'] ?? NULL) && is_string($exp['arm'] ?? NULL)) {
      $out['experiment'] = $exp['key'];
      $out['arm'] = $exp['arm'];
      // A bandit's probability of this arm and its context bucket.
      if (is_numeric($exp['propensity'] ?? NULL) && $exp['propensity'] > 0) {
        $out['propensity'] = (string) (float) $exp['propensity'];
      }
      if (is_string($exp['bucket'] ?? NULL) && $exp['bucket'] !== '') {
        $out['bucket'] = $exp['bucket'];
      }
    }
    if (!empty($block['segments']) && is_array($block['segments'])) {
      $out['segments'] = implode(',', array_filter($block['segments'], 'is_string'));
    }
    $html = '';
    foreach ($out as $name => $value) {
      $html .= ' data-slotwise-' . $name . '="' . self::attr($value) . '"';
    }
    return $html;
  }

  private static function attr(string $value): string {
    return htmlspecialchars($value, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
  }

}
