<?php
// SPDX-License-Identifier: GPL-2.0-or-later

declare(strict_types=1);

namespace Drupal\slotwise\Plugin\Block;

use Drupal\Core\Block\Attribute\Block;
use Drupal\Core\Block\BlockBase;
use Drupal\Core\Form\FormStateInterface;
use Drupal\Core\Plugin\ContainerFactoryPluginInterface;
use Drupal\Core\StringTranslation\TranslatableMarkup;
use Drupal\slotwise\AuthoredSlots;
use Drupal\slotwise\GatewayClient;
use Drupal\slotwise\SlotRenderer;
use Symfony\Component\DependencyInjection\ContainerInterface;

/**
 * "Personalized slot": a thin plugin, the work is in SlotRenderer and AuthoredSlots.
 *
 * Either it shows a slot of the gateway (picked from its list), or its variants are written
 * here ("Write the variants here"): then saving the form publishes them to the gateway and the
 * gateway's errors are shown on the fields where they were typed; the fallback content is the
 * default variant.
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
    private readonly AuthoredSlots $authored,
  ) {
    parent::__construct($configuration, $plugin_id, $plugin_definition);
  }

  public static function create(ContainerInterface $container, array $configuration, $plugin_id, $plugin_definition): static {
    return new static($configuration, $plugin_id, $plugin_definition,
      $container->get('slotwise.slot_renderer'), $container->get('slotwise.gateway_client'),
      $container->get('slotwise.authored_slots'));
  }

  public function defaultConfiguration(): array {
    return ['slot' => '', 'fallback' => ['value' => '', 'format' => NULL], 'authored' => FALSE, 'key' => '',
      'split' => FALSE, 'variants' => []];
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
        '#empty_option' => $this->t('- none: variants written below -'),
        '#description' => $this->t('The slots the gateway reports for this site.'),
      ];
    }
    else {
      $form['slot'] = [
        '#type' => 'textfield',
        '#title' => $this->t('Slot'),
        '#default_value' => $current,
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
      '#description' => $this->t('Shown until the personalized block arrives, and for good when the gateway is slow or down. With variants written here it is the default variant too.'),
    ];
    $this->variantsForm($form, $slots !== NULL);
    return $form;
  }

  /**
   * "Write the variants here": rows of name, condition (picked or typed), weight, content.
   */
  private function variantsForm(array &$form, bool $reachable): void {
    $c = $this->configuration;
    $form['key'] = ['#type' => 'value', '#value' => $c['key'] !== '' ? $c['key'] : AuthoredSlots::newKey()];
    $form['authored'] = [
      '#type' => 'checkbox',
      '#title' => $this->t('Write the variants here'),
      '#default_value' => !empty($c['authored']),
      '#description' => $this->t('Saving publishes them to the gateway (no YAML); deleting the block retires them.'),
    ];
    $form['split'] = [
      '#type' => 'checkbox',
      '#title' => $this->t('Experiment split: divide visitors between the variants by weight'),
      '#default_value' => !empty($c['split']),
      '#states' => ['visible' => [':input[name="settings[authored]"]' => ['checked' => TRUE]]],
    ];
    $presets = $this->authored->presets($reachable);
    $rows = array_values((array) $c['variants']);
    $form['variants'] = [
      '#type' => 'details',
      '#title' => $this->t('Variants (the first whose condition matches is shown)'),
      '#open' => TRUE,
      '#tree' => TRUE,
      '#states' => ['visible' => [':input[name="settings[authored]"]' => ['checked' => TRUE]]],
    ];
    for ($i = 0; $i < max(2, count($rows) + 1); $i++) {
      $row = $rows[$i] ?? [];
      $form['variants'][$i] = ['#type' => 'fieldset', '#title' => $this->t('Variant @n', ['@n' => $i + 1])];
      $form['variants'][$i]['name'] = ['#type' => 'textfield', '#title' => $this->t('Name'), '#size' => 20,
        '#default_value' => $row['name'] ?? '', '#pattern' => '[A-Za-z0-9_\-]*'];
      $form['variants'][$i]['preset'] = ['#type' => 'select', '#title' => $this->t('Condition'),
        '#options' => $presets, '#empty_option' => $this->t('- typed below -'),
        '#description' => $this->t('Picking one replaces the expression below.')];
      $form['variants'][$i]['when'] = ['#type' => 'textfield', '#title' => $this->t('Condition (expression)'),
        '#default_value' => $row['when'] ?? '', '#maxlength' => 2000,
        '#description' => $this->t("For example device.class == 'mobile' and geo.country == 'FR'. Empty: every visitor.")];
      $form['variants'][$i]['weight'] = ['#type' => 'number', '#title' => $this->t('Weight (experiment split)'),
        '#min' => 0, '#step' => 'any', '#default_value' => $row['weight'] ?? 1];
      $form['variants'][$i]['content'] = ['#type' => 'text_format', '#title' => $this->t('Content'),
        '#default_value' => $row['content']['value'] ?? '', '#format' => $row['content']['format'] ?? NULL];
    }
  }

  public function blockValidate($form, FormStateInterface $form_state): void {
    if ($form_state->getValue('authored')) {
      // Publishing is the last check, and only of a form nothing else refused (a taken machine
      // name, visibility...): the key is new on every build of an unsaved block, so a slot
      // published from a refused form would stay at the gateway with no block to retire it.
      if ($form_state->getErrors()) {
        return;
      }
      // Rows kept in form order (empty ones too), so each error names the row it came from.
      $config = $this->formConfiguration($form_state, FALSE);
      foreach ($this->authored->publish($config, 'drupal:block/' . $config['key']) as $error) {
        $form_state->setErrorByName($error['element'], $error['message']);
      }
    }
    elseif (trim((string) $form_state->getValue('slot')) === '') {
      $form_state->setErrorByName('slot', $this->t('Choose a slot, or write the variants here.'));
    }
  }

  public function blockSubmit($form, FormStateInterface $form_state): void {
    $was = !empty($this->configuration['authored']);
    $this->configuration = $this->formConfiguration($form_state) + $this->configuration;
    if ($was && empty($this->configuration['authored'])) {
      $this->authored->retire((string) $this->configuration['key']);
    }
  }

  /**
   * The block configuration the form holds (variant rows without content dropped).
   */
  private function formConfiguration(FormStateInterface $form_state, bool $compact = TRUE): array {
    $fallback = $form_state->getValue('fallback');
    $rows = [];
    foreach ((array) $form_state->getValue('variants') as $row) {
      $content = is_array($row['content'] ?? NULL) ? $row['content'] : [];
      if ($compact && trim((string) ($content['value'] ?? '')) === '') {
        continue;
      }
      $preset = (string) ($row['preset'] ?? '');
      $rows[] = [
        'name' => trim((string) ($row['name'] ?? '')),
        'when' => $preset !== '' ? $preset : trim((string) ($row['when'] ?? '')),
        'weight' => (float) ($row['weight'] ?? 1),
        'content' => ['value' => (string) ($content['value'] ?? ''), 'format' => $content['format'] ?? NULL],
      ];
    }
    return [
      'slot' => trim((string) $form_state->getValue('slot')),
      'fallback' => ['value' => (string) ($fallback['value'] ?? ''), 'format' => $fallback['format'] ?? NULL],
      'authored' => (bool) $form_state->getValue('authored'),
      'key' => (string) $form_state->getValue('key'),
      'split' => (bool) $form_state->getValue('split'),
      'variants' => $rows,
    ];
  }

  public function build(): array {
    $slot = !empty($this->configuration['authored'])
      ? AuthoredSlots::slotName((string) $this->configuration['key'])
      : (string) $this->configuration['slot'];
    if ($slot === '') {
      return [];
    }
    $fallback = $this->configuration['fallback'] ?? [];
    return $this->renderer->build($slot, (string) ($fallback['value'] ?? ''), $fallback['format'] ?? NULL);
  }

}
