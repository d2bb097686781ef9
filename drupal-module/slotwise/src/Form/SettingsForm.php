<?php
// SPDX-License-Identifier: GPL-2.0-or-later

declare(strict_types=1);

namespace Drupal\slotwise\Form;

use Drupal\Core\Form\ConfigFormBase;
use Drupal\Core\Form\FormStateInterface;
use Drupal\Core\Site\Settings as SiteSettings;
use Drupal\slotwise\GatewayClient;
use Drupal\slotwise\Settings;
use Symfony\Component\DependencyInjection\ContainerInterface;

/**
 * Gateway URL, site, keys, delivery mode, time budget; and a test-connection button.
 */
final class SettingsForm extends ConfigFormBase {

  private GatewayClient $gatewayClient;

  public static function create(ContainerInterface $container): static {
    $form = parent::create($container);
    $form->gatewayClient = $container->get('slotwise.gateway_client');
    return $form;
  }

  public function getFormId(): string {
    return 'slotwise_settings';
  }

  protected function getEditableConfigNames(): array {
    return ['slotwise.settings'];
  }

  public function buildForm(array $form, FormStateInterface $form_state): array {
    $config = $this->config('slotwise.settings');
    $form['gateway_url'] = [
      '#type' => 'url',
      '#title' => $this->t('Gateway URL'),
      '#default_value' => $config->get('gateway_url'),
      '#required' => TRUE,
      '#description' => $this->t('For example https://slotwise.example.com (no trailing path). https is required, except for a gateway on this machine (http://127.0.0.1:8080). Add this site\'s origin to the site\'s <code>origins</code> in the gateway configuration, or browser mode shows only the fallback.'),
    ];
    $form['site'] = [
      '#type' => 'textfield',
      '#title' => $this->t('Site id'),
      '#default_value' => $config->get('site'),
      '#required' => TRUE,
    ];
    $form['publishable_key'] = [
      '#type' => 'textfield',
      '#title' => $this->t('Publishable key'),
      '#default_value' => $config->get('publishable_key'),
      '#required' => TRUE,
      '#description' => $this->t('Printed in pages in client mode; never put the secret key here.'),
    ];
    $form['server_key'] = [
      '#type' => 'item',
      '#title' => $this->t('Server key'),
      '#markup' => $this->serverKeyStatus(),
      '#description' => $this->t('Optional, for server-to-gateway calls; never printed. Set it in settings.php only, with the gateway origin it belongs to: <code>$settings[\'slotwise_server_key\'] = \'sk_...\';</code> and <code>$settings[\'slotwise_server_key_origin\'] = \'https://slotwise.example.com\';</code>. It is sent to that origin only.'),
    ];
    $form['delivery_mode'] = [
      '#type' => 'radios',
      '#title' => $this->t('Delivery mode'),
      '#options' => [
        'auto' => $this->t('Automatic: in the browser for anonymous visitors when the Internal Page Cache is on, on the server otherwise'),
        'server' => $this->t('Server: rendered by Drupal (pages with a slot are then kept out of the Internal Page Cache)'),
        'client' => $this->t('Browser: placeholders filled by the gateway\'s client.js (for Varnish or a CDN)'),
        'esi' => $this->t('Edge (ESI): &lt;esi:include&gt; tags that Varnish fills from the gateway (deploy/varnish/slotwise.vcl); one cached page for everyone'),
      ],
      '#default_value' => $config->get('delivery_mode') ?: 'auto',
    ];
    $form['time_budget_ms'] = [
      '#type' => 'number',
      '#title' => $this->t('Time budget (ms)'),
      '#min' => 20,
      '#max' => 5000,
      '#default_value' => $config->get('time_budget_ms') ?: 150,
      '#required' => TRUE,
      '#description' => $this->t('After this the fallback content renders.'),
    ];
    $form['default_consent'] = [
      '#type' => 'select',
      '#title' => $this->t('Consent when nothing else says'),
      '#options' => ['none' => $this->t('None'), 'anonymous' => $this->t('Anonymous'), 'full' => $this->t('Full')],
      '#default_value' => $config->get('default_consent') ?: 'anonymous',
      '#description' => $this->t('Consent modules can change it per visitor with hook_slotwise_consent_alter().'),
    ];
    $form['geo_headers'] = [
      '#type' => 'textfield',
      '#title' => $this->t('CDN geo headers to pass on'),
      '#default_value' => implode(', ', $config->get('geo_headers') ?: []),
    ];
    $form['track_node_views'] = [
      '#type' => 'checkbox',
      '#title' => $this->t('Send node views'),
      '#default_value' => $config->get('track_node_views'),
    ];
    $form['server_impressions'] = [
      '#type' => 'checkbox',
      '#title' => $this->t("Server mode: load the gateway's client.js on pages too, for impressions and clicks of server-rendered blocks (client.js then sends the page view)"),
      '#default_value' => (bool) $config->get('server_impressions'),
    ];
    $form['track_commerce'] = [
      '#type' => 'checkbox',
      '#title' => $this->t('Send Drupal Commerce add-to-cart and order events'),
      '#default_value' => $config->get('track_commerce'),
    ];
    $form = parent::buildForm($form, $form_state);
    $form['actions']['test'] = [
      '#type' => 'submit',
      '#value' => $this->t('Test connection'),
      '#submit' => ['::testConnection'],
    ];
    return $form;
  }

  public function validateForm(array &$form, FormStateInterface $form_state): void {
    $url = (string) $form_state->getValue('gateway_url');
    if (!preg_match('#^https?://[^/?\#]+(:\d+)?/?$#', $url)) {
      $form_state->setErrorByName('gateway_url', $this->t('The gateway URL must be http(s)://host[:port], without a path; got %url.', ['%url' => $url]));
    }
    elseif (!Settings::isSafeGatewayUrl($url)) {
      $form_state->setErrorByName('gateway_url', $this->t('The gateway URL must use https (plain http only to this machine); got %url.', ['%url' => $url]));
    }
    parent::validateForm($form, $form_state);
  }

  public function submitForm(array &$form, FormStateInterface $form_state): void {
    $config = $this->config('slotwise.settings');
    foreach (['gateway_url', 'site', 'publishable_key', 'delivery_mode', 'default_consent'] as $key) {
      $config->set($key, trim((string) $form_state->getValue($key)));
    }
    $config->set('time_budget_ms', Settings::budgetMs($form_state->getValue('time_budget_ms')));
    $config->set('geo_headers', array_values(array_filter(array_map('trim',
      explode(',', (string) $form_state->getValue('geo_headers'))))));
    $config->set('track_node_views', (bool) $form_state->getValue('track_node_views'));
    $config->set('server_impressions', (bool) $form_state->getValue('server_impressions'));
    $config->set('track_commerce', (bool) $form_state->getValue('track_commerce'));
    // Saving invalidates config:slotwise.settings, the tag of every render array that holds
    // a slot or the client.js tag: nothing site-wide needs clearing.
    $config->save();
    parent::submitForm($form, $form_state);
  }

  /**
   * Tests the values in the form (saved or not) against the gateway.
   */
  public function testConnection(array &$form, FormStateInterface $form_state): void {
    $settings = new Settings([
      'gateway_url' => $form_state->getValue('gateway_url'),
      'site' => $form_state->getValue('site'),
      'publishable_key' => $form_state->getValue('publishable_key'),
      'server_key' => SiteSettings::get('slotwise_server_key'),
      'server_key_origin' => SiteSettings::get('slotwise_server_key_origin'),
      'time_budget_ms' => $form_state->getValue('time_budget_ms'),
    ]);
    [$ok, $message] = $this->gatewayClient->testConnection($settings);
    $ok ? $this->messenger()->addStatus($message) : $this->messenger()->addError($message);
    $form_state->setRebuild();
  }

  /**
   * Whether settings.php holds a server key, and for which gateway.
   */
  private function serverKeyStatus(): string {
    $settings = $this->gatewayClient->settings();
    if ($settings->serverKeyWithheld()) {
      return (string) $this->t('Set in settings.php for %origin, which is not the gateway URL above (or not https): not sent, the publishable key is used.', [
        '%origin' => (string) SiteSettings::get('slotwise_server_key_origin'),
      ]);
    }
    return $settings->serverKey() !== $settings->publishableKey()
      ? (string) $this->t('Set in settings.php for this gateway.')
      : (string) $this->t('Not set: the publishable key is used.');
  }

}
