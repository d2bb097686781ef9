<?php
// SPDX-License-Identifier: Apache-2.0

/**
 * @file
 * The block form's authored variants against a running gateway, for test_drupal_module.py.
 *
 * Usage: php live_authoring.php GATEWAY_URL SITE PUBLISHABLE_KEY SECRET_KEY — publishes a slot
 * with two variants through AuthoredSlots (the module's real classes, Guzzle replaced by a
 * socket client), renders it for a phone and a desktop, publishes a bad condition, retires
 * it, and prints what each step gave as one JSON object.
 */

declare(strict_types=1);

namespace Drupal\Tests\slotwise;

use Drupal\slotwise\AuthoredSlots;

require_once 'PHPUnit/Autoload.php';
require __DIR__ . '/bootstrap.php';

[, $gateway, $siteId, $key, $secret] = $argv;
$settings = ['gateway_url' => $gateway, 'site' => $siteId, 'publishable_key' => $key,
  'delivery_mode' => 'server', 'time_budget_ms' => 3000];
$secrets = ['slotwise_server_key' => $secret, 'slotwise_server_key_origin' => $gateway];
$agents = [
  'mobile' => 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
  'desktop' => 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
];

function page(array $settings, array $secrets, string $ua, array $config): string {
  $request = request('https://example.com/node/1', ['User-Agent' => $ua], [], '127.0.0.1', FALSE);
  $site = new Site(new StreamHttpClient(), $request, $settings, [], TRUE, NULL, $secrets);
  $build = $site->renderer->build(AuthoredSlots::slotName($config['key']), $config['fallback']['value'], NULL);
  return html($site->runLazyBuilder($build));
}

$site = new Site(new StreamHttpClient(), request('https://example.com/admin'), $settings, [], FALSE, NULL, $secrets);
$authored = new AuthoredSlots($site->client);
$config = ['key' => 'live1', 'split' => FALSE, 'fallback' => ['value' => '<p>Drupal default</p>', 'format' => NULL],
  'variants' => [
    ['name' => 'mobile', 'when' => "device.class == 'mobile'", 'content' => ['value' => '<p>Drupal phones</p>']],
    ['name' => 'desktop', 'when' => "device.class == 'desktop'", 'content' => ['value' => '<p>Drupal desktops</p>']],
  ]];
$out = ['published' => $authored->publish($config, 'drupal:block/live1')];
foreach ($agents as $device => $ua) {
  $out['page_' . $device] = page($settings, $secrets, $ua, $config);
}
// A row left empty in the form, then a typo: the error must name row 2's condition.
$bad = $config;
$bad['variants'] = [$config['variants'][0], ['name' => '', 'when' => '', 'content' => ['value' => '']],
  ['when' => "device.clas == 'desktop'"] + $config['variants'][1]];
$out['bad'] = $authored->publish($bad, 'drupal:block/live1');
$out['page_after_bad'] = page($settings, $secrets, $agents['desktop'], $config);
$out['presets'] = $authored->presets();
$out['retired'] = $authored->retire('live1');
$out['page_after_retire'] = page($settings, $secrets, $agents['mobile'], $config);
$out['log'] = $site->logger->lines;
echo json_encode($out, JSON_PRETTY_PRINT), "\n";
