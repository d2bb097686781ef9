<?php
// SPDX-License-Identifier: GPL-2.0-or-later

declare(strict_types=1);

namespace Drupal\slotwise\Plugin\Block;

use Drupal\Core\Block\Attribute\Block;
use Drupal\Core\Block\BlockBase;
use Drupal\Core\Plugin\ContainerFactoryPluginInterface;
use Drupal\Core\StringTranslation\TranslatableMarkup;
use Drupal\slotwise\GatewayClient;
use Drupal\slotwise\PersonalizationWidget;
use Symfony\Component\DependencyInjection\ContainerInterface;

/**
 * "Personalization level": lets a visitor choose full, basic or off personalization.
 */
#[Block(
  id: 'slotwise_personalization',
  admin_label: new TranslatableMarkup('Personalization level'),
  category: new TranslatableMarkup('Slotwise'),
)]
final class PersonalizationLevelBlock extends BlockBase implements ContainerFactoryPluginInterface {

  public function __construct(
    array $configuration,
    $plugin_id,
    $plugin_definition,
    private readonly GatewayClient $client,
  ) {
    parent::__construct($configuration, $plugin_id, $plugin_definition);
  }

  public static function create(ContainerInterface $container, array $configuration, $plugin_id, $plugin_definition): static {
    return new static($configuration, $plugin_id, $plugin_definition, $container->get('slotwise.gateway_client'));
  }

  public function build(): array {
    return PersonalizationWidget::build($this->client->settings(), [
      'title' => (string) $this->t('Personalization'),
      'full' => (string) $this->t('Full'),
      'help-full' => (string) $this->t('recommendations from what you browse here'),
      'basic' => (string) $this->t('Basic'),
      'help-basic' => (string) $this->t('only this page and the time of day, nothing remembered'),
      'off' => (string) $this->t('Off'),
      'help-off' => (string) $this->t('no personalization, no identifier'),
      'gpc' => (string) $this->t('Your browser sends Global Privacy Control: nothing is profiled, whatever you choose.'),
      'noscript' => (string) $this->t('Choosing your personalization level needs JavaScript.'),
    ]);
  }

}
