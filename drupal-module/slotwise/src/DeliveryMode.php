<?php
// SPDX-License-Identifier: GPL-2.0-or-later

declare(strict_types=1);

namespace Drupal\slotwise;

/**
 * Decides whether a slot is rendered on the server or in the browser.
 *
 * Drupal's Internal Page Cache stores whole pages for anonymous visitors whatever the
 * max-age of their parts, so a server-rendered slot there would be served to the next
 * visitor. "auto" therefore renders in the browser for anonymous traffic when page_cache
 * is enabled, and on the server otherwise. "server" forces server rendering: pages with a
 * slot then trigger the page cache kill switch (see SlotRenderer). "esi" prints an
 * <esi:include> per slot for Varnish to fill (the same markup for everyone, fully cacheable).
 */
final class DeliveryMode {

  public const SERVER = 'server';
  public const CLIENT = 'client';
  public const ESI = 'esi';

  public static function resolve(string $setting, bool $anonymous, bool $pageCacheEnabled): string {
    return match ($setting) {
      'server' => self::SERVER,
      'client' => self::CLIENT,
      'esi' => self::ESI,
      default => ($anonymous && $pageCacheEnabled) ? self::CLIENT : self::SERVER,
    };
  }

}
