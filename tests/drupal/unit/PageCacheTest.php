<?php
// SPDX-License-Identifier: Apache-2.0

declare(strict_types=1);

namespace Drupal\Tests\slotwise;

use PHPUnit\Framework\TestCase;
use Symfony\Component\HttpFoundation\Request;

/**
 * Two anonymous visitors with different contexts never receive each other's block.
 *
 * Serves one page to two visitors through the caches a Drupal site has: the Internal Page
 * Cache (whole pages for anonymous visitors, by URL, unless the kill switch fired), the
 * Dynamic Page Cache / render cache (the block's render array, by its cache contexts, with
 * placeholders left in) and the placeholder replacement that runs on every request.
 */
final class PageCacheTest extends TestCase {

  private array $pageCache = [];
  private array $renderCache = [];

  /**
   * A gateway that personalizes by country, device and visitor id.
   */
  private function gateway(): ScriptedHttpClient {
    return new ScriptedHttpClient(function ($method, $uri, $options) {
      $country = $options['headers']['CF-IPCountry'] ?? '??';
      $device = str_contains($options['json']['context']->user_agent ?? '', 'iPhone') ? 'mobile' : 'desktop';
      $vid = $options['json']['visitor_id'];
      $blocks = [];
      foreach ($options['json']['slots'] as $slot) {
        $blocks[$slot] = ['html' => "<p>$slot for $country/$device/$vid</p>", 'variant' => "$country-$device"];
      }
      return ScriptedHttpClient::json(['visitor_id' => $vid, 'blocks' => $blocks]);
    });
  }

  private function serve(Request $request, array $settings, array $modules): string {
    $url = $request->getUri();
    if (in_array('page_cache', $modules, TRUE) && isset($this->pageCache[$url])) {
      return $this->pageCache[$url];
    }
    $site = new Site($this->gateway(), $request, $settings, $modules);
    // Render cache keyed by the block's cache contexts (anonymous role here).
    $key = $url . '|' . json_encode($settings) . '|anonymous';
    $build = $this->renderCache[$key] ??= $site->renderer->build('hero', 'Fallback hero', NULL);
    $placeholders = renderBlock($build)['placeholders'];
    $response = htmlResponse(['placeholders' => $placeholders]);
    $site->subscriber->onResponse(responseEvent($request, $response));
    $html = '<main>' . html($placeholders ? $site->runLazyBuilder($build) : $build) . '</main>';
    if (in_array('page_cache', $modules, TRUE) && $site->killSwitch->check($response, $request) !== 'deny' && !$response->headers->getCookies()) {
      $this->pageCache[$url] = $html;
    }
    return $html;
  }

  public static function setups(): array {
    return [
      'auto with page cache' => [['delivery_mode' => 'auto'], ['page_cache', 'dynamic_page_cache']],
      'auto without page cache' => [['delivery_mode' => 'auto'], ['dynamic_page_cache']],
      'server with page cache' => [['delivery_mode' => 'server'], ['page_cache', 'dynamic_page_cache']],
      'client with page cache' => [['delivery_mode' => 'client'], ['page_cache']],
    ];
  }

  /**
   * @dataProvider setups
   */
  public function testTwoAnonymousVisitorsNeverGetEachOthersBlock(array $settings, array $modules): void {
    $a = request('https://example.com/shop', ['CF-IPCountry' => 'US', 'User-Agent' => 'Mozilla/5.0 (iPhone)'], ['slotwise_vid' => 'visitorAAAA1']);
    $b = request('https://example.com/shop', ['CF-IPCountry' => 'DE', 'User-Agent' => 'Mozilla/5.0 (X11; Linux)'], ['slotwise_vid' => 'visitorBBBB2']);
    $pageA = $this->serve($a, $settings, $modules);
    $pageB = $this->serve($b, $settings, $modules);
    $pageA2 = $this->serve($a, $settings, $modules);
    foreach ([$pageA, $pageB, $pageA2] as $page) {
      $this->assertStringContainsString('hero', $page);
    }
    $this->assertStringNotContainsString('visitorAAAA1', $pageB);
    $this->assertStringNotContainsString('US/mobile', $pageB);
    $this->assertStringNotContainsString('visitorBBBB2', $pageA2);
    $this->assertStringNotContainsString('DE/desktop', $pageA2);
    $clientSide = str_contains($pageA, 'data-slotwise-slot="hero"');
    if ($clientSide) {
      // The page is the same for everyone; client.js personalizes it in each browser.
      $this->assertSame($pageA, $pageB);
      $this->assertStringContainsString('Fallback hero', $pageB);
    }
    else {
      $this->assertStringContainsString('hero for US/mobile/visitorAAAA1', $pageA);
      $this->assertStringContainsString('hero for DE/desktop/visitorBBBB2', $pageB);
      $this->assertStringContainsString('hero for US/mobile/visitorAAAA1', $pageA2);
    }
    $this->assertSame($settings['delivery_mode'] === 'client' || ($settings['delivery_mode'] === 'auto' && in_array('page_cache', $modules, TRUE)), $clientSide);
  }

  public function testANewVisitorsCookieNeverLandsInTheSharedPageCache(): void {
    $settings = ['delivery_mode' => 'server'];
    $first = request('https://example.com/', ['CF-IPCountry' => 'US']);
    $site = new Site($this->gateway(), $first, $settings, ['page_cache']);
    $build = $site->renderer->build('hero', '', NULL);
    $response = htmlResponse(renderBlock($build));
    $site->subscriber->onResponse(responseEvent($first, $response));
    $cookie = cookie($response, 'slotwise_vid');
    $this->assertMatchesRegularExpression('/^[0-9a-f]{32}$/', $cookie->getValue());
    $this->assertFalse($cookie->isHttpOnly(), 'client.js reads the same cookie');
    $this->assertSame('deny', $site->killSwitch->check($response, $first));
    $html = html($site->runLazyBuilder($build));
    $this->assertStringContainsString($cookie->getValue(), $html, 'the minted id is the one sent to the gateway');
  }

}
