<?php
// SPDX-License-Identifier: Apache-2.0

declare(strict_types=1);

namespace Drupal\Tests\slotwise;

use PHPUnit\Framework\TestCase;

/**
 * The block's output path over a real socket: a stopped gateway and one that never answers.
 *
 * StreamHttpClient honours Guzzle's timeout options the way Guzzle does, so these show that
 * the module hands Guzzle its budget and renders the fallback when the budget runs out.
 * The time bound asserted is loose on purpose (a loaded CI machine): what it rules out is
 * waiting for PHP's default 60 s socket timeout.
 */
final class StoppedGatewayTest extends TestCase {

  private function closedPort(): int {
    $server = stream_socket_server('tcp://127.0.0.1:0');
    $port = (int) substr(strrchr(stream_socket_get_name($server, FALSE), ':'), 1);
    fclose($server);
    return $port;
  }

  private function renderWith(string $gateway, int $budgetMs): array {
    $site = new Site(new StreamHttpClient(), request('https://example.com/'),
      ['gateway_url' => $gateway, 'time_budget_ms' => $budgetMs]);
    $started = microtime(TRUE);
    $out = $site->runLazyBuilder($site->renderer->build('hero', '<p>Our bestsellers</p>', 'basic_html'));
    return [$out, microtime(TRUE) - $started, $site];
  }

  public function testStoppedGatewayRendersTheFallback(): void {
    [$out, $elapsed, $site] = $this->renderWith('http://127.0.0.1:' . $this->closedPort(), 150);
    $this->assertSame('<p>Our bestsellers</p>', $out['content']['#text']);
    $this->assertStringContainsString('data-slotwise-state="fallback"', html($out));
    $this->assertSame(0, $out['#cache']['max-age']);
    $this->assertStringContainsString('Failed to connect', $site->logger->lines[0]);
    $this->assertLessThan(5.0, $elapsed);
  }

  public function testGatewayThatNeverAnswersRendersTheFallbackWhenTheBudgetIsSpent(): void {
    // Accepts connections (the kernel's backlog does) and never replies.
    $server = stream_socket_server('tcp://127.0.0.1:0');
    $port = (int) substr(strrchr(stream_socket_get_name($server, FALSE), ':'), 1);
    try {
      [$out, $elapsed, $site] = $this->renderWith("http://127.0.0.1:$port", 200);
    }
    finally {
      fclose($server);
    }
    $this->assertSame('<p>Our bestsellers</p>', $out['content']['#text']);
    $this->assertStringContainsString('timed out after 200 milliseconds', $site->logger->lines[0]);
    $this->assertGreaterThanOrEqual(0.2, $elapsed, 'the budget was actually waited for');
    $this->assertLessThan(5.0, $elapsed);
  }

}
