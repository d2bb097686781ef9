<?php
// SPDX-License-Identifier: GPL-2.0-or-later

declare(strict_types=1);

namespace Drupal\slotwise;

use Drupal\Component\Utility\Xss;

/**
 * Variants written in the block's configuration form, published to the gateway.
 *
 * A block with "Write the variants here" is the gateway slot `drupal-<key>` (a random key kept
 * in the block's configuration). Its variants (name, condition, content) and its fallback
 * content, which is the default variant, are sent as the gateway's own slot shape with
 * PUT /v1/admin/slots/{slot} (server key). The gateway validates them with its configuration
 * schema and versions them; its errors (variant index, field, column) are mapped back to the
 * form element where the editor typed the condition. Deleting the block, or switching the
 * authoring off, retires the slot (DELETE).
 */
final class AuthoredSlots {

  public const PREFIX = 'drupal-';

  public function __construct(private readonly GatewayClient $client) {}

  public static function slotName(string $key): string {
    return preg_match('/^[a-z0-9]{1,16}$/', $key) ? self::PREFIX . $key : '';
  }

  public static function newKey(): string {
    return bin2hex(random_bytes(5));
  }

  /**
   * The gateway's slot definition of a block configuration.
   *
   * Rows without content are skipped; each sent variant remembers its row, so errors find
   * their way back to the form.
   *
   * @param array<string, mixed> $config
   *   The block configuration: fallback, split, variants (rows of name, when, weight, content).
   *
   * @return array{body: array<string, mixed>, rows: int[]}
   */
  public static function definition(array $config, string $source): array {
    $variants = [];
    $arms = [];
    $rows = [];
    foreach (array_values((array) ($config['variants'] ?? [])) as $row => $variant) {
      $html = self::html($variant['content'] ?? []);
      if ($html === '') {
        continue;
      }
      $name = trim((string) ($variant['name'] ?? '')) ?: 'v' . ($row + 1);
      $block = ['type' => 'html', 'html' => $html];
      $rows[] = $row;
      if (!empty($config['split'])) {
        $weight = $variant['weight'] ?? 1;
        $arms[] = ['name' => $name, 'weight' => is_numeric($weight) ? (float) $weight : 1.0, 'block' => $block];
        continue;
      }
      $when = trim((string) ($variant['when'] ?? ''));
      $variants[] = ['id' => $name, 'when' => $when === '' ? NULL : $when, 'block' => $block];
    }
    if (!empty($config['split'])) {
      $key = self::slotName((string) ($config['key'] ?? '')) ?: 'drupal-split';
      $variants = $arms ? [['id' => 'split', 'experiment' => ['key' => $key, 'arms' => $arms]]] : [];
    }
    $default = self::html($config['fallback'] ?? []);
    return [
      'body' => [
        'source' => $source,
        'default' => ['type' => 'html', 'html' => $default !== '' ? $default : '<!-- no default content -->'],
        'variants' => $variants,
      ],
      'rows' => $rows,
    ];
  }

  /**
   * Publishes a block's variants: [] when the gateway took them, else errors by form element.
   *
   * @param array<string, mixed> $config
   *
   * @return array<int, array{element: string, message: string}>
   *   element is a form path under the block's settings, e.g. "variants][1][when".
   */
  public function publish(array $config, string $source): array {
    $name = self::slotName((string) ($config['key'] ?? ''));
    if ($name === '') {
      return [['element' => 'authored', 'message' => 'This block has no key; save it again.']];
    }
    $definition = self::definition($config, $source);
    $answer = $this->client->admin('PUT', '/v1/admin/slots/' . rawurlencode($name), $definition['body']);
    if ($answer['status'] >= 200 && $answer['status'] < 300) {
      return [];
    }
    $details = $answer['data']['error']['details'] ?? NULL;
    if (!is_array($details) || !$details) {
      return [['element' => 'authored', 'message' => $answer['error']]];
    }
    $errors = [];
    foreach ($details as $detail) {
      if (!is_array($detail)) {
        continue;
      }
      $message = (string) ($detail['message'] ?? '');
      $index = $detail['index'] ?? NULL;
      $row = is_int($index) && !empty($config['split']) ? ($detail['arm'] ?? NULL) : $index;
      if (is_int($row) && isset($definition['rows'][$row])) {
        $field = str_starts_with((string) ($detail['field'] ?? ''), 'block') ? 'content' : 'when';
        $column = is_int($detail['column'] ?? NULL) && !str_contains($message, 'column') ? sprintf(' (column %d)', $detail['column']) : '';
        $errors[] = ['element' => 'variants][' . $definition['rows'][$row] . '][' . $field, 'message' => $message . $column];
      }
      elseif (str_starts_with((string) ($detail['field'] ?? ''), 'default')) {
        $errors[] = ['element' => 'fallback', 'message' => $message];
      }
      else {
        $errors[] = ['element' => 'authored', 'message' => $message];
      }
    }
    return $errors;
  }

  /**
   * Retires a block's slot; NULL when done (or already gone), else why not.
   */
  public function retire(string $key): ?string {
    $name = self::slotName($key);
    if ($name === '') {
      return NULL;
    }
    $answer = $this->client->admin('DELETE', '/v1/admin/slots/' . rawurlencode($name));
    return in_array($answer['status'], [200, 404], TRUE) ? NULL : $answer['error'];
  }

  /**
   * Conditions for the form's picker: expression => label (context names and segments).
   *
   * The segments are a convenience of the picker, asked with the slot list's short timeout,
   * and not at all when $ask is FALSE (the form already found the gateway unreachable): a
   * hung gateway must not hold every build of the block form for the 5 s of admin calls.
   *
   * @return array<string, string>
   */
  public function presets(bool $ask = TRUE): array {
    $presets = [
      "device.class == 'mobile'" => 'Phones',
      "device.class == 'tablet'" => 'Tablets',
      "device.class == 'desktop'" => 'Desktops',
      "local.daypart == 'morning'" => 'Mornings (local time 6-11)',
      "local.daypart == 'evening'" => 'Evenings (local time 18-23)',
      "local.weekday in ['sat', 'sun']" => 'Weekends',
      "referrer.class == 'search'" => 'Visitors from a search engine',
      "referrer.class == 'social'" => 'Visitors from social media',
      "geo.country == 'DE'" => 'Country (edit the code)',
      "utm.campaign == 'spring'" => 'UTM campaign (edit the name)',
      'visitor.returning' => 'Returning visitors',
    ];
    if (!$ask) {
      return $presets;
    }
    $answer = $this->client->admin('GET', '/v1/admin/names', NULL, max(1.0, $this->client->settings()->budgetSeconds()));
    foreach ((array) ($answer['data']['segments'] ?? []) as $segment) {
      if (is_array($segment) && is_string($segment['name'] ?? NULL)) {
        $presets["segment('" . $segment['name'] . "')"] = 'Segment: ' . $segment['name'];
      }
    }
    return $presets;
  }

  /**
   * A text_format value as HTML: through its text format inside Drupal, the admin XSS filter
   * where the filter system is not loaded (unit tests).
   *
   * @param mixed $text
   *   ['value' => ..., 'format' => ...] or a string.
   */
  public static function html(mixed $text): string {
    $value = is_array($text) ? (string) ($text['value'] ?? '') : (string) $text;
    $format = is_array($text) ? ($text['format'] ?? NULL) : NULL;
    if (trim($value) === '') {
      return '';
    }
    return trim(function_exists('check_markup') ? (string) check_markup($value, $format) : Xss::filterAdmin($value));
  }

}
