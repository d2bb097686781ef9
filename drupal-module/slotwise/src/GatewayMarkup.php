<?php
// SPDX-License-Identifier: GPL-2.0-or-later

declare(strict_types=1);

namespace Drupal\slotwise;

use Drupal\Component\Render\MarkupInterface;
use Drupal\Component\Utility\Xss;
use Drupal\Core\Render\Markup;

/**
 * Filters the gateway's HTML before it goes into a page.
 *
 * Xss::filterAdmin() is the second line of defence behind the gateway's sandboxed,
 * autoescaped templates, but it strips every protocol outside filter_protocols, which turns
 * `<img src="data:image/svg+xml,...">` into a relative URL (a broken image and a 404 into
 * Drupal). Raster and SVG images as data: URIs in an img src are inert (an SVG loaded as an
 * image runs no script), so those, and only those, are kept: each is swapped for a random
 * token before filtering and put back after. Everything else gets filterAdmin() unchanged.
 */
final class GatewayMarkup {

  private const DATA_IMAGE = '#(<img\b[^>]*?\ssrc\s*=\s*)(["\'])\s*(data:image/(?:png|gif|jpeg|webp|avif|svg\+xml)(?:;[a-z0-9=.+-]+)*,(?:(?!\2)[^<>])*)\2#i';

  public static function filter(string $html): MarkupInterface {
    $nonce = bin2hex(random_bytes(8));
    $images = [];
    $html = (string) preg_replace_callback(self::DATA_IMAGE, static function (array $m) use ($nonce, &$images): string {
      $token = 'slotwise-img-' . $nonce . '-' . count($images);
      $images['"' . $token . '"'] = '"' . htmlspecialchars(html_entity_decode($m[3], ENT_QUOTES | ENT_HTML5, 'UTF-8'), ENT_QUOTES, 'UTF-8') . '"';
      return $m[1] . '"' . $token . '"';
    }, $html);
    return Markup::create(strtr(Xss::filterAdmin($html), $images));
  }

}
