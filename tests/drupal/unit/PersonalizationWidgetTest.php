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
    $this->assertSame('Choosing your personalization level needs JavaScript.', $build['widget']['noscript']['#value']);
    $script = $build['#attached']['html_head'][0];
    $this->assertSame('slotwise_client', $script[1]);
    $this->assertSame('http://gateway.test/v1/client.js', $script[0]['#attributes']['src']);
    $this->assertSame('pk_test', $script[0]['#attributes']['data-key']);
    $this->assertContains('config:slotwise.settings', $build['#cache']['tags']);
  }

  /**
   * client.js fills the element that carries data-slotwise-widget with the choice. On a real
   * Drupal 10.5 that element was the block wrapper itself (core moves the content's top-level
   * #attributes there), so the widget replaced the block's title and content.
   */
  public function testPlacedAsABlockTheWidgetStaysInsideTheBlockContent(): void {
    $settings = Settings::fromConfig(new FakeConfig(Site::SETTINGS));
    $page = blockWrapper(PersonalizationWidget::build($settings, ['title' => 'Personalization']), 'Your privacy');
    $this->assertSame('<div><h2>Your privacy</h2><div data-slotwise-widget="personalization" class="slotwise-personalization" data-title="Personalization">'
      . '<noscript></noscript></div></div>', $page);
  }

  public function testNothingIsAttachedBeforeTheGatewayIsConfigured(): void {
    $settings = Settings::fromConfig(new FakeConfig(['gateway_url' => ''] + Site::SETTINGS));
    $this->assertSame([], PersonalizationWidget::build($settings, [])['#attached']);
  }

}
