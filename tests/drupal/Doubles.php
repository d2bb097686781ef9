<?php
// SPDX-License-Identifier: Apache-2.0

/**
 * @file
 * Test doubles for the Drupal and Guzzle services the module is given.
 */

declare(strict_types=1);

namespace Drupal\Tests\slotwise;

use Drupal\Core\Config\ConfigFactoryInterface;
use Drupal\Core\Form\FormStateInterface;
use Drupal\Core\Extension\ModuleHandlerInterface;
use Drupal\Core\PageCache\ResponsePolicy\KillSwitch;
use Drupal\Core\Routing\RouteMatchInterface;
use Drupal\Core\Session\AccountInterface;
use Drupal\slotwise\ContextBuilder;
use Drupal\slotwise\EventSubscriber\SlotwiseSubscriber;
use Drupal\slotwise\EventTracker;
use Drupal\slotwise\GatewayClient;
use Drupal\slotwise\SlotRenderer;
use GuzzleHttp\ClientInterface;
use GuzzleHttp\Exception\ConnectException;
use Drupal\Core\Cache\CacheTagsInvalidatorInterface;
use Drupal\Core\Render\HtmlResponse;
use Drupal\Core\Site\Settings as SiteSettings;
use Drupal\Core\State\StateInterface;
use Psr\Http\Message\RequestInterface;
use Psr\Http\Message\ResponseInterface;
use Psr\Http\Message\StreamInterface;
use Psr\Log\LoggerInterface;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\HttpFoundation\RequestStack;
use Symfony\Component\HttpFoundation\Cookie;
use Symfony\Component\HttpFoundation\Response;
use Symfony\Component\HttpKernel\Event\ResponseEvent;
use Symfony\Component\HttpKernel\HttpKernelInterface;

final class FakeConfig {
  public function __construct(public array $data) {}
  public function get($key = '') {
    return $key === '' ? $this->data : ($this->data[$key] ?? NULL);
  }
}

final class FakeConfigFactory implements ConfigFactoryInterface {
  public function __construct(private array $configs) {}
  public function get($name) {
    return new FakeConfig($this->configs[$name] ?? []);
  }
}

final class FakeModuleHandler implements ModuleHandlerInterface {
  /** @var callable[] */
  public array $alters = [];
  public function __construct(private array $modules = []) {}
  public function moduleExists($module) {
    return in_array($module, $this->modules, TRUE);
  }
  public function alter($type, &$data, &$context1 = NULL, &$context2 = NULL) {
    foreach ($this->alters[$type] ?? [] as $fn) {
      $fn($data, $context1);
    }
  }
}

final class FakeAccount implements AccountInterface {
  public function __construct(private bool $anonymous = TRUE, private ?string $tz = NULL) {}
  public function isAnonymous() { return $this->anonymous; }
  public function getTimeZone() { return $this->tz; }
}

final class FakeRouteMatch implements RouteMatchInterface {
  public function __construct(private ?string $route = NULL, private array $raw = []) {}
  public function getRouteName() { return $this->route; }
  public function getRawParameter($parameter_name) { return $this->raw[$parameter_name] ?? NULL; }
}

final class MemoryLogger implements LoggerInterface {
  public array $lines = [];
  public function warning(string|\Stringable $message, array $context = []): void {
    $this->lines[] = strtr((string) $message, array_map('strval', $context));
  }
}

final class PsrRequest implements RequestInterface {
  public function __construct(private string $method, public string $uri) {}
  public function getMethod(): string { return $this->method; }
}

final class FakeKernel implements HttpKernelInterface {
  public function handle(Request $request, int $type = self::MAIN_REQUEST, bool $catch = TRUE): Response {
    return new Response('');
  }
}

final class MemoryState implements StateInterface {
  public array $data = [];
  public function get($key, $default = NULL) { return $this->data[$key] ?? $default; }
  public function set($key, $value) { $this->data[$key] = $value; }
}

final class RecordingInvalidator implements CacheTagsInvalidatorInterface {
  public array $invalidated = [];
  public function invalidateTags(array $tags) { array_push($this->invalidated, ...$tags); }
}

final class TextStream implements StreamInterface {
  public function __construct(private string $text) {}
  public function __toString(): string { return $this->text; }
}

final class TextResponse implements ResponseInterface {
  public function __construct(private int $status, private string $body) {}
  public function getStatusCode(): int { return $this->status; }
  public function getBody(): StreamInterface { return new TextStream($this->body); }
}

/**
 * The block form's state as BlockForm hands it to the plugin: a SubformState, whose values
 * are the plugin's own ("slot", "variants"...) and whose errors are the whole form's.
 */
final class FakeFormState implements FormStateInterface {
  public function __construct(public array $values = [], public array $errors = []) {}
  public function getValue($key, $default = NULL) {
    return $this->values[$key] ?? $default;
  }
  public function setErrorByName($name, $message = '') {
    $this->errors[$name] = $message;
    return $this;
  }
  public function getErrors() {
    return $this->errors;
  }
}

/**
 * Guzzle double driven by a callable: fn(method, uri, options) => ResponseInterface|throws.
 */
final class ScriptedHttpClient implements ClientInterface {
  public array $requests = [];
  /** @var callable */
  private $handler;
  public function __construct(callable $handler) { $this->handler = $handler; }
  public function request(string $method, $uri, array $options = []): ResponseInterface {
    $this->requests[] = ['method' => $method, 'uri' => (string) $uri, 'options' => $options];
    return ($this->handler)($method, (string) $uri, $options);
  }
  public static function json(array $data, int $status = 200): TextResponse {
    return new TextResponse($status, json_encode($data));
  }
}

/**
 * A Guzzle double that really talks HTTP/1.0 over a socket and honours Guzzle's
 * `timeout` (whole request) and `connect_timeout` options the way Guzzle does: by throwing
 * ConnectException. Used against stopped and hanging gateways, and a real one.
 */
final class StreamHttpClient implements ClientInterface {
  public function request(string $method, $uri, array $options = []): ResponseInterface {
    $started = microtime(TRUE);
    $total = (float) ($options['timeout'] ?? 0) ?: 60.0;
    $parts = parse_url((string) $uri);
    $host = $parts['host'];
    $port = $parts['port'] ?? 80;
    $target = ($parts['path'] ?? '/') . (isset($parts['query']) ? '?' . $parts['query'] : '');
    $socket = @stream_socket_client("tcp://$host:$port", $errno, $errstr,
      (float) ($options['connect_timeout'] ?? $total));
    if ($socket === FALSE) {
      throw new ConnectException("cURL error 7: Failed to connect to $host port $port: $errstr", new PsrRequest($method, (string) $uri));
    }
    $body = isset($options['json']) ? json_encode($options['json']) : '';
    $headers = ($options['headers'] ?? []) + ['Host' => "$host:$port", 'Connection' => 'close'];
    if (isset($options['json'])) {
      $headers['Content-Type'] = 'application/json';
    }
    $headers['Content-Length'] = (string) strlen($body);
    $raw = "$method $target HTTP/1.0\r\n";
    foreach ($headers as $name => $value) {
      $raw .= "$name: $value\r\n";
    }
    fwrite($socket, $raw . "\r\n" . $body);
    $response = '';
    while (!feof($socket)) {
      $left = $total - (microtime(TRUE) - $started);
      if ($left <= 0) {
        fclose($socket);
        throw new ConnectException(sprintf('cURL error 28: Operation timed out after %d milliseconds', $total * 1000), new PsrRequest($method, (string) $uri));
      }
      stream_set_timeout($socket, (int) $left, (int) (($left - (int) $left) * 1e6));
      $chunk = fread($socket, 65536);
      if (stream_get_meta_data($socket)['timed_out']) {
        continue;
      }
      if ($chunk === FALSE) {
        break;
      }
      $response .= $chunk;
    }
    fclose($socket);
    [$head, $content] = array_pad(explode("\r\n\r\n", $response, 2), 2, '');
    if (!preg_match('#^HTTP/\d(?:\.\d)? (\d{3})#', $head, $m)) {
      throw new ConnectException('empty or malformed reply from server', new PsrRequest($method, (string) $uri));
    }
    return new TextResponse((int) $m[1], $content);
  }
}

/**
 * The module's service graph for one request, wired as slotwise.services.yml wires it.
 */
final class Site {
  public GatewayClient $client;
  public ContextBuilder $context;
  public SlotRenderer $renderer;
  public EventTracker $tracker;
  public SlotwiseSubscriber $subscriber;
  public KillSwitch $killSwitch;
  public MemoryLogger $logger;
  public FakeModuleHandler $modules;

  public const SETTINGS = [
    'gateway_url' => 'http://gateway.test',
    'site' => 'drupal',
    'publishable_key' => 'pk_test',
    'delivery_mode' => 'auto',
    'time_budget_ms' => 150,
    'default_consent' => 'anonymous',
    'geo_headers' => ['CF-IPCountry'],
    'track_node_views' => TRUE,
    'track_commerce' => TRUE,
  ];

  public function __construct(
    public ClientInterface $http,
    public Request $request,
    array $settings = [],
    array $modules = [],
    bool $anonymous = TRUE,
    ?FakeRouteMatch $route = NULL,
    array $siteSettings = [],
  ) {
    // settings.php's $settings, fresh for every request as in Drupal.
    new SiteSettings($siteSettings);
    $stack = new RequestStack();
    $stack->push($request);
    $config = new FakeConfigFactory(['slotwise.settings' => $settings + self::SETTINGS]);
    $this->modules = new FakeModuleHandler($modules);
    $account = new FakeAccount($anonymous, $anonymous ? NULL : 'Europe/Paris');
    $this->logger = new MemoryLogger();
    $this->killSwitch = new KillSwitch();
    $this->client = new GatewayClient($http, $config, $this->logger);
    $this->context = new ContextBuilder($stack, $route ?? new FakeRouteMatch(),
      $account, $this->modules, $config);
    $this->renderer = new SlotRenderer($this->client, $this->context, $this->killSwitch, $this->modules, $account);
    $this->tracker = new EventTracker($this->client, $this->context);
    $this->subscriber = new SlotwiseSubscriber($this->renderer, $this->context, $this->tracker,
      $this->killSwitch);
  }

  /**
   * Renders a #lazy_builder array the way Drupal's renderer calls it.
   */
  public function runLazyBuilder(array $build): array {
    // The block's build holds the placeholder as its child.
    $build = $build['slot'] ?? $build;
    [$callback, $args] = $build['#lazy_builder'];
    [$service, $method] = explode(':', $callback);
    \PHPUnit\Framework\Assert::assertSame('slotwise.slot_renderer', $service);
    \PHPUnit\Framework\Assert::assertContains($method, SlotRenderer::trustedCallbacks());
    foreach ($args as $arg) {
      \PHPUnit\Framework\Assert::assertTrue(is_scalar($arg) || $arg === NULL, 'lazy builder arguments must be scalars');
    }
    return $this->renderer->{$method}(...$args);
  }

}

/**
 * A request as Symfony builds it for a URI, with the visitor's headers and cookies.
 */
function request(string $uri = 'https://example.com/', array $headers = [], array $cookies = [], ?string $ip = '203.0.113.7'): Request {
  $server = ['REMOTE_ADDR' => $ip];
  foreach ($headers as $name => $value) {
    $server['HTTP_' . strtoupper(str_replace('-', '_', $name))] = $value;
  }
  return Request::create($uri, 'GET', [], $cookies, [], $server);
}

/**
 * The kernel.response event of a main request.
 */
function responseEvent(Request $request, Response $response): ResponseEvent {
  return new ResponseEvent(new FakeKernel(), $request, HttpKernelInterface::MAIN_REQUEST, $response);
}

/**
 * An HtmlResponse carrying these attachments (what Drupal's renderer bubbled up).
 */
function htmlResponse(array $attachments, string $content = ''): HtmlResponse {
  $response = new HtmlResponse($content);
  $response->setAttachments($attachments);
  return $response;
}

/**
 * The cookie of that name a response sets, if any.
 */
function cookie(Response $response, string $name): ?Cookie {
  foreach ($response->headers->getCookies() as $cookie) {
    if ($cookie->getName() === $name) {
      return $cookie;
    }
  }
  return NULL;
}

function connectError(string $message, string $uri = 'http://gateway.test/v1/render'): ConnectException {
  return new ConnectException($message, new PsrRequest('POST', $uri));
}

/**
 * What Drupal's renderer does with a block's build before the response event: each child
 * with #lazy_builder and #create_placeholder becomes a placeholder that keeps only its
 * #lazy_builder and #cache (PlaceholderGenerator::createPlaceholder()); the rest's cache
 * metadata bubbles to the block.
 *
 * @return array{placeholders: array<string, array>, cache: array{contexts: string[], tags: string[]}}
 */
function renderBlock(array $build): array {
  $placeholders = [];
  $cache = ['contexts' => [], 'tags' => []];
  $walk = static function (array $element) use (&$walk, &$placeholders, &$cache): void {
    if (isset($element['#lazy_builder']) && !empty($element['#create_placeholder'])) {
      $placeholders['<drupal-render-placeholder callback="' . htmlspecialchars(json_encode($element['#lazy_builder'])) . '">'] = array_intersect_key($element, ['#lazy_builder' => TRUE, '#cache' => TRUE]);
      return;
    }
    foreach (['contexts', 'tags'] as $kind) {
      $cache[$kind] = array_values(array_unique(array_merge($cache[$kind], $element['#cache'][$kind] ?? [])));
    }
    foreach ($element as $key => $child) {
      if (is_array($child) && !str_starts_with((string) $key, '#')) {
        $walk($child);
      }
    }
  };
  $walk($build);
  return ['placeholders' => $placeholders, 'cache' => $cache];
}

/**
 * A block as Block layout prints it: BlockViewBuilder::preRender() moves the content's
 * top-level #attributes and #contextual_links onto the block wrapper, which prints the title
 * (block.html.twig); Layout Builder's BlockComponentRenderArray does the same.
 */
function blockWrapper(array $content, string $label): string {
  $wrapper = ['#attributes' => []];
  foreach (['#attributes', '#contextual_links'] as $property) {
    if (isset($content[$property])) {
      $wrapper[$property] = $content[$property];
      unset($content[$property]);
    }
  }
  $attrs = '';
  foreach ($wrapper['#attributes'] as $name => $value) {
    $attrs .= ' ' . $name . '="' . htmlspecialchars(is_array($value) ? implode(' ', $value) : (string) $value) . '"';
  }
  return "<div$attrs><h2>$label</h2>" . html($content) . '</div>';
}

/**
 * Flattens a render array to HTML the way the renderer would (enough for these tests).
 */
function html(array $build): string {
  $out = $build['#prefix'] ?? '';
  if (isset($build['#markup'])) {
    // The renderer filters a plain string with Xss::filterAdmin(), a Markup object not.
    $markup = $build['#markup'];
    $out .= is_string($markup) ? \Drupal\Component\Utility\Xss::filterAdmin($markup) : (string) $markup;
  }
  if (($build['#type'] ?? NULL) === 'processed_text') {
    $out .= $build['#text'];
  }
  $children = '';
  foreach ($build as $key => $child) {
    if (is_array($child) && $key[0] !== '#') {
      $children .= html($child);
    }
  }
  if (($build['#type'] ?? NULL) === 'container') {
    $build['#tag'] = 'div';
  }
  if (in_array($build['#type'] ?? NULL, ['html_tag', 'container'], TRUE)) {
    $attrs = '';
    foreach ($build['#attributes'] ?? [] as $name => $value) {
      $attrs .= ' ' . $name . '="' . htmlspecialchars(is_array($value) ? implode(' ', $value) : (string) $value) . '"';
    }
    $children = "<{$build['#tag']}$attrs>$children</{$build['#tag']}>";
  }
  if (($build['#type'] ?? NULL) === 'html_tag') {
    $children = str_replace('="1"', '', $children);
  }
  return $out . $children . ($build['#suffix'] ?? '');
}
