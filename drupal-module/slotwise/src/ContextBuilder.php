<?php
// SPDX-License-Identifier: GPL-2.0-or-later

declare(strict_types=1);

namespace Drupal\slotwise;

use Drupal\Core\Config\ConfigFactoryInterface;
use Drupal\Core\Extension\ModuleHandlerInterface;
use Drupal\Core\Routing\RouteMatchInterface;
use Drupal\Core\Session\AccountInterface;
use Symfony\Component\HttpFoundation\RequestStack;

/**
 * The visitor's side of a render or event call: context fields, headers, consent, visitor id.
 *
 * Consent starts from the site default, is overridden by the slotwise_consent cookie that
 * the browser client's Slotwise.setConsent() writes, and is then offered to
 * hook_slotwise_consent_alter() so a consent-management module has the last word.
 */
final class ContextBuilder {

  public const VISITOR_COOKIE = 'slotwise_vid';
  public const CONSENT_COOKIE = 'slotwise_consent';

  private ?string $minted = NULL;
  private ?string $consent = NULL;

  public function __construct(
    private readonly RequestStack $requestStack,
    private readonly RouteMatchInterface $routeMatch,
    private readonly AccountInterface $currentUser,
    private readonly ModuleHandlerInterface $moduleHandler,
    private readonly ConfigFactoryInterface $configFactory,
  ) {}

  /**
   * The body's `context` object for /v1/render.
   *
   * @return array<string, mixed>
   */
  public function context(): array {
    $request = $this->requestStack->getCurrentRequest();
    if ($request === NULL) {
      return ['consent' => $this->consent()];
    }
    $context = [
      'url' => $request->getUri(),
      'referrer' => $request->headers->get('Referer'),
      'user_agent' => $request->headers->get('User-Agent'),
      'language' => $request->headers->get('Accept-Language'),
      'consent' => $this->consent(),
      'item_id' => $this->itemId(),
    ];
    // A signed-in user's own time zone beats the site's; anonymous visitors get the
    // site default at the gateway (only the browser knows theirs, in client mode).
    if (!$this->currentUser->isAnonymous() && $this->currentUser->getTimeZone()) {
      $context['timezone'] = $this->currentUser->getTimeZone();
    }
    return array_filter($context, static fn ($v) => $v !== NULL && $v !== '');
  }

  /**
   * Headers passed on so the gateway sees the visitor, not this server.
   *
   * The gateway must list this web server in trusted_proxies to believe them.
   *
   * @return array<string, string>
   */
  public function forwardedHeaders(): array {
    $request = $this->requestStack->getCurrentRequest();
    if ($request === NULL) {
      return [];
    }
    $headers = [];
    // getClientIp() already applies Drupal's reverse_proxy settings.
    $ip = $request->getClientIp();
    if ($ip) {
      $headers['X-Forwarded-For'] = $ip;
    }
    $names = Settings::fromConfig($this->configFactory->get('slotwise.settings'))->geoHeaders();
    foreach (array_merge($names, ['Sec-GPC', 'DNT', 'Sec-CH-UA-Mobile']) as $name) {
      $value = $request->headers->get($name);
      if ($value !== NULL && $value !== '') {
        $headers[$name] = (string) $value;
      }
    }
    return $headers;
  }

  /**
   * none, anonymous or full; computed once per request.
   */
  public function consent(): string {
    if ($this->consent !== NULL) {
      return $this->consent;
    }
    $level = Settings::fromConfig($this->configFactory->get('slotwise.settings'))->defaultConsent();
    $request = $this->requestStack->getCurrentRequest();
    $cookie = $request?->cookies->get(self::CONSENT_COOKIE);
    if (is_string($cookie) && in_array($cookie, Settings::CONSENT_LEVELS, TRUE)) {
      $level = $cookie;
    }
    $this->moduleHandler->alter('slotwise_consent', $level, $request);
    $this->consent = in_array($level, Settings::CONSENT_LEVELS, TRUE) ? $level : 'none';
    return $this->consent;
  }

  /**
   * Whether the visitor asked not to be profiled (Global Privacy Control).
   */
  public function gpc(): bool {
    return trim((string) $this->requestStack->getCurrentRequest()?->headers->get('Sec-GPC')) === '1';
  }

  /**
   * The visitor id from the cookie; with $mint, a new one when there is none and consent allows.
   *
   * Global Privacy Control never gets a new id (and so no cookie), as in client.js.
   */
  public function visitorId(bool $mint = FALSE): ?string {
    if ($this->consent() === 'none') {
      return NULL;
    }
    if ($this->minted !== NULL) {
      return $this->minted;
    }
    $cookie = $this->requestStack->getCurrentRequest()?->cookies->get(self::VISITOR_COOKIE);
    if (is_string($cookie) && preg_match('/^[A-Za-z0-9_-]{8,64}$/', $cookie)) {
      return $cookie;
    }
    if ($mint && !$this->gpc()) {
      $this->minted = bin2hex(random_bytes(16));
    }
    return $this->minted;
  }

  /**
   * A visitor id minted during this request, which the response must set as a cookie.
   */
  public function mintedVisitorId(): ?string {
    return $this->minted;
  }

  /**
   * The catalog item of the current page: the node id on a node's own page.
   */
  public function itemId(): ?string {
    if ($this->routeMatch->getRouteName() !== 'entity.node.canonical') {
      return NULL;
    }
    $nid = $this->routeMatch->getRawParameter('node');
    return is_scalar($nid) && (string) $nid !== '' ? (string) $nid : NULL;
  }

  public function isAnonymous(): bool {
    return $this->currentUser->isAnonymous();
  }

}
