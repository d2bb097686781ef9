<?php
// SPDX-License-Identifier: Apache-2.0

/**
 * @file
 * Renders the Drupal block's server path against a running gateway, for test_drupal_module.py.
 *
 * Usage: php live_render.php GATEWAY_URL SITE KEY — prints one JSON object: per visitor the
 * page HTML, the number of HTTP requests made, the cookie set and the kill switch state.
 */

declare(strict_types=1);

namespace Drupal\Tests\slotwise;


require_once 'PHPUnit/Autoload.php';
require __DIR__ . '/bootstrap.php';

[, $gateway, $siteId, $key] = $argv;
$settings = ['gateway_url' => $gateway, 'site' => $siteId, 'publishable_key' => $key,
  'delivery_mode' => 'server', 'time_budget_ms' => 3000];
$visitors = [
  'us_mobile' => request('https://example.com/shop', ['CF-IPCountry' => 'US',
    'User-Agent' => 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1'], [], '127.0.0.1', FALSE),
  'de_desktop' => request('https://example.com/shop', ['CF-IPCountry' => 'DE',
    'User-Agent' => 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'], [], '127.0.0.1', FALSE),
];
$out = [];
foreach ($visitors as $name => $request) {
  $site = new Site(new StreamHttpClient(), $request, $settings, ['page_cache', 'dynamic_page_cache']);
  $build = $site->renderer->build('hero', 'Fallback hero', NULL);
  $response = htmlResponse(renderBlock($build));
  $site->subscriber->onResponse(responseEvent($request, $response));
  $html = html($site->runLazyBuilder($build));
  $cookie = cookie($response, 'slotwise_vid') ?? NULL;
  $out[$name] = [
    'html' => $html,
    'log' => $site->logger->lines,
    'cookie' => $cookie?->getValue(),
    'killed' => $site->killSwitch->check($response, $request) === 'deny',
    'slots' => $site->client->slots(),
  ];
}
echo json_encode($out, JSON_PRETTY_PRINT), "\n";
