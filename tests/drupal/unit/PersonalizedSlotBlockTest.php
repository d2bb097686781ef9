<?php
// SPDX-License-Identifier: Apache-2.0

declare(strict_types=1);

namespace Drupal\Tests\slotwise;

use Drupal\slotwise\AuthoredSlots;
use Drupal\slotwise\Plugin\Block\PersonalizedSlotBlock;
use PHPUnit\Framework\TestCase;

/**
 * The "Personalized slot" block plugin's form, validation and submit, as BlockForm calls
 * them (the plugin sees a SubformState: its own values, the whole form's errors). Each case
 * is one found by submitting the form on a real Drupal 10.5.
 */
final class PersonalizedSlotBlockTest extends TestCase {

  private const SECRETS = ['slotwise_server_key' => 'sk_server', 'slotwise_server_key_origin' => 'https://gateway.test'];

  private const AUTHORED = [
    'slot' => '',
    'fallback' => ['value' => '<p>Default</p>', 'format' => 'basic_html'],
    'authored' => 1,
    'key' => 'abc123',
    'split' => 0,
    'variants' => [
      ['name' => 'phones', 'preset' => '', 'when' => "device.class == 'mobile'", 'weight' => '1', 'content' => ['value' => '<p>Phone</p>', 'format' => 'basic_html']],
      ['name' => 'de', 'preset' => "geo.country == 'DE'", 'when' => '', 'weight' => '1', 'content' => ['value' => '<p>DE</p>', 'format' => 'basic_html']],
      ['name' => '', 'preset' => '', 'when' => '', 'weight' => '1', 'content' => ['value' => '', 'format' => 'basic_html']],
    ],
  ];

  private function block(ScriptedHttpClient $http, array $configuration = []): PersonalizedSlotBlock {
    $site = new Site($http, request(), ['gateway_url' => 'https://gateway.test'], [], FALSE, NULL, self::SECRETS);
    return new PersonalizedSlotBlock($configuration, 'slotwise_slot', ['provider' => 'slotwise'],
      $site->renderer, $site->client, new AuthoredSlots($site->client));
  }

  private function accepting(): ScriptedHttpClient {
    return new ScriptedHttpClient(fn ($method, $uri) => ScriptedHttpClient::json(
      str_contains($uri, '/v1/slots?') ? ['slots' => [['name' => 'hero', 'description' => 'Hero banner']]] : ['ok' => TRUE]));
  }

  public function testAFormRefusedForAnotherReasonPublishesNothing(): void {
    // Drupal 10.5: "Save block" with a machine name already in use published drupal-<key>,
    // and the next try, with a new key, another one; the first stayed at the gateway.
    $http = $this->accepting();
    $block = $this->block($http);
    $state = new FakeFormState(self::AUTHORED, ['id' => 'The machine-readable name is already in use.']);
    $block->blockValidate([], $state);
    $this->assertSame([], $http->requests, 'nothing is published from a refused form');
    $this->assertSame(['id'], array_keys($state->errors));

    $state = new FakeFormState(self::AUTHORED);
    $block->blockValidate([], $state);
    $this->assertSame([], $state->errors);
    $this->assertSame(['PUT', 'https://gateway.test/v1/admin/slots/drupal-abc123'], [$http->requests[0]['method'], $http->requests[0]['uri']]);
    $this->assertSame(["device.class == 'mobile'", "geo.country == 'DE'"], array_column($http->requests[0]['options']['json']['variants'], 'when'),
      'a picked condition replaces the typed one; the row without content is left out');
  }

  public function testTheGatewaysRefusalLandsOnTheRowsField(): void {
    $http = new ScriptedHttpClient(fn () => ScriptedHttpClient::json(['error' => ['code' => 'invalid_slot', 'message' => 'bad', 'details' => [
      ['field' => 'when', 'index' => 1, 'column' => 12, 'message' => "unexpected 'end of expression'"],
    ]]], 422));
    $state = new FakeFormState(self::AUTHORED);
    $this->block($http)->blockValidate([], $state);
    $this->assertSame(['variants][1][when' => "unexpected 'end of expression' (column 12)"], $state->errors);
  }

  public function testAHungGatewayCostsTheBlockFormOneShortCall(): void {
    // Drupal 10.5 with the gateway stopped (SIGSTOP): the form took 7 s to open and 13 s to
    // save, the slot list's 1 s plus 5 s asking for the segment names, on every build.
    $http = new ScriptedHttpClient(function ($method, $uri) {
      throw connectError('cURL error 28: Operation timed out after 1000 milliseconds', $uri);
    });
    $form = $this->block($http)->blockForm([], new FakeFormState());
    $this->assertSame('textfield', $form['slot']['#type'], 'the slot name is typed');
    $this->assertCount(1, $http->requests);
    $this->assertSame(1.0, $http->requests[0]['options']['timeout']);
    $this->assertArrayHasKey("device.class == 'mobile'", $form['variants'][0]['preset']['#options'], 'the built-in conditions stay');

    $http = $this->accepting();
    $form = $this->block($http)->blockForm([], new FakeFormState());
    $this->assertSame('select', $form['slot']['#type']);
    $this->assertSame(['https://gateway.test/v1/slots?site=drupal', 'https://gateway.test/v1/admin/names'], array_column($http->requests, 'uri'));
    $this->assertLessThanOrEqual(1.0, $http->requests[1]['options']['timeout'], 'the picker asks with the short timeout');
  }

  public function testSubmitKeepsTheRowsWithContentAndUntickingRetires(): void {
    $http = $this->accepting();
    $block = $this->block($http);
    $block->blockSubmit([], new FakeFormState(self::AUTHORED));
    $config = $block->getConfiguration();
    $this->assertTrue($config['authored']);
    $this->assertSame('abc123', $config['key']);
    $this->assertSame(['phones', 'de'], array_column($config['variants'], 'name'));
    $this->assertSame("geo.country == 'DE'", $config['variants'][1]['when']);
    $this->assertSame(['value' => '<p>Default</p>', 'format' => 'basic_html'], $config['fallback']);
    $this->assertSame('drupal-abc123', $block->build()['slot']['#lazy_builder'][1][0]);
    $this->assertSame([], $http->requests, 'submit publishes nothing: validate did');

    $reopened = $this->block($http, $config);
    $reopened->blockSubmit([], new FakeFormState(['authored' => 0, 'slot' => 'hero'] + self::AUTHORED));
    $this->assertSame(['DELETE', 'https://gateway.test/v1/admin/slots/drupal-abc123'], [$http->requests[0]['method'], $http->requests[0]['uri']]);
    $this->assertSame('hero', $reopened->build()['slot']['#lazy_builder'][1][0]);
  }

}
