<?php
// SPDX-License-Identifier: GPL-2.0-or-later

declare(strict_types=1);

namespace Drupal\slotwise;

/**
 * The script tag of the gateway's client.js, as an #attached html_head element.
 *
 * Not a library: library definitions are cached site-wide under library_info, which a
 * config change made outside the settings form (drush cset, config import, a settings.php
 * override) never invalidates. An html_head element is cached with the page or block that
 * attaches it, under that render array's config:slotwise.settings tag, which every config
 * save invalidates (and SettingsWatcher for settings.php overrides). The same key on every
 * attachment keeps it to one tag per page.
 */
final class ClientTag {

  public const KEY = 'slotwise_client';

  /**
   * @return array<string, mixed>
   *   The #attached array; empty while the gateway is not configured.
   */
  public static function attachments(Settings $settings): array {
    if (!$settings->isConfigured()) {
      return [];
    }
    return [
      'html_head' => [[
        [
          '#type' => 'html_tag',
          '#tag' => 'script',
          '#attributes' => [
            'src' => $settings->gatewayUrl() . '/v1/client.js',
            'async' => TRUE,
            'data-site' => $settings->site(),
            'data-key' => $settings->publishableKey(),
            'data-consent' => $settings->defaultConsent(),
          ],
        ],
        self::KEY,
      ],
      ],
    ];
  }

}
