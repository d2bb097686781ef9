<?php
// SPDX-License-Identifier: Apache-2.0

declare(strict_types=1);

namespace Drupal\Tests\slotwise;

use Drupal\slotwise\PersonalizationWidget;
use Drupal\slotwise\Settings;
use PHPUnit\Framework\TestCase;

final class PersonalizationWidgetTest extends TestCase {

  public function testThePlaceholderCarriesTheLabelsAndLoadsTheClient(): void {
    $settings = Settings::fromConfig(new FakeConfig(Site::SETTINGS));
    $build = PersonalizationWidget::build($settings, ['title' => 'Ihre <Wahl>', 'basic' => 'Einfach', 'off' => '']);
    $this->assertSame('<div data-slotwise-widget="personalization" class="slotwise-personalization" data-title="Ihre &lt;Wahl&gt;" data-label-basic="Einfach">'
      . '<noscript></noscript></div>', html($build));
    $this->assertSame('Choosing your personalization level needs JavaScript.', $build['noscript']['#value']);
    $script = $build['#attached']['html_head'][0];
    $this->assertSame('slotwise_client', $script[1]);
    $this->assertSame('http://gateway.test/v1/client.js', $script[0]['#attributes']['src']);
    $this->assertSame('pk_test', $script[0]['#attributes']['data-key']);
    $this->assertContains('config:slotwise.settings', $build['#cache']['tags']);
  }

  public function testNothingIsAttachedBeforeTheGatewayIsConfigured(): void {
    $settings = Settings::fromConfig(new FakeConfig(['gateway_url' => ''] + Site::SETTINGS));
    $this->assertSame([], PersonalizationWidget::build($settings, [])['#attached']);
  }

}
