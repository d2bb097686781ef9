<?php
// SPDX-License-Identifier: GPL-2.0-or-later

declare(strict_types=1);

namespace Drupal\slotwise\Plugin\Block;

use Drupal\Core\Block\Attribute\Block;
use Drupal\Core\Block\BlockBase;
use Drupal\Core\Form\FormStateInterface;
use Drupal\Core\Plugin\ContainerFactoryPluginInterface;
use Drupal\Core\StringTranslation\TranslatableMarkup;
use Drupal\slotwise\GatewayClient;
use Drupal\slotwise\SlotRenderer;
use Symfony\Component\DependencyInjection\ContainerInterface;

/**
 * "Personalized slot": a thin plugin, the work is in SlotRenderer.
 */
#[Block(
  id: 'slotwise_slot',
  admin_label: new TranslatableMarkup('Personalized slot'),
  category: new TranslatableMarkup('Slotwise'),
)]
final class PersonalizedSlotBlock extends BlockBase implements ContainerFactoryPluginInterface {

  public function __construct(
    array $configuration,
    $plugin_id,
    $plugin_definition,
    private readonly SlotRenderer $renderer,
    private readonly GatewayClient $client,
  ) {
    parent::__construct($configuration, $plugin_id, $plugin_definition);
  }

  public static function create(ContainerInterface $container, array $configuration, $plugin_id, $plugin_definition): static {
    return new static($configuration, $plugin_id, $plugin_definition,
      $container->get('slotwise.slot_renderer'), $container->get('slotwise.gateway_client'));
  }

  public function defaultConfiguration(): array {
    return ['slot' => '', 'fallback' => ['value' => '', 'format' => NULL]];
  }

  public function blockForm($form, FormStateInterface $form_state): array {
    $slots = $this->client->slots();
    $current = $this->configuration['slot'];
    if ($slots) {
      $options = [];
      foreach ($slots as $name => $description) {
        $options[$name] = $description !== '' ? "$name — $description" : $name;
      }
      if ($current !== '' && !isset($options[$current])) {
        $options[$current] = $this->t('@slot (not reported by the gateway)', ['@slot' => $current]);
      }
      $form['slot'] = [
        '#type' => 'select',
        '#title' => $this->t('Slot'),
        '#options' => $options,
        '#default_value' => $current,
        '#required' => TRUE,
        '#description' => $this->t('The slots the gateway reports for this site.'),
      ];
    }
    else {
      $form['slot'] = [
        '#type' => 'textfield',
        '#title' => $this->t('Slot'),
        '#default_value' => $current,
        '#required' => TRUE,
        '#pattern' => '[A-Za-z0-9_.\-]+',
        '#description' => $this->t('The gateway could not list its slots just now (check the <a href=":url">Slotwise settings</a>); type the slot name.', [
          ':url' => '/admin/config/services/slotwise',
        ]),
      ];
    }
    $form['fallback'] = [
      '#type' => 'text_format',
      '#title' => $this->t('Fallback content'),
      '#default_value' => $this->configuration['fallback']['value'] ?? '',
      '#format' => $this->configuration['fallback']['format'] ?? NULL,
      '#description' => $this->t('Shown until the personalized block arrives, and for good when the gateway is slow or down.'),
    ];
    return $form;
  }

  public function blockSubmit($form, FormStateInterface $form_state): void {
    $this->configuration['slot'] = trim((string) $form_state->getValue('slot'));
    $fallback = $form_state->getValue('fallback');
    $this->configuration['fallback'] = [
      'value' => (string) ($fallback['value'] ?? ''),
      'format' => $fallback['format'] ?? NULL,
    ];
  }

  public function build(): array {
    $slot = (string) $this->configuration['slot'];
    if ($slot === '') {
      return [];
    }
    $fallback = $this->configuration['fallback'] ?? [];
    return $this->renderer->build($slot, (string) ($fallback['value'] ?? ''), $fallback['format'] ?? NULL);
  }

}
