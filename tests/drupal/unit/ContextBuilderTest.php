<?php
// SPDX-License-Identifier: Apache-2.0

declare(strict_types=1);

namespace Drupal\Tests\slotwise;

use PHPUnit\Framework\TestCase;
use Symfony\Component\HttpFoundation\Request;

final class ContextBuilderTest extends TestCase {

  private function site(Request $request, array $settings = [], bool $anonymous = TRUE, ?FakeRouteMatch $route = NULL): Site {
    return new Site(new ScriptedHttpClient(fn () => $this->fail('no HTTP expected')), $request, $settings, [], $anonymous, $route);
  }

  public function testContextCarriesTheVisitorsRequest(): void {
    $request = request('https://example.com/node/7?utm_source=news', [
      'User-Agent' => 'Mozilla/5.0 (iPhone)', 'Referer' => 'https://www.google.com/', 'Accept-Language' => 'de-DE,de;q=0.9',
    ]);
    $site = $this->site($request, [], TRUE, new FakeRouteMatch('entity.node.canonical', ['node' => '7']));
    $this->assertSame([
      'url' => 'https://example.com/node/7?utm_source=news',
      'referrer' => 'https://www.google.com/',
      'user_agent' => 'Mozilla/5.0 (iPhone)',
      'language' => 'de-DE,de;q=0.9',
      'consent' => 'anonymous',
      'item_id' => '7',
    ], $site->context->context());
  }

  public function testSignedInUsersTimeZoneIsSentAndOtherRoutesHaveNoItem(): void {
    $site = $this->site(request('https://example.com/user/1'), [], FALSE, new FakeRouteMatch('entity.user.canonical', ['user' => '1']));
    $context = $site->context->context();
    $this->assertSame('Europe/Paris', $context['timezone']);
    $this->assertArrayNotHasKey('item_id', $context);
  }

  public function testOnlyTheVisitorHeadersThatMatterAreForwarded(): void {
    $request = request('https://example.com/', [
      'CF-IPCountry' => 'US', 'Sec-GPC' => '1', 'Cookie' => 'SESSabc=secret', 'Authorization' => 'Basic x',
      'CloudFront-Viewer-Country' => 'FR',
    ], [], '198.51.100.9');
    $headers = $this->site($request)->context->forwardedHeaders();
    $this->assertSame(['X-Forwarded-For' => '198.51.100.9', 'CF-IPCountry' => 'US', 'Sec-GPC' => '1'], $headers);
  }

  public function testConsentDefaultCookieAndAlterHook(): void {
    $this->assertSame('anonymous', $this->site(request())->context->consent());
    $this->assertSame('full', $this->site(request('https://example.com/', [], ['slotwise_consent' => 'full']))->context->consent());
    $this->assertSame('anonymous', $this->site(request('https://example.com/', [], ['slotwise_consent' => 'bogus']))->context->consent());
    $this->assertSame('none', $this->site(request(), ['default_consent' => 'none'])->context->consent());

    $site = $this->site(request('https://example.com/', [], ['slotwise_consent' => 'full', 'cookie-agreed' => '0']));
    $site->modules->alters['slotwise_consent'][] = function (&$level, $request) {
      if ($request->cookies->get('cookie-agreed') !== '2') {
        $level = 'none';
      }
    };
    $this->assertSame('none', $site->context->consent());

    $site = $this->site(request());
    $site->modules->alters['slotwise_consent'][] = function (&$level) {
      $level = 'yes please';
    };
    $this->assertSame('none', $site->context->consent(), 'an unknown level from a hook means no consent');
  }

  public function testVisitorIdFromCookieOrMintedAndNeverWithoutConsent(): void {
    $site = $this->site(request('https://example.com/', [], ['slotwise_vid' => 'abcdef0123456789']));
    $this->assertSame('abcdef0123456789', $site->context->visitorId(TRUE));
    $this->assertNull($site->context->mintedVisitorId());

    $site = $this->site(request('https://example.com/', [], ['slotwise_vid' => '<script>']));
    $this->assertNull($site->context->visitorId());
    $minted = $site->context->visitorId(TRUE);
    $this->assertMatchesRegularExpression('/^[0-9a-f]{32}$/', $minted);
    $this->assertSame($minted, $site->context->visitorId());
    $this->assertSame($minted, $site->context->mintedVisitorId());

    $site = $this->site(request('https://example.com/', [], ['slotwise_vid' => 'abcdef0123456789', 'slotwise_consent' => 'none']));
    $this->assertNull($site->context->visitorId(TRUE));
    $this->assertNull($site->context->mintedVisitorId());
  }

}
