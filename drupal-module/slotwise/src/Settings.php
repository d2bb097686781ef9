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

  public const MODES = ['auto', 'server', 'client'];
  public const CONSENT_LEVELS = ['none', 'anonymous', 'full'];

  /**
   * @param array<string, mixed> $values
   *   The slotwise.settings config data.
   */
  public function __construct(private readonly array $values) {}

  /**
   * Builds the settings from a config object (anything with get($key)).
   */
  public static function fromConfig(object $config): self {
    $values = [];
    foreach (['gateway_url', 'site', 'publishable_key', 'server_key', 'delivery_mode',
      'time_budget_ms', 'default_consent', 'geo_headers', 'track_node_views', 'track_commerce',
    ] as $key) {
      $values[$key] = $config->get($key);
    }
    return new self($values);
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
   * The key for server-side calls: the server key when set, else the publishable one.
   */
  public function serverKey(): string {
    $key = (string) ($this->values['server_key'] ?? '');
    return $key !== '' ? $key : $this->publishableKey();
  }

  public function deliveryMode(): string {
    $mode = (string) ($this->values['delivery_mode'] ?? 'auto');
    return in_array($mode, self::MODES, TRUE) ? $mode : 'auto';
  }

  /**
   * The time budget in seconds, clamped so a bad value can never hang a page.
   */
  public function budgetSeconds(): float {
    $ms = (int) ($this->values['time_budget_ms'] ?? 150);
    return max(20, min(5000, $ms ?: 150)) / 1000;
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
