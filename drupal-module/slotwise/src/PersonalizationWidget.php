<?php
// SPDX-License-Identifier: GPL-2.0-or-later

declare(strict_types=1);

namespace Drupal\slotwise;

/**
 * The personalization level widget's render array (placed by PersonalizationLevelBlock).
 *
 * A placeholder that the gateway's client.js turns into the visitor's choice of full, basic
 * or off personalization, saved through the gateway's consent route with the publishable key
 * (no secret reaches the page). The same markup for every visitor, so page caches keep it.
 */
final class PersonalizationWidget {

  /**
   * @param array<string, string> $labels
   *   Translated texts: title, full, basic, off (and help-full, help-basic, help-off, gpc,
   *   noscript); missing ones fall back to client.js's English.
   *
   * @return array<string, mixed>
   */
  public static function build(Settings $settings, array $labels): array {
    $attributes = [
      'data-slotwise-widget' => 'personalization',
      'class' => ['slotwise-personalization'],
    ];
    foreach (['title' => 'data-title', 'full' => 'data-label-full', 'basic' => 'data-label-basic',
      'off' => 'data-label-off', 'help-full' => 'data-help-full', 'help-basic' => 'data-help-basic',
      'help-off' => 'data-help-off', 'gpc' => 'data-gpc',
    ] as $key => $attribute) {
      if (isset($labels[$key]) && $labels[$key] !== '') {
        $attributes[$attribute] = $labels[$key];
      }
    }
    // The widget is a child, not the top level: Block layout and Layout Builder move a block
    // content's top-level #attributes onto the block wrapper, and client.js would then fill
    // the wrapper, replacing the block's title.
    return [
      'widget' => [
        '#type' => 'container',
        '#attributes' => $attributes,
        'noscript' => [
          '#type' => 'html_tag',
          '#tag' => 'noscript',
          '#value' => $labels['noscript'] ?? 'Choosing your personalization level needs JavaScript.',
        ],
      ],
      '#attached' => ClientTag::attachments($settings),
      '#cache' => ['tags' => ['config:slotwise.settings']],
    ];
  }

}
