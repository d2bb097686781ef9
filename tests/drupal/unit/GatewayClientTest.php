<?php
// SPDX-License-Identifier: Apache-2.0

declare(strict_types=1);

namespace Drupal\Tests\slotwise;

use PHPUnit\Framework\TestCase;

final class GatewayClientTest extends TestCase {

  private function site(callable $handler, array $settings = [], array $siteSettings = []): Site {
    return new Site(new ScriptedHttpClient($handler), request(), $settings, [], TRUE, NULL, $siteSettings);
  }

  public function testRenderSendsOneRequestInTheContractShape(): void {
    $site = $this->site(fn () => ScriptedHttpClient::json([
      'visitor_id' => 'v123456789',
      'blocks' => ['hero' => ['html' => '<p>Hi</p>', 'variant' => 'a', 'segments' => [], 'experiment' => NULL, 'ttl' => 60]],
    ]));
    $result = $site->client->render(['hero', 'recs'], 'v123456789', ['url' => 'https://example.com/x'], ['X-Forwarded-For' => '203.0.113.7']);
    $this->assertSame('v123456789', $result['visitor_id']);
    $this->assertSame('<p>Hi</p>', $result['blocks']['hero']['html']);
    $this->assertArrayNotHasKey('recs', $result['blocks']);
    $this->assertCount(1, $site->http->requests);
    $req = $site->http->requests[0];
    $this->assertSame('POST', $req['method']);
    $this->assertSame('http://gateway.test/v1/render', $req['uri']);
    $this->assertSame(0.15, $req['options']['timeout']);
    $this->assertSame(0.15, $req['options']['connect_timeout']);
    $this->assertFalse($req['options']['http_errors']);
    $this->assertSame('pk_test', $req['options']['headers']['X-Slotwise-Key']);
    $this->assertSame('203.0.113.7', $req['options']['headers']['X-Forwarded-For']);
    $body = json_decode(json_encode($req['options']['json']), TRUE);
    $this->assertSame(['site' => 'drupal', 'visitor_id' => 'v123456789', 'slots' => ['hero', 'recs'],
      'context' => ['url' => 'https://example.com/x']], $body);
  }

  public function testEmptyContextIsSentAsAJsonObject(): void {
    $site = $this->site(fn () => ScriptedHttpClient::json(['visitor_id' => NULL, 'blocks' => []]));
    $site->client->render(['hero'], NULL, []);
    $this->assertStringContainsString('"context":{}', json_encode($site->http->requests[0]['options']['json']));
  }

  public function testServerKeyIsUsedForRenderButNotForTheSlotListing(): void {
    $site = $this->site(fn ($m) => ScriptedHttpClient::json($m === 'GET' ? ['slots' => []] : ['blocks' => []]),
      ['gateway_url' => 'https://gateway.test'], ['slotwise_server_key' => 'sk_server', 'slotwise_server_key_origin' => 'https://gateway.test']);
    $site->client->render(['hero'], NULL, []);
    $site->client->slots();
    $this->assertSame('sk_server', $site->http->requests[0]['options']['headers']['X-Slotwise-Key']);
    $this->assertSame('pk_test', $site->http->requests[1]['options']['headers']['X-Slotwise-Key']);
  }

  /**
   * @dataProvider failures
   */
  public function testEveryFailureGivesNullAndALogLine(callable $handler, string $logged): void {
    $site = $this->site($handler);
    $this->assertNull($site->client->render(['hero'], NULL, []));
    $this->assertCount(1, $site->logger->lines);
    $this->assertStringContainsString($logged, $site->logger->lines[0]);
  }

  public static function failures(): array {
    return [
      'connect' => [fn () => throw connectError('cURL error 7: Failed to connect'), 'Failed to connect'],
      'timeout' => [fn () => throw connectError('cURL error 28: Operation timed out'), 'timed out'],
      'http 500' => [fn () => new TextResponse(500, '{"error":{"code":"internal"}}'), 'HTTP 500'],
      'http 401' => [fn () => new TextResponse(401, '{"error":{"code":"bad_key"}}'), 'HTTP 401'],
      'not json' => [fn () => new TextResponse(200, '<html>proxy error</html>'), 'invalid JSON'],
    ];
  }

  public function testWrongShapesGiveNullOrDropTheBadBlock(): void {
    $site = $this->site(fn () => ScriptedHttpClient::json(['blocks' => 'nope']));
    $this->assertNull($site->client->render(['hero'], NULL, []));
    $site = $this->site(fn () => ScriptedHttpClient::json(['blocks' => ['hero' => ['html' => ['x']], 'ok' => ['html' => '']]]));
    $this->assertSame(['ok'], array_keys($site->client->render(['hero', 'ok'], NULL, [])['blocks']));
  }

  public function testNothingIsSentWhenNotConfigured(): void {
    $site = $this->site(fn () => $this->fail('no request expected'), ['gateway_url' => '']);
    $this->assertNull($site->client->render(['hero'], NULL, []));
    $this->assertNull($site->client->slots());
    $this->assertFalse($site->client->sendEvents([['type' => 'page_view']]));
    $this->assertSame([], $site->http->requests);
  }

  public function testSlotListing(): void {
    $site = $this->site(fn () => ScriptedHttpClient::json(['slots' => [
      ['name' => 'welcome', 'description' => 'Greeting', 'type' => 'welcome'],
      ['name' => 'hero', 'type' => 'banner'],
      ['description' => 'no name'],
    ]]));
    $this->assertSame(['hero' => '', 'welcome' => 'Greeting'], $site->client->slots());
    $this->assertSame('http://gateway.test/v1/slots?site=drupal', $site->http->requests[0]['uri']);
  }

  public function testTestConnectionReportsSlotsOrWhatIsWrong(): void {
    $site = $this->site(fn () => ScriptedHttpClient::json(['slots' => [['name' => 'hero']]]));
    [$ok, $message] = $site->client->testConnection($site->client->settings());
    $this->assertTrue($ok);
    $this->assertStringContainsString('1 slot(s): hero', $message);
    $site = $this->site(fn () => new TextResponse(404, '{"error":{"code":"unknown_site"}}'));
    [$ok, $message] = $site->client->testConnection($site->client->settings());
    $this->assertFalse($ok);
    $this->assertStringContainsString('http://gateway.test', $message);
  }

  public function testBudgetIsClamped(): void {
    $make = fn ($ms) => (new \Drupal\slotwise\Settings(['time_budget_ms' => $ms]))->budgetSeconds();
    $this->assertSame(0.15, $make(NULL));
    $this->assertSame(0.02, $make(1));
    $this->assertSame(5.0, $make(999999));
  }

  /**
   * On a real Drupal 10.5 an emptied "Time budget" field saved time_budget_ms: 0, outside the
   * schema's Range 20-5000 (config validation flagged it). The form now stores what this gives.
   */
  public function testTheSettingsFormStoresABudgetInsideTheSchemasRange(): void {
    $this->assertSame(150, \Drupal\slotwise\Settings::budgetMs(''));
    $this->assertSame(150, \Drupal\slotwise\Settings::budgetMs(NULL));
    $this->assertSame(150, \Drupal\slotwise\Settings::budgetMs('0'));
    $this->assertSame(150, \Drupal\slotwise\Settings::budgetMs('fast'));
    $this->assertSame(20, \Drupal\slotwise\Settings::budgetMs('10'));
    $this->assertSame(300, \Drupal\slotwise\Settings::budgetMs('300'));
    $this->assertSame(5000, \Drupal\slotwise\Settings::budgetMs(60000));
  }

}
