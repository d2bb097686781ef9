<?php
// SPDX-License-Identifier: Apache-2.0

declare(strict_types=1);

namespace Drupal\Tests\slotwise;

use Drupal\slotwise\EventSubscriber\SlotwiseSubscriber;
use Drupal\slotwise\SlotRenderer;
use PHPUnit\Framework\TestCase;
use Symfony\Component\HttpFoundation\Response;

final class SlotRendererTest extends TestCase {

  private function gateway(array $blocks): ScriptedHttpClient {
    return new ScriptedHttpClient(function ($method, $uri, $options) use ($blocks) {
      $asked = $options['json']['slots'];
      return ScriptedHttpClient::json(['visitor_id' => 'v0000000001',
        'blocks' => array_intersect_key($blocks, array_flip($asked))]);
    });
  }

  public function testAutoModeUsesTheBrowserForAnonymousVisitorsBehindThePageCache(): void {
    $site = new Site(new ScriptedHttpClient(fn () => $this->fail('client mode must not call the gateway')),
      request(), [], ['page_cache']);
    $build = $site->renderer->build('hero', '<p>Welcome</p>', 'basic_html');
    $this->assertSame('container', $build['slot']['#type']);
    $this->assertSame('hero', $build['slot']['#attributes']['data-slotwise-slot']);
    $script = $build['slot']['#attached']['html_head'][0];
    $this->assertSame('slotwise_client', $script[1]);
    $this->assertSame('http://gateway.test/v1/client.js', $script[0]['#attributes']['src']);
    $this->assertContains('user.roles:anonymous', $build['#cache']['contexts']);
    $this->assertArrayNotHasKey('#lazy_builder', $build['slot']);
    $this->assertSame('<div data-slotwise-slot="hero" class="slotwise-slot"><p>Welcome</p></div>', html($build));
  }

  public function testServerModeIsALazyBuilderPlaceholderThatIsNeverCached(): void {
    foreach ([[[], TRUE], [['page_cache'], FALSE], [[], FALSE]] as [$modules, $anonymous]) {
      $site = new Site($this->gateway(['hero' => ['html' => '<b>For you</b>', 'variant' => 'v1']]), request(), [], $modules, $anonymous);
      $build = $site->renderer->build('hero', 'Fallback', 'plain_text');
      $this->assertSame([SlotRenderer::LAZY_BUILDER, ['hero', 'Fallback', 'plain_text']], $build['slot']['#lazy_builder']);
      $this->assertTrue($build['slot']['#create_placeholder']);
      $this->assertArrayNotHasKey('#markup', $build['slot']);
      $out = $site->runLazyBuilder($build);
      $this->assertSame(0, $out['#cache']['max-age']);
      $this->assertSame('<div class="slotwise-slot" data-slotwise-rendered="hero" data-slotwise-state="ready" data-slotwise-variant="v1"><b>For you</b></div>', html($out));
    }
  }

  public function testServerRenderedBlocksSayWhatWasShownForClientJs(): void {
    $blocks = ['hero' => ['html' => '<b>B</b>', 'variant' => 'test:b', 'segments' => ['mobile'],
      'experiment' => ['key' => 'hero-x', 'arm' => 'b', 'holdout' => FALSE, 'propensity' => 0.25]]];
    $site = new Site($this->gateway($blocks), request(), ['delivery_mode' => 'server'], []);
    $out = $site->runLazyBuilder($site->renderer->build('hero', 'Fallback', 'plain_text'));
    $this->assertSame('<div class="slotwise-slot" data-slotwise-rendered="hero" data-slotwise-state="ready" data-slotwise-variant="test:b"'
      . ' data-slotwise-experiment="hero-x" data-slotwise-arm="b" data-slotwise-propensity="0.25" data-slotwise-segments="mobile"><b>B</b></div>', html($out));
  }

  public function testEsiModePrintsOneCacheableIncludeWithTheEncodedFallback(): void {
    $site = new Site(new ScriptedHttpClient(fn () => $this->fail('ESI mode must not call the gateway')),
      request(), ['delivery_mode' => 'esi'], ['page_cache']);
    $build = $site->renderer->build('hero', '<p>Hi there</p>', 'basic_html');
    $this->assertArrayNotHasKey('#lazy_builder', $build['slot']);
    $this->assertSame('<div class="slotwise-slot" data-slotwise-rendered="hero"><esi:include'
      . ' src="/v1/slots/hero/fragment?site=drupal&key=pk_test&fallback=%3Cp%3EHi%20there%3C%2Fp%3E" onerror="continue"/></div>',
      html($build['slot']));
    $this->assertNull($site->killSwitch->check(new Response(), $site->request));
    $this->assertStringNotContainsString('script', html($site->renderer->build('hero', '<p>a</p><script>alert(1)</script>', NULL)['slot']));
    $long = $site->renderer->build('hero', str_repeat('<p>long</p>', 300), NULL);
    $this->assertStringContainsString('fragment?site=drupal&key=pk_test" onerror', html($long['slot']));
  }

  public function testServerModeWritesTheAttributesClientJsMeasures(): void {
    $exp = ['key' => 'hero-season', 'arm' => 'denim', 'propensity' => 0.412, 'bandit' => TRUE, 'bucket' => '<m>'];
    $site = new Site($this->gateway(['hero' => ['html' => '<b>Denim</b>', 'variant' => 'season:denim', 'experiment' => $exp]]), request());
    $out = $site->runLazyBuilder($site->renderer->build('hero', 'Fallback', 'plain_text'));
    $this->assertSame('<div class="slotwise-slot" data-slotwise-rendered="hero" data-slotwise-state="ready" data-slotwise-variant="season:denim" data-slotwise-experiment="hero-season" data-slotwise-arm="denim" data-slotwise-propensity="0.412" data-slotwise-bucket="&lt;m&gt;"><b>Denim</b></div>', html($out));
  }

  public function testServerModeKeepsAnonymousPagesOutOfSharedCaches(): void {
    $site = new Site($this->gateway(['hero' => ['html' => 'x']]), request(), ['delivery_mode' => 'server'], ['page_cache']);
    $site->runLazyBuilder($site->renderer->build('hero', '', NULL));
    $this->assertSame('deny', $site->killSwitch->check(new Response(), $site->request));

    // Without page_cache too: the same policy keeps public Cache-Control off the page.
    $site = new Site($this->gateway(['hero' => ['html' => 'x']]), request(), ['delivery_mode' => 'server'], []);
    $site->runLazyBuilder($site->renderer->build('hero', '', NULL));
    $this->assertSame('deny', $site->killSwitch->check(new Response(), $site->request));

    // Signed-in visitors' pages are private already; their pages stay in the caches they use.
    $site = new Site($this->gateway(['hero' => ['html' => 'x']]), request(), ['delivery_mode' => 'server'], ['page_cache'], FALSE);
    $site->runLazyBuilder($site->renderer->build('hero', '', NULL));
    $this->assertNull($site->killSwitch->check(new Response(), $site->request));
  }

  public function testAllSlotsOfAPageAreFetchedInOneRequest(): void {
    $site = new Site($this->gateway(['hero' => ['html' => 'H'], 'recs' => ['html' => 'R'], 'offer' => ['html' => 'O']]), request());
    $builds = array_map(fn ($s) => $site->renderer->build($s, "fallback $s", NULL), ['hero', 'recs', 'offer']);
    // Drupal bubbles the placeholders into the response's attachments.
    $attachments = ['placeholders' => [], 'library' => ['core/drupal']];
    foreach ($builds as $build) {
      $attachments['placeholders'] += renderBlock($build)['placeholders'];
    }
    $attachments['placeholders']['<other>'] = ['#lazy_builder' => ['other.service:build', ['x']]];
    $this->assertSame(['hero', 'recs', 'offer'], SlotwiseSubscriber::slotsOf($attachments));
    $site->subscriber->onResponse(responseEvent($site->request, htmlResponse($attachments)));
    $html = implode('', array_map(fn ($b) => html($site->runLazyBuilder($b)), $builds));
    $this->assertCount(1, $site->http->requests);
    $this->assertSame(['hero', 'recs', 'offer'], $site->http->requests[0]['options']['json']['slots']);
    $this->assertStringContainsString('>H</div>', $html);
    $this->assertStringContainsString('>R</div>', $html);
    $this->assertStringContainsString('>O</div>', $html);
  }

  public function testWithoutPrimingEachSlotStillRendersOnce(): void {
    $site = new Site($this->gateway(['hero' => ['html' => 'H']]), request());
    $build = $site->renderer->build('hero', 'F', NULL);
    $site->runLazyBuilder($build);
    $site->runLazyBuilder($build);
    $this->assertCount(1, $site->http->requests);
  }

  public function testFallbackWhenTheGatewayFailsOrLeavesASlotOut(): void {
    $site = new Site(new ScriptedHttpClient(fn () => new TextResponse(503, 'busy')), request());
    $out = $site->runLazyBuilder($site->renderer->build('hero', '<p>Our picks</p>', 'basic_html'));
    $this->assertSame(['#type' => 'processed_text', '#text' => '<p>Our picks</p>', '#format' => 'basic_html'], $out['content']);
    $this->assertStringContainsString('data-slotwise-state="fallback"', html($out));
    $this->assertSame(0, $out['#cache']['max-age']);

    $site = new Site($this->gateway(['hero' => ['html' => 'H']]), request());
    $site->renderer->prime(['hero', 'gone']);
    $out = $site->runLazyBuilder($site->renderer->build('gone', 'Plain', ''));
    $this->assertSame('Plain', $out['content']['#text']);
    $this->assertNull($out['content']['#format']);
  }

  public function testGatewayHtmlGoesThroughMarkupAndAttributesAreEscaped(): void {
    $site = new Site($this->gateway(['hero' => ['html' => '<p>ok</p>', 'variant' => '"><script>x</script>']]), request());
    $out = $site->runLazyBuilder($site->renderer->build('hero', '', NULL));
    // Filtered here (GatewayMarkup): a Markup object the renderer does not filter again.
    $this->assertInstanceOf(\Drupal\Core\Render\Markup::class, $out['content']['#markup']);
    $this->assertSame('<p>ok</p>', (string) $out['content']['#markup']);
    $this->assertStringNotContainsString('"><script>', $out['#prefix']);
  }

  public function testSlotNamesInThePlaceholderAreEscaped(): void {
    $site = new Site(new ScriptedHttpClient(fn () => $this->fail('no call')), request(), ['delivery_mode' => 'client']);
    $this->assertStringContainsString('data-slotwise-slot="a&quot;b"', html($site->renderer->build('a"b', '', NULL)));
  }

}
