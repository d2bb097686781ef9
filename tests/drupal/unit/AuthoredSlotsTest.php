<?php
// SPDX-License-Identifier: Apache-2.0

declare(strict_types=1);

namespace Drupal\Tests\slotwise;

use Drupal\slotwise\AuthoredSlots;
use PHPUnit\Framework\TestCase;

final class AuthoredSlotsTest extends TestCase {

  private const SECRETS = ['slotwise_server_key' => 'sk_server', 'slotwise_server_key_origin' => 'https://gateway.test'];

  private function site(callable $gateway, array $secrets = self::SECRETS): Site {
    return new Site(new ScriptedHttpClient($gateway), request(), ['gateway_url' => 'https://gateway.test'], [], FALSE, NULL, $secrets);
  }

  public function testASplitIsOneExperimentWhoseArmErrorsFindTheirRow(): void {
    $config = ['key' => 'abc123', 'split' => TRUE, 'fallback' => ['value' => '<p>Control</p>'], 'variants' => [
      ['name' => 'a', 'weight' => 2, 'content' => ['value' => '<p>A</p>']],
      ['name' => '', 'content' => ['value' => ' ']],
      ['name' => 'b', 'weight' => 1, 'content' => ['value' => '<p>B {{</p>']],
    ]];
    $sent = NULL;
    $site = $this->site(function ($method, $uri, $options) use (&$sent) {
      $sent = [$method, $uri, $options];
      return ScriptedHttpClient::json(['error' => ['code' => 'invalid_slot', 'message' => 'b: template error', 'details' => [
        ['path' => 'slots.drupal-abc123.variants[0].experiment.arms[1].block.html', 'field' => 'block.html',
          'index' => 0, 'variant' => 'split', 'arm' => 1, 'column' => NULL, 'message' => 'template error'],
      ]]], 422);
    });
    $errors = (new AuthoredSlots($site->client))->publish($config, 'drupal:block/abc123');
    $this->assertSame([['element' => 'variants][2][content', 'message' => 'template error']], $errors);
    [$method, $uri, $options] = $sent;
    $this->assertSame(['PUT', 'https://gateway.test/v1/admin/slots/drupal-abc123'], [$method, $uri]);
    $this->assertSame('Bearer sk_server', $options['headers']['Authorization']);
    $this->assertArrayNotHasKey('X-Slotwise-Key', $options['headers']);
    $this->assertSame([['id' => 'split', 'experiment' => ['key' => 'drupal-abc123', 'arms' => [
      ['name' => 'a', 'weight' => 2.0, 'block' => ['type' => 'html', 'html' => '<p>A</p>']],
      ['name' => 'b', 'weight' => 1.0, 'block' => ['type' => 'html', 'html' => '<p>B {{</p>']],
    ]]]], $options['json']['variants']);
    $this->assertSame(['type' => 'html', 'html' => '<p>Control</p>'], $options['json']['default']);
  }

  public function testWithoutTheServerKeyNothingIsSentAndTheEditorIsTold(): void {
    $site = $this->site(fn () => $this->fail('no call without the server key'), []);
    $errors = (new AuthoredSlots($site->client))->publish(['key' => 'abc', 'variants' => []], 'x');
    $this->assertSame('authored', $errors[0]['element']);
    $this->assertStringContainsString('slotwise_server_key', $errors[0]['message']);
  }

  public function testRetireTreatsAnAlreadyRetiredSlotAsDone(): void {
    $site = $this->site(fn () => ScriptedHttpClient::json(['error' => ['code' => 'unknown_slot', 'message' => 'no slot']], 404));
    $this->assertNull((new AuthoredSlots($site->client))->retire('abc'));
    $site = $this->site(fn () => ScriptedHttpClient::json(['error' => ['code' => 'not_authored', 'message' => 'defined in the file']], 409));
    $this->assertSame('defined in the file', (new AuthoredSlots($site->client))->retire('abc'));
  }

}
