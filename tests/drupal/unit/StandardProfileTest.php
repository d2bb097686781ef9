<?php
// SPDX-License-Identifier: Apache-2.0

declare(strict_types=1);

namespace Drupal\Tests\slotwise;

use Drupal\Core\Cache\Cache;
use Drupal\slotwise\EventSubscriber\SettingsWatcher;
use Drupal\slotwise\EventSubscriber\SlotwiseSubscriber;
use Drupal\slotwise\Settings;
use PHPUnit\Framework\TestCase;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\HttpFoundation\Response;
use Symfony\Component\HttpKernel\Event\RequestEvent;
use Symfony\Component\HttpKernel\HttpKernelInterface;
use Symfony\Component\HttpKernel\KernelEvents;

/**
 * What a real Drupal 10.5 with the standard profile does around the module: BigPipe, the
 * block wrapper, the render cache, config changed outside the form, the admin XSS filter.
 * Core's side is reproduced from its code (cited per helper), the module's side is real.
 */
final class StandardProfileTest extends TestCase {

  private function gateway(array $blocks = []): ScriptedHttpClient {
    return new ScriptedHttpClient(function ($method, $uri, $options) use ($blocks) {
      $out = [];
      foreach ($options['json']['slots'] as $slot) {
        $out[$slot] = ['html' => $blocks[$slot] ?? "<p>$slot for you</p>", 'variant' => 'v'];
      }
      return ScriptedHttpClient::json(['visitor_id' => $options['json']['visitor_id'], 'blocks' => $out]);
    });
  }

  /**
   * kernel.response as Symfony's EventDispatcher runs it: by priority, and for equal
   * priorities in registration order, core's subscribers (registered first) before modules'.
   * BigPipe's HtmlResponsePlaceholderStrategySubscriber (priority 5) replaces each
   * placeholder with a BigPipe one that holds the original in #attached[big_pipe_placeholders]
   * (BigPipeStrategy::createBigPipeJsPlaceholder()).
   */
  private function respondWithBigPipe(Site $site, array $placeholders): array {
    $response = htmlResponse(['placeholders' => $placeholders]);
    $bigPipe = static function ($event) {
      $attachments = $event->getResponse()->getAttachments();
      foreach ($attachments['placeholders'] as $key => $placeholder) {
        $id = 'callback=' . md5($key);
        $attachments['placeholders'][$key] = [
          '#markup' => '<span data-big-pipe-placeholder-id="' . $id . '"></span>',
          '#attached' => ['big_pipe_placeholders' => [$id => $placeholder]],
        ];
      }
      $event->getResponse()->setAttachments($attachments);
    };
    $listeners = [[5, 0, $bigPipe]];
    $order = 1;
    foreach (SlotwiseSubscriber::getSubscribedEvents()[KernelEvents::RESPONSE] as $i => $spec) {
      $spec = (array) $spec;
      if (is_string($spec[0] ?? NULL)) {
        $listeners[] = [$spec[1] ?? 0, $order++, [$site->subscriber, $spec[0]]];
      }
    }
    usort($listeners, static fn ($a, $b) => [$b[0], $a[1]] <=> [$a[0], $b[1]]);
    $event = responseEvent($site->request, $response);
    foreach ($listeners as [, , $listener]) {
      $listener($event);
    }
    // BigPipe sends the headers now, then renders each placeholder in the same process.
    $headers = $response->headers->getCookies();
    $html = '';
    foreach ($response->getAttachments()['placeholders'] as $placeholder) {
      foreach ($placeholder['#attached']['big_pipe_placeholders'] as $original) {
        $html .= html($site->runLazyBuilder($original));
      }
    }
    return [$headers, $html];
  }

  public function testBigPipeStillGetsOneRenderCallAndTheVisitorCookie(): void {
    // Signed-in user (BigPipe's audience), not a node page, first visit.
    $site = new Site($this->gateway(), request('https://example.com/shop'), [], ['big_pipe', 'dynamic_page_cache'], FALSE);
    $placeholders = [];
    foreach (['hero', 'recs', 'offer'] as $slot) {
      $placeholders += renderBlock($site->renderer->build($slot, "fallback $slot", NULL))['placeholders'];
    }
    [$cookies, $html] = $this->respondWithBigPipe($site, $placeholders);
    $this->assertCount(1, $site->http->requests, 'one /v1/render for the three slots');
    $this->assertSame(['hero', 'recs', 'offer'], $site->http->requests[0]['options']['json']['slots']);
    $this->assertCount(1, $cookies, 'the cookie goes out with the headers');
    $this->assertSame($cookies[0]->getValue(), $site->http->requests[0]['options']['json']['visitor_id']);
    $this->assertStringContainsString('offer for you', $html);
  }

  public function testAHungGatewayCostsOneBudgetUnderBigPipeNotOnePerSlot(): void {
    $http = new ScriptedHttpClient(fn () => throw connectError('cURL error 28: Operation timed out after 150 milliseconds'));
    $site = new Site($http, request('https://example.com/shop'), [], ['big_pipe'], FALSE);
    $placeholders = [];
    foreach (['hero', 'recs', 'offer'] as $slot) {
      $placeholders += renderBlock($site->renderer->build($slot, "fallback $slot", NULL))['placeholders'];
    }
    [, $html] = $this->respondWithBigPipe($site, $placeholders);
    $this->assertCount(1, $http->requests);
    $this->assertSame(3, substr_count($html, 'data-slotwise-state="fallback"'));
  }

  public function testSlotsAreFoundInsideBigPipePlaceholdersToo(): void {
    $site = new Site($this->gateway(), request(), [], [], FALSE);
    $original = renderBlock($site->renderer->build('hero', '', NULL))['placeholders'];
    $moved = ['<ph>' => ['#markup' => '<span></span>', '#attached' => ['big_pipe_nojs_placeholders' => $original]]];
    $this->assertSame(['hero'], SlotwiseSubscriber::slotsOf(['placeholders' => $moved]));
  }

  /**
   * Render cache of the block as core keeps it: the build rendered once, stored with the
   * cache metadata that bubbled to it (placeholders keep theirs), served until a tag of it
   * is invalidated; placeholders are then replaced per request.
   */
  private function serveBlock(array &$cache, array $settings, array $modules): string {
    $site = new Site($this->gateway(), request('https://example.com/', [], ['slotwise_vid' => 'visitorAAAA1']), $settings, $modules);
    foreach ($cache as $key => $entry) {
      if (array_intersect($entry['tags'], Cache::$invalidated)) {
        unset($cache[$key]);
      }
    }
    $cache['block'] ??= ['build' => $build = $site->renderer->build('hero', 'Fallback', NULL)] + renderBlock($build)['cache'];
    $build = $cache['block']['build'];
    return isset($build['slot']['#lazy_builder']) ? html($site->runLazyBuilder($build)) : html($build);
  }

  public function testSwitchingTheModeReRendersTheCachedBlock(): void {
    Cache::$invalidated = [];
    $cache = [];
    $this->assertStringContainsString('data-slotwise-state="ready"', $this->serveBlock($cache, ['delivery_mode' => 'server'], ['page_cache']));
    $this->assertContains('config:slotwise.settings', $cache['block']['tags']);
    $this->assertContains('user.roles:anonymous', $cache['block']['contexts']);
    // Saving the form (or drush cset) saves the config, which invalidates its tag.
    Cache::invalidateTags(['config:slotwise.settings']);
    $page = $this->serveBlock($cache, ['delivery_mode' => 'auto'], ['page_cache']);
    $this->assertStringContainsString('data-slotwise-slot="hero"', $page);
    $this->assertStringNotContainsString('data-slotwise-state="ready"', $page);
  }

  public function testInstallingPageCacheInAutoModeReRendersTheCachedBlock(): void {
    require_once dirname(__DIR__, 3) . '/drupal-module/slotwise/slotwise.module';
    Cache::$invalidated = [];
    $cache = [];
    $this->assertStringContainsString('data-slotwise-state="ready"', $this->serveBlock($cache, ['delivery_mode' => 'auto'], []));
    slotwise_modules_installed(['page_cache']);
    $page = $this->serveBlock($cache, ['delivery_mode' => 'auto'], ['page_cache']);
    $this->assertStringNotContainsString('data-slotwise-state="ready"', $page);
    Cache::$invalidated = [];
    slotwise_modules_installed(['views_ui']);
    $this->assertSame([], Cache::$invalidated, 'other modules leave the cache alone');
  }

  public function testAPlaceholderCachedBeforeASwitchToBrowserModeAnswersAsBrowserMode(): void {
    $site = new Site(new ScriptedHttpClient(fn () => $this->fail('no gateway call in browser mode')), request(), ['delivery_mode' => 'client']);
    $stale = ['slot' => ['#lazy_builder' => ['slotwise.slot_renderer:lazyBuild', ['hero', '<p>F</p>', '']], '#create_placeholder' => TRUE]];
    $out = $site->runLazyBuilder($stale);
    $this->assertSame('hero', $out['#attributes']['data-slotwise-slot']);
    $this->assertSame('slotwise_client', $out['#attached']['html_head'][0][1]);
  }

  public function testTheClientTagFollowsConfigChangedOutsideTheForm(): void {
    // The tag is an html_head attachment of the cached block/page (tag config:slotwise.settings),
    // not a library cached site-wide.
    $site = new Site($this->gateway(), request(), ['delivery_mode' => 'client', 'gateway_url' => 'https://new-gw.example']);
    $build = $site->renderer->build('hero', '', NULL);
    $this->assertContains('config:slotwise.settings', renderBlock($build)['cache']['tags']);
    $this->assertSame('https://new-gw.example/v1/client.js', $build['slot']['#attached']['html_head'][0][0]['#attributes']['src']);
    $this->assertStringNotContainsString('library', json_encode($build));
  }

  public function testASettingsPhpOverrideInvalidatesTheSettingsTagOnce(): void {
    $state = new MemoryState();
    $invalidator = new RecordingInvalidator();
    $event = new RequestEvent(new FakeKernel(), request(), HttpKernelInterface::MAIN_REQUEST);
    $run = function (array $overrides) use ($state, $invalidator, $event) {
      $config = new FakeConfigFactory(['slotwise.settings' => $overrides + Site::SETTINGS]);
      (new SettingsWatcher($config, $state, $invalidator))->onRequest($event);
    };
    $run([]);
    $this->assertSame([], $invalidator->invalidated, 'the first request only records');
    $run([]);
    $this->assertSame([], $invalidator->invalidated);
    $run(['publishable_key' => 'pk_rotated']);
    $this->assertSame(['config:slotwise.settings'], $invalidator->invalidated);
    $run(['publishable_key' => 'pk_rotated']);
    $this->assertSame(['config:slotwise.settings'], $invalidator->invalidated, 'once per change');
    $run(['time_budget_ms' => 300, 'publishable_key' => 'pk_rotated']);
    $this->assertCount(1, $invalidator->invalidated, 'settings that never reach a page do not count');
  }

  public function testBrowserModeKeepsTheBlockTitleOutsideTheSlot(): void {
    $site = new Site($this->gateway(), request(), ['delivery_mode' => 'client']);
    $page = blockWrapper($site->renderer->build('hero', '<p>Fallback</p>', NULL), 'Picked for you');
    $this->assertMatchesRegularExpression('#^<div><h2>Picked for you</h2><div data-slotwise-slot="hero"[^>]*><p>Fallback</p></div></div>$#', $page);
  }

  public function testServerModeKeepsTheGatewaysDataImagesAndStillFilters(): void {
    $svg = 'data:image/svg+xml,%3Csvg%20xmlns%3D%27http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg%27%3E%3C%2Fsvg%3E';
    $site = new Site($this->gateway(['hero' => '<img src="' . $svg . '" alt="Shoe"><img src="data:text/html,x"><a href="javascript:alert(1)">x</a><script>alert(2)</script>']), request());
    $html = html($site->runLazyBuilder($site->renderer->build('hero', '', NULL)));
    $this->assertStringContainsString('<img src="' . $svg . '" alt="Shoe">', $html);
    $this->assertStringNotContainsString('data:text', $html);
    $this->assertStringNotContainsString('javascript:', $html);
    $this->assertStringNotContainsString('<script', $html);
  }

  public function testGlobalPrivacyControlGetsNoCookieInServerMode(): void {
    $site = new Site($this->gateway(), request('https://example.com/', ['Sec-GPC' => '1']), ['delivery_mode' => 'server']);
    $build = $site->renderer->build('hero', '', NULL);
    $response = htmlResponse(renderBlock($build));
    $site->subscriber->onResponse(responseEvent($site->request, $response));
    $html = html($site->runLazyBuilder($build));
    $this->assertSame([], $response->headers->getCookies());
    $this->assertNull($site->http->requests[0]['options']['json']['visitor_id']);
    $this->assertStringContainsString('hero for you', $html, 'still rendered, just not remembered');
  }

  public function testTheServerKeyGoesOnlyToItsOwnOriginOverHttps(): void {
    $secret = ['slotwise_server_key' => 'sk_live', 'slotwise_server_key_origin' => 'https://gw.example.com'];
    $key = function (string $url) use ($secret): string {
      $site = new Site($this->gateway(), request(), ['gateway_url' => $url, 'delivery_mode' => 'server'], [], TRUE, NULL, $secret);
      $site->runLazyBuilder($site->renderer->build('hero', '', NULL));
      return $site->http->requests[0]['options']['headers']['X-Slotwise-Key'];
    };
    $this->assertSame('sk_live', $key('https://gw.example.com'));
    $this->assertSame('sk_live', $key('https://GW.example.com:443/'));
    $this->assertSame('pk_test', $key('https://evil.example.net'), 'the URL changed: the secret stays home');
    $this->assertSame('pk_test', $key('https://gw.example.com:8443'));
    $this->assertSame('pk_test', $key('http://gw.example.com'));
    $loopback = ['slotwise_server_key_origin' => 'http://127.0.0.1:8080'] + $secret;
    $site = new Site($this->gateway(), request(), ['gateway_url' => 'http://127.0.0.1:8080'], [], TRUE, NULL, $loopback);
    $this->assertSame('sk_live', $site->client->settings()->serverKey());
  }

  public function testOnlyHttpsOrLoopbackGatewayUrlsAreAccepted(): void {
    foreach (['https://gw.example.com', 'http://127.0.0.1:8080', 'http://localhost:8080', 'http://[::1]:8080'] as $ok) {
      $this->assertTrue(Settings::isSafeGatewayUrl($ok), $ok);
    }
    foreach (['http://gw.example.com', 'http://127.0.0.1.evil.example', 'ftp://gw.example.com', 'gw.example.com', ''] as $bad) {
      $this->assertFalse(Settings::isSafeGatewayUrl($bad), $bad);
    }
  }

}
