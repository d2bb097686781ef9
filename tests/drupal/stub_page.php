<?php
// SPDX-License-Identifier: Apache-2.0

/**
 * @file
 * A stub Drupal page for the protocol harness, served by `php -S ... stub_page.php`.
 *
 * Runs the module's real classes (and slotwise.module's library hook) the way Drupal would
 * for a page with two Personalized slot blocks: block build, response subscriber (one render
 * call, visitor cookie), lazy builders, Drupal's Cache-Control for uncacheable pages, and the
 * terminate event. Environment: SLOTWISE_GATEWAY, SLOTWISE_MODE (delivery mode), SLOTWISE_SITE,
 * SLOTWISE_KEY.
 */

declare(strict_types=1);

namespace {
  require_once 'PHPUnit/Autoload.php';
  require __DIR__ . '/bootstrap.php';

  /**
   * The service locator the .module file uses, backed by the stub's config.
   */
  final class Drupal {
    public static array $settings = [];
    public static function config(string $name): object {
      return new \Drupal\Tests\slotwise\FakeConfig(self::$settings);
    }
  }

  require dirname(__DIR__, 2) . '/drupal-module/slotwise/slotwise.module';
}

namespace Drupal\Tests\slotwise {

    
  $settings = ['gateway_url' => getenv('SLOTWISE_GATEWAY'), 'site' => getenv('SLOTWISE_SITE') ?: 'harness',
    'publishable_key' => getenv('SLOTWISE_KEY') ?: 'pk_harness',
    'server_key' => 'sk_never_printed', 'delivery_mode' => getenv('SLOTWISE_MODE') ?: 'server', 'time_budget_ms' => 150] + Site::SETTINGS;
  \Drupal::$settings = $settings;

  $headers = function_exists('getallheaders') ? getallheaders() : [];
  $scheme = 'http://' . ($_SERVER['HTTP_HOST'] ?? '127.0.0.1');
  $request = request($scheme . $_SERVER['REQUEST_URI'], $headers, $_COOKIE, $_SERVER['REMOTE_ADDR'] ?? NULL, FALSE);
  // Anonymous visitor on a site with the Internal Page Cache, as most Drupal sites are.
  $site = new Site(new StreamHttpClient(), $request, $settings, ['page_cache', 'dynamic_page_cache']);

  $builds = [];
  foreach (['hero' => 'Fallback hero: our bestsellers', 'recs' => 'Fallback recs: popular now'] as $slot => $fallback) {
    $builds[$slot] = $site->renderer->build($slot, "<p>$fallback</p>", 'basic_html');
  }
  $placeholders = [];
  foreach ($builds as $build) {
    $placeholders += renderBlock($build)['placeholders'];
  }
  $response = htmlResponse(['placeholders' => $placeholders]);
  $site->subscriber->onResponse(responseEvent($request, $response));

  $body = '';
  $uncacheable = FALSE;
  $head = [];
  foreach ($builds as $build) {
    if (isset($build['slot']['#lazy_builder'])) {
      $build = $site->runLazyBuilder($build);
      $uncacheable = $uncacheable || ($build['#cache']['max-age'] ?? -1) === 0;
    }
    // html_head elements, deduplicated by their key as Drupal does.
    foreach ($build['slot']['#attached']['html_head'] ?? $build['#attached']['html_head'] ?? [] as [$element, $key]) {
      $head[$key] = html($element);
    }
    $body .= html($build) . "\n";
  }
  $head = implode('', $head);
  // What Drupal's FinishResponseSubscriber sends for a page that is not cacheable.
  header($uncacheable || $site->killSwitch->check($response, $request) === 'deny'
    ? 'Cache-Control: must-revalidate, no-cache, private'
    : 'Cache-Control: max-age=300, public');
  foreach ($response->headers->getCookies() as $cookie) {
    setcookie($cookie->getName(), (string) $cookie->getValue(), ['path' => '/', 'samesite' => 'Lax']);
  }
  echo "<!DOCTYPE html><html><head>$head</head><body>\n$body</body></html>\n";
  $site->subscriber->onTerminate();
}
