<?php
// SPDX-License-Identifier: GPL-2.0-or-later

declare(strict_types=1);

namespace Drupal\slotwise;

/**
 * The module's settings as a typed value object, read once from config.
 *
 * Keeping this free of Drupal classes lets the unit tests build it directly.
 */
final class Settings {

  public const MODES = ['auto', 'server', 'client', 'esi'];
  public const CONSENT_LEVELS = ['none', 'anonymous', 'full'];

  /**
   * @param array<string, mixed> $values
   *   The slotwise.settings config data.
   */
  public function __construct(private readonly array $values) {}

  /**
   * Builds the settings from a config object (anything with get($key)).
   *
   * @param array{server_key?: ?string, server_key_origin?: ?string} $secret
   *   The server key and the gateway origin it belongs to, from settings.php
   *   ($settings['slotwise_server_key'], $settings['slotwise_server_key_origin']): never
   *   from config, so it is never exported, imported or typed into a form.
   */
  public static function fromConfig(object $config, array $secret = []): self {
    $values = $secret;
    foreach (['gateway_url', 'site', 'publishable_key', 'delivery_mode',
      'time_budget_ms', 'default_consent', 'geo_headers', 'track_node_views', 'track_commerce', 'server_impressions',
    ] as $key) {
      $values[$key] = $config->get($key);
    }
    return new self($values);
  }

  /**
   * scheme://host[:port] of a URL, lower-cased, default ports dropped; '' when it has none.
   */
  public static function origin(string $url): string {
    $parts = parse_url(trim($url));
    if (!is_array($parts) || !isset($parts['scheme'], $parts['host'])) {
      return '';
    }
    $scheme = strtolower($parts['scheme']);
    $port = $parts['port'] ?? NULL;
    $port = ($port === NULL || ($scheme === 'https' && $port === 443) || ($scheme === 'http' && $port === 80)) ? '' : ':' . $port;
    return $scheme . '://' . strtolower($parts['host']) . $port;
  }

  /**
   * Whether a gateway URL may carry keys: https, or http to this machine only.
   */
  public static function isSafeGatewayUrl(string $url): bool {
    $parts = parse_url(trim($url));
    if (!is_array($parts) || !isset($parts['scheme'], $parts['host'])) {
      return FALSE;
    }
    $scheme = strtolower($parts['scheme']);
    $host = strtolower(trim($parts['host'], '[]'));
    $loopback = $host === 'localhost' || $host === '::1'
      || (filter_var($host, FILTER_VALIDATE_IP, FILTER_FLAG_IPV4) !== FALSE && str_starts_with($host, '127.'));
    return $scheme === 'https' || ($scheme === 'http' && $loopback);
  }

  public function gatewayUrl(): string {
    return rtrim((string) ($this->values['gateway_url'] ?? ''), '/');
  }

  public function site(): string {
    return (string) ($this->values['site'] ?? '');
  }

  public function publishableKey(): string {
    return (string) ($this->values['publishable_key'] ?? '');
  }

  /**
   * The key for server-side calls: the server key when set for this very gateway origin
   * over a safe URL, else the publishable one. A gateway URL changed to another host (in the
   * form, by drush or by config import) so never receives the secret.
   */
  public function serverKey(): string {
    return $this->hasServerKey() ? (string) $this->values['server_key'] : $this->publishableKey();
  }

  /**
   * Whether a server key is set in settings.php but not for the configured gateway.
   */
  public function serverKeyWithheld(): bool {
    return (string) ($this->values['server_key'] ?? '') !== '' && !$this->hasServerKey();
  }

  /**
   * Whether the secret key for admin calls (authored slots) is there, for this gateway.
   */
  public function canAdminister(): bool {
    return $this->hasServerKey();
  }

  private function hasServerKey(): bool {
    $key = (string) ($this->values['server_key'] ?? '');
    $origin = self::origin((string) ($this->values['server_key_origin'] ?? ''));
    return $key !== '' && $origin !== '' && $origin === self::origin($this->gatewayUrl())
      && self::isSafeGatewayUrl($this->gatewayUrl());
  }

  public function deliveryMode(): string {
    $mode = (string) ($this->values['delivery_mode'] ?? 'auto');
    return in_array($mode, self::MODES, TRUE) ? $mode : 'auto';
  }

  /**
   * The time budget in seconds, clamped so a bad value can never hang a page.
   */
  public function budgetSeconds(): float {
    return self::budgetMs($this->values['time_budget_ms'] ?? NULL) / 1000;
  }

  /**
   * A time budget as stored: 20-5000 ms, the schema's range; 150 when empty or not a number
   * (an emptied form field, a bad drush cset).
   */
  public static function budgetMs(mixed $value): int {
    $ms = is_numeric($value) ? (int) $value : 0;
    return $ms > 0 ? max(20, min(5000, $ms)) : 150;
  }

  public function defaultConsent(): string {
    $level = (string) ($this->values['default_consent'] ?? 'anonymous');
    return in_array($level, self::CONSENT_LEVELS, TRUE) ? $level : 'anonymous';
  }

  /**
   * @return string[]
   */
  public function geoHeaders(): array {
    $headers = $this->values['geo_headers'] ?? [];
    return is_array($headers) ? array_values(array_filter(array_map('strval', $headers))) : [];
  }

  public function trackNodeViews(): bool {
    return (bool) ($this->values['track_node_views'] ?? TRUE);
  }

  /**
   * Whether server-rendered pages load client.js too (impressions, clicks, and the page view).
   */
  public function serverImpressions(): bool {
    return (bool) ($this->values['server_impressions'] ?? FALSE);
  }

  public function trackCommerce(): bool {
    return (bool) ($this->values['track_commerce'] ?? TRUE);
  }

  /**
   * Whether there is enough to call a gateway at all.
   */
  public function isConfigured(): bool {
    return $this->gatewayUrl() !== '' && $this->site() !== '' && $this->publishableKey() !== '';
  }

}
