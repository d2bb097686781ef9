<?php
// SPDX-License-Identifier: GPL-2.0-or-later

declare(strict_types=1);

namespace Drupal\slotwise;

use Drupal\Core\Config\ConfigFactoryInterface;
use Drupal\Core\Site\Settings as SiteSettings;
use GuzzleHttp\ClientInterface;
use Psr\Log\LoggerInterface;

/**
 * Talks to the Slotwise gateway over Drupal's http_client (Guzzle).
 *
 * Every call has an explicit short timeout and every failure (transport error, timeout,
 * non-2xx, wrong shape) ends in NULL/FALSE plus a log line: callers render the fallback.
 */
final class GatewayClient {

  /**
   * Events are sent after the response went out, so they may take longer than a render.
   */
  private const EVENTS_TIMEOUT = 2.0;

  /**
   * Admin calls run while an editor saves a form, not while a visitor waits.
   */
  private const ADMIN_TIMEOUT = 5.0;

  public function __construct(
    private readonly ClientInterface $httpClient,
    private readonly ConfigFactoryInterface $configFactory,
    private readonly LoggerInterface $logger,
  ) {}

  public function settings(): Settings {
    return Settings::fromConfig($this->configFactory->get('slotwise.settings'), [
      'server_key' => SiteSettings::get('slotwise_server_key'),
      'server_key_origin' => SiteSettings::get('slotwise_server_key_origin'),
    ]);
  }

  /**
   * Renders all slots of one page in one POST /v1/render.
   *
   * @param string[] $slots
   * @param array<string, mixed> $context
   * @param array<string, string> $headers
   *   Visitor headers to pass on (X-Forwarded-For, CDN geo headers, Sec-GPC...).
   *
   * @return array{visitor_id: ?string, blocks: array<string, array<string, mixed>>}|null
   *   NULL when the gateway failed or answered late: render the fallback.
   */
  public function render(array $slots, ?string $visitorId, array $context, array $headers = []): ?array {
    $settings = $this->settings();
    if (!$settings->isConfigured() || !$slots) {
      return NULL;
    }
    $body = [
      'site' => $settings->site(),
      'visitor_id' => $visitorId,
      'slots' => array_values($slots),
      'context' => (object) $context,
    ];
    $data = $this->call('POST', '/v1/render', $settings, $settings->budgetSeconds(), $headers, $body);
    if (!is_array($data) || !isset($data['blocks']) || !is_array($data['blocks'])) {
      return NULL;
    }
    $blocks = [];
    foreach ($data['blocks'] as $slot => $block) {
      if (is_array($block) && isset($block['html']) && is_string($block['html'])) {
        $blocks[(string) $slot] = $block;
      }
    }
    $vid = $data['visitor_id'] ?? NULL;
    return ['visitor_id' => is_string($vid) && $vid !== '' ? $vid : NULL, 'blocks' => $blocks];
  }

  /**
   * The slots the gateway knows for this site: name => description.
   *
   * @return array<string, string>|null
   *   NULL when the gateway could not be asked (the block form then takes a typed name).
   */
  public function slots(?Settings $settings = NULL): ?array {
    $settings ??= $this->settings();
    if (!$settings->isConfigured()) {
      return NULL;
    }
    $path = '/v1/slots?site=' . rawurlencode($settings->site());
    $data = $this->call('GET', $path, $settings, max(1.0, $settings->budgetSeconds()), [], NULL, $settings->publishableKey());
    if (!is_array($data) || !isset($data['slots']) || !is_array($data['slots'])) {
      return NULL;
    }
    $slots = [];
    foreach ($data['slots'] as $slot) {
      if (is_array($slot) && isset($slot['name']) && is_string($slot['name'])) {
        $slots[$slot['name']] = (string) ($slot['description'] ?? '');
      }
    }
    ksort($slots);
    return $slots;
  }

  /**
   * Sends a batch of events; FALSE when the gateway did not take them.
   *
   * @param array<int, array<string, mixed>> $events
   * @param array<string, string> $headers
   */
  public function sendEvents(array $events, array $headers = []): bool {
    $settings = $this->settings();
    if (!$settings->isConfigured() || !$events) {
      return FALSE;
    }
    $body = ['site' => $settings->site(), 'events' => array_values($events)];
    return is_array($this->call('POST', '/v1/events', $settings, self::EVENTS_TIMEOUT, $headers, $body));
  }

  /**
   * Checks settings against the gateway: [ok, human-readable message].
   *
   * @return array{0: bool, 1: string}
   */
  public function testConnection(Settings $settings): array {
    if (!$settings->isConfigured()) {
      return [FALSE, 'Set the gateway URL, site id and publishable key first.'];
    }
    $slots = $this->slots($settings);
    if ($slots === NULL) {
      return [FALSE, sprintf('The gateway at %s did not list the slots of site "%s" (see the log for why).',
        $settings->gatewayUrl(), $settings->site())];
    }
    return [TRUE, sprintf('Connected: site "%s" has %d slot(s)%s.', $settings->site(), count($slots),
      $slots ? ': ' . implode(', ', array_keys($slots)) : '')];
  }

  /**
   * An admin call (authored slots) with the server key as a Bearer token. Unlike the page's
   * calls it returns the status and the gateway's error, because an editor must see them.
   *
   * @param array<string, mixed>|null $body
   * @param float|null $timeout
   *   Seconds; the admin timeout (5 s) when NULL.
   *
   * @return array{status: int, data: ?array, error: string}
   *   status 0 when no answer came; data is the decoded body (an error body too).
   */
  public function admin(string $method, string $path, ?array $body = NULL, ?float $timeout = NULL): array {
    $settings = $this->settings();
    if (!$settings->isConfigured() || !$settings->canAdminister()) {
      return ['status' => 0, 'data' => NULL, 'error' => 'Publishing variants needs the gateway URL and, in settings.php, slotwise_server_key with slotwise_server_key_origin for that gateway.'];
    }
    $options = [
      'timeout' => $timeout ?? self::ADMIN_TIMEOUT,
      'connect_timeout' => $timeout ?? self::ADMIN_TIMEOUT,
      'http_errors' => FALSE,
      'allow_redirects' => FALSE,
      'headers' => ['Accept' => 'application/json', 'Authorization' => 'Bearer ' . $settings->serverKey()],
    ];
    if ($body !== NULL) {
      $options['json'] = $body;
    }
    try {
      $response = $this->httpClient->request($method, $settings->gatewayUrl() . $path, $options);
    }
    catch (\Exception $e) {
      $this->logger->warning('Slotwise gateway @method @path failed: @message', [
        '@method' => $method, '@path' => $path, '@message' => $e->getMessage(),
      ]);
      return ['status' => 0, 'data' => NULL, 'error' => 'The gateway could not be reached; visitors see the default content.'];
    }
    $data = json_decode((string) $response->getBody(), TRUE);
    $status = $response->getStatusCode();
    $message = is_array($data) && is_string($data['error']['message'] ?? NULL) ? mb_substr($data['error']['message'], 0, 300) : "HTTP $status";
    return ['status' => $status, 'data' => is_array($data) ? $data : NULL, 'error' => $status >= 200 && $status < 300 ? '' : $message];
  }

  /**
   * One request; decoded JSON object on 2xx, NULL (and a log line) on anything else.
   *
   * @param array<string, string> $headers
   * @param array<string, mixed>|null $body
   */
  private function call(string $method, string $path, Settings $settings, float $timeout, array $headers, ?array $body, ?string $key = NULL): ?array {
    $url = $settings->gatewayUrl() . $path;
    $options = [
      'timeout' => $timeout,
      'connect_timeout' => $timeout,
      'http_errors' => FALSE,
      'allow_redirects' => FALSE,
      'headers' => ['Accept' => 'application/json', 'X-Slotwise-Key' => $key ?? $settings->serverKey()] + $headers,
    ];
    if ($body !== NULL) {
      $options['json'] = $body;
    }
    try {
      $response = $this->httpClient->request($method, $url, $options);
      $status = $response->getStatusCode();
      $text = (string) $response->getBody();
    }
    catch (\Exception $e) {
      // Guzzle's ConnectException/RequestException (timeouts included) and anything a
      // handler throws: the page goes on with its fallback.
      $this->logger->warning('Slotwise gateway @method @url failed: @message', [
        '@method' => $method, '@url' => $url, '@message' => $e->getMessage(),
      ]);
      return NULL;
    }
    if ($status < 200 || $status >= 300) {
      $this->logger->warning('Slotwise gateway @method @url answered HTTP @status: @body', [
        '@method' => $method, '@url' => $url, '@status' => $status, '@body' => mb_substr($text, 0, 200),
      ]);
      return NULL;
    }
    try {
      $data = json_decode($text, TRUE, 64, JSON_THROW_ON_ERROR);
    }
    catch (\JsonException $e) {
      $this->logger->warning('Slotwise gateway @method @url answered invalid JSON: @message', [
        '@method' => $method, '@url' => $url, '@message' => $e->getMessage(),
      ]);
      return NULL;
    }
    return is_array($data) ? $data : NULL;
  }

}
