<?php
// SPDX-License-Identifier: Apache-2.0

/**
 * @file
 * Minimal stand-ins for the Drupal, Symfony, Guzzle and PSR types the module uses.
 *
 * A full Drupal cannot be installed from the registries this project reaches, so the
 * unit tests declare just the members the module and the tests call. Their signatures
 * (constructors included) are those of Drupal 10.5, Symfony 6.4 and Guzzle 7.9: check_stubs.php
 * compares them by reflection with a real Drupal tree. Behaviour is the subset the module
 * relies on. Anything the module calls that is missing here fails the tests loudly.
 */

declare(strict_types=1);

namespace Psr\Log {
  interface LoggerInterface {
    public function warning(string|\Stringable $message, array $context = []): void;
  }
}

namespace Psr\Http\Message {
  interface MessageInterface {}
  interface RequestInterface extends MessageInterface {
    public function getMethod(): string;
  }
  interface StreamInterface {
    public function __toString(): string;
  }
  interface ResponseInterface extends MessageInterface {
    public function getStatusCode(): int;
    public function getBody(): StreamInterface;
  }
}

namespace GuzzleHttp {
  interface ClientInterface {
    public function request(string $method, $uri, array $options = []): \Psr\Http\Message\ResponseInterface;
  }
}

namespace GuzzleHttp\Exception {
  use Psr\Http\Message\RequestInterface;
  interface GuzzleException extends \Throwable {}
  class TransferException extends \RuntimeException implements GuzzleException {}
  class ConnectException extends TransferException {
    public function __construct(string $message, private RequestInterface $request, ?\Throwable $previous = NULL, private array $handlerContext = []) {
      parent::__construct($message, 0, $previous);
    }
    public function getRequest(): RequestInterface { return $this->request; }
  }
  class RequestException extends TransferException {
    public function __construct(string $message, private RequestInterface $request, private ?\Psr\Http\Message\ResponseInterface $response = NULL, ?\Throwable $previous = NULL, private array $handlerContext = []) {
      parent::__construct($message, 0, $previous);
    }
  }
}

namespace Drupal\Component\Render {
  interface MarkupInterface extends \JsonSerializable, \Stringable {
    public function __toString();
  }
}

namespace Drupal\Component\Utility {
  /**
   * Core's Xss, reduced to what decides the module's output: tags outside the list are
   * removed, `on*` and `style` attributes dropped, and every other attribute value loses any
   * protocol not in the filter_protocols list (UrlHelper::stripDangerousProtocols), the way
   * `data:image/svg+xml,...` becomes `image/svg+xml,...`.
   */
  class Xss {
    protected static $adminTags = ['a', 'abbr', 'b', 'div', 'em', 'figure', 'figcaption', 'h2', 'h3', 'i', 'img', 'li', 'p', 'section', 'small', 'span', 'strong', 'ul', 'ol', 'article', 'header', 'footer', 'br'];
    public const PROTOCOLS = ['http', 'https', 'ftp', 'news', 'nntp', 'tel', 'telnet', 'mailto', 'irc', 'ssh', 'sftp', 'webcal', 'rtsp'];
    public static function filter($string, ?array $allowed_html_tags = NULL) {
      $allowed = $allowed_html_tags ?? ['a', 'em', 'strong', 'cite', 'blockquote', 'code', 'ul', 'ol', 'li', 'dl', 'dt', 'dd'];
      $string = preg_replace('#<(script|style)\b.*?</\1\s*>#is', '', (string) $string);
      return preg_replace_callback('#<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>#', static function ($m) use ($allowed) {
        if (!in_array(strtolower($m[2]), $allowed, TRUE)) {
          return '';
        }
        $attrs = '';
        preg_match_all('#([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')#', $m[3], $all, PREG_SET_ORDER);
        foreach ($all as $a) {
          $name = strtolower($a[1]);
          if (str_starts_with($name, 'on') || $name === 'style') {
            continue;
          }
          $value = html_entity_decode($a[2] !== '' ? $a[2] : ($a[3] ?? ''), ENT_QUOTES, 'UTF-8');
          if (!str_starts_with($name, 'data-') && !in_array($name, ['title', 'alt', 'rel', 'class'], TRUE)) {
            while (($colon = strpos($value, ':')) > 0 && !preg_match('#[/?\#]#', substr($value, 0, $colon))
              && !in_array(strtolower(substr($value, 0, $colon)), self::PROTOCOLS, TRUE)) {
              $value = substr($value, $colon + 1);
            }
          }
          $attrs .= ' ' . $name . '="' . htmlspecialchars($value, ENT_QUOTES, 'UTF-8') . '"';
        }
        return '<' . $m[1] . strtolower($m[2]) . ($m[1] === '' ? $attrs : '') . '>';
      }, $string);
    }
    public static function filterAdmin($string) {
      return static::filter($string, static::$adminTags);
    }
  }
}

namespace Drupal\Core\Render {
  use Drupal\Component\Render\MarkupInterface;
  use Symfony\Component\HttpFoundation\Response;
  interface AttachmentsInterface {
    public function getAttachments();
    public function addAttachments(array $attachments);
    public function setAttachments(array $attachments);
  }
  /**
   * Core's final Markup: a string the renderer does not filter again.
   */
  final class Markup implements MarkupInterface, \Countable {
    protected $string;
    public static function create($string) {
      $markup = new static();
      $markup->string = (string) $string;
      return $markup;
    }
    public function __toString() { return $this->string; }
    public function count() { return mb_strlen($this->string); }
    public function jsonSerialize() { return $this->string; }
  }
  class HtmlResponse extends Response implements AttachmentsInterface {
    protected $attachments = ['library' => [], 'drupalSettings' => []];
    public function __construct($content = '', int $status = 200, array $headers = []) {
      parent::__construct(is_array($content) ? '' : (string) $content, $status, $headers);
    }
    public function getAttachments() { return $this->attachments; }
    public function addAttachments(array $attachments) { $this->attachments = array_merge_recursive($this->attachments, $attachments); }
    public function setAttachments(array $attachments) { $this->attachments = $attachments; return $this; }
  }
}

namespace Drupal\Core\Cache {
  interface CacheTagsInvalidatorInterface {
    public function invalidateTags(array $tags);
  }
  /**
   * Core's Cache::invalidateTags() goes to the cache_tags.invalidator service; here the
   * tags are recorded for the tests to read.
   */
  class Cache {
    public static array $invalidated = [];
    public static function invalidateTags(array $tags) {
      array_push(self::$invalidated, ...$tags);
    }
  }
}

namespace Drupal\Core\State {
  interface StateInterface {
    public function get($key, $default = NULL);
    public function set($key, $value);
  }
}

namespace Drupal\Core\Form {
  interface FormStateInterface {
    public function getValue($key, $default = NULL);
    public function setErrorByName($name, $message = '');
    public function getErrors();
  }
}

namespace Drupal\Core\Plugin {
  use Symfony\Component\DependencyInjection\ContainerInterface;

  interface ContainerFactoryPluginInterface {
    public static function create(ContainerInterface $container, array $configuration, $plugin_id, $plugin_definition);
  }
}

namespace Drupal\Core\Block {
  use Drupal\Core\Form\FormStateInterface;

  /**
   * NestedArray::mergeDeep(): integer keys append, string keys merge recursively.
   */
  function merge_deep(array ...$arrays): array {
    $out = [];
    foreach ($arrays as $array) {
      foreach ($array as $key => $value) {
        if (is_int($key)) {
          $out[] = $value;
        }
        elseif (isset($out[$key]) && is_array($out[$key]) && is_array($value)) {
          $out[$key] = merge_deep($out[$key], $value);
        }
        else {
          $out[$key] = $value;
        }
      }
    }
    return $out;
  }

  /**
   * BlockBase with BlockPluginTrait's configuration handling; t() formats like
   * FormattableMarkup (returning a string, not a TranslatableMarkup).
   */
  abstract class BlockBase {
    protected $configuration = [];
    protected $pluginId;
    protected $pluginDefinition;
    public function __construct(array $configuration, $plugin_id, $plugin_definition) {
      $this->pluginId = $plugin_id;
      $this->pluginDefinition = $plugin_definition;
      $this->setConfiguration($configuration);
    }
    public function setConfiguration(array $configuration) {
      $this->configuration = merge_deep($this->baseConfigurationDefaults(), $this->defaultConfiguration(), $configuration);
    }
    public function getConfiguration() {
      return $this->configuration;
    }
    protected function baseConfigurationDefaults() {
      return ['id' => $this->pluginId, 'label' => '', 'provider' => $this->pluginDefinition['provider'] ?? '', 'label_display' => 'visible'];
    }
    public function defaultConfiguration() {
      return [];
    }
    public function blockForm($form, FormStateInterface $form_state) {
      return [];
    }
    public function blockValidate($form, FormStateInterface $form_state) {}
    public function blockSubmit($form, FormStateInterface $form_state) {}
    protected function t($string, array $args = [], array $options = []) {
      $replace = [];
      foreach ($args as $name => $value) {
        $replace[$name] = $name[0] === '@' || $name[0] === '%' ? htmlspecialchars((string) $value, ENT_QUOTES) : (string) $value;
      }
      return strtr((string) $string, $replace);
    }
  }
}

namespace Drupal\Core\Site {
  /**
   * Core's read-only settings.php values ($settings[...]), as a final singleton.
   */
  final class Settings {
    private static $instance = NULL;
    public function __construct(array $settings) {
      $this->storage = $settings;
      self::$instance = $this;
    }
    private array $storage;
    public static function get($name, $default = NULL) {
      return self::$instance?->storage[$name] ?? $default;
    }
  }
}

namespace Drupal\Core\Config {
  interface ConfigFactoryInterface {
    public function get($name);
  }
  final class ConfigEvents {
    const SAVE = 'config.save';
  }
}

namespace Drupal\Core\Extension {
  interface ModuleHandlerInterface {
    public function moduleExists($module);
    public function alter($type, &$data, &$context1 = NULL, &$context2 = NULL);
  }
}

namespace Drupal\Core\Routing {
  interface RouteMatchInterface {
    public function getRouteName();
    public function getRawParameter($parameter_name);
  }
}

namespace Drupal\Core\Session {
  interface AccountInterface {
    public function isAnonymous();
    public function getTimeZone();
  }
}

namespace Drupal\Core\Security {
  interface TrustedCallbackInterface {
    public static function trustedCallbacks();
  }
}

namespace Drupal\Core\PageCache {
  use Symfony\Component\HttpFoundation\Request;
  use Symfony\Component\HttpFoundation\Response;
  interface ResponsePolicyInterface {
    const ALLOW = 'allow';
    const DENY = 'deny';
    public function check(Response $response, Request $request);
  }
}

namespace Drupal\Core\PageCache\ResponsePolicy {
  use Drupal\Core\PageCache\ResponsePolicyInterface;
  use Symfony\Component\HttpFoundation\Request;
  use Symfony\Component\HttpFoundation\Response;
  /**
   * Core's class: trigger() makes check() answer DENY for the rest of the request.
   */
  class KillSwitch implements ResponsePolicyInterface {
    protected $kill = FALSE;
    public function check(Response $response, Request $request) {
      if ($this->kill) {
        return static::DENY;
      }
    }
    public function trigger() {
      $this->kill = TRUE;
    }
  }
}

namespace Symfony\Component\HttpFoundation {
  class ParameterBag {
    public function __construct(protected array $parameters = []) {}
    public function all(?string $key = NULL): array { return $this->parameters; }
    public function get(string $key, mixed $default = NULL): mixed {
      return array_key_exists($key, $this->parameters) ? $this->parameters[$key] : $default;
    }
    public function set(string $key, mixed $value) { $this->parameters[$key] = $value; }
  }
  final class InputBag extends ParameterBag {
    public function get(string $key, mixed $default = NULL): string|int|float|bool|null {
      $value = parent::get($key, $default);
      return is_scalar($value) || $value === NULL ? $value : NULL;
    }
    public function set(string $key, mixed $value): void { $this->parameters[$key] = $value; }
  }
  class ServerBag extends ParameterBag {
    public function getHeaders(): array {
      $headers = [];
      foreach ($this->parameters as $key => $value) {
        if (str_starts_with($key, 'HTTP_')) {
          $headers[substr($key, 5)] = $value;
        }
        elseif (in_array($key, ['CONTENT_TYPE', 'CONTENT_LENGTH', 'CONTENT_MD5'], TRUE) && $value !== '') {
          $headers[$key] = $value;
        }
      }
      return $headers;
    }
  }
  class HeaderBag {
    protected $headers = [];
    public function __construct(array $headers = []) {
      foreach ($headers as $key => $values) {
        $this->set($key, $values);
      }
    }
    public function all(?string $key = NULL): array { return $this->headers; }
    public function set(string $key, string|array|null $values, bool $replace = TRUE) {
      $this->headers[strtr(strtolower($key), '_', '-')] = array_values((array) $values);
    }
    public function get(string $key, ?string $default = NULL): ?string {
      $values = $this->headers[strtr(strtolower($key), '_', '-')] ?? [];
      return $values ? (string) $values[0] : $default;
    }
    public function has(string $key): bool { return isset($this->headers[strtr(strtolower($key), '_', '-')]); }
  }
  class ResponseHeaderBag extends HeaderBag {
    public const COOKIES_FLAT = 'flat';
    protected $cookies = [];
    public function setCookie(Cookie $cookie) {
      $this->cookies[$cookie->getDomain()][$cookie->getPath()][$cookie->getName()] = $cookie;
    }
    public function getCookies(string $format = self::COOKIES_FLAT): array {
      $flat = [];
      foreach ($this->cookies as $paths) {
        foreach ($paths as $cookies) {
          foreach ($cookies as $cookie) {
            $flat[] = $cookie;
          }
        }
      }
      return $flat;
    }
  }
  class Cookie {
    public const SAMESITE_LAX = 'lax';
    public function __construct(private string $name, private ?string $value = NULL, int|string|\DateTimeInterface $expire = 0, private ?string $path = '/', private ?string $domain = NULL, private ?bool $secure = NULL, private bool $httpOnly = TRUE, private bool $raw = FALSE, private ?string $sameSite = self::SAMESITE_LAX, bool $partitioned = FALSE) {
      $this->expire = $expire instanceof \DateTimeInterface ? $expire->getTimestamp() : (int) $expire;
      $this->path = $path ?: '/';
    }
    private int $expire;
    public static function create(string $name, ?string $value = NULL, int|string|\DateTimeInterface $expire = 0, ?string $path = '/', ?string $domain = NULL, ?bool $secure = NULL, bool $httpOnly = TRUE, bool $raw = FALSE, ?string $sameSite = self::SAMESITE_LAX): self {
      return new self($name, $value, $expire, $path, $domain, $secure, $httpOnly, $raw, $sameSite);
    }
    public function getName(): string { return $this->name; }
    public function getValue(): ?string { return $this->value; }
    public function getDomain(): ?string { return $this->domain; }
    public function getPath(): string { return $this->path; }
    public function getExpiresTime(): int { return $this->expire; }
    public function isSecure(): bool { return (bool) $this->secure; }
    public function isHttpOnly(): bool { return $this->httpOnly; }
    public function getSameSite(): ?string { return $this->sameSite; }
  }
  class Request {
    public $attributes;
    public $query;
    public $server;
    public $cookies;
    public $headers;
    public function __construct(array $query = [], array $request = [], array $attributes = [], array $cookies = [], array $files = [], array $server = [], $content = NULL) {
      $this->initialize($query, $request, $attributes, $cookies, $files, $server, $content);
    }
    public function initialize(array $query = [], array $request = [], array $attributes = [], array $cookies = [], array $files = [], array $server = [], $content = NULL) {
      $this->query = new InputBag($query);
      $this->attributes = new ParameterBag($attributes);
      $this->cookies = new InputBag($cookies);
      $this->server = new ServerBag($server);
      $this->headers = new HeaderBag($this->server->getHeaders());
    }
    /**
     * Symfony's Request::create(): the same server variables for a URI (query parameters
     * and the request body are not needed here).
     */
    public static function create(string $uri, string $method = 'GET', array $parameters = [], array $cookies = [], array $files = [], array $server = [], $content = NULL): static {
      $server = array_replace([
        'SERVER_NAME' => 'localhost', 'SERVER_PORT' => 80, 'HTTP_HOST' => 'localhost',
        'HTTP_USER_AGENT' => 'Symfony', 'HTTP_ACCEPT' => 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
        'HTTP_ACCEPT_LANGUAGE' => 'en-us,en;q=0.5', 'REMOTE_ADDR' => '127.0.0.1', 'SERVER_PROTOCOL' => 'HTTP/1.1',
      ], $server);
      $server['REQUEST_METHOD'] = strtoupper($method);
      $parts = parse_url($uri);
      if (isset($parts['host'])) {
        $server['SERVER_NAME'] = $server['HTTP_HOST'] = $parts['host'];
      }
      if (isset($parts['scheme'])) {
        if ($parts['scheme'] === 'https') {
          $server['HTTPS'] = 'on';
          $server['SERVER_PORT'] = 443;
        }
        else {
          unset($server['HTTPS']);
          $server['SERVER_PORT'] = 80;
        }
      }
      if (isset($parts['port'])) {
        $server['SERVER_PORT'] = $parts['port'];
        $server['HTTP_HOST'] .= ':' . $parts['port'];
      }
      $server['QUERY_STRING'] = $parts['query'] ?? '';
      $server['REQUEST_URI'] = ($parts['path'] ?? '/') . ($server['QUERY_STRING'] !== '' ? '?' . $server['QUERY_STRING'] : '');
      return new static($parameters, [], [], $cookies, $files, $server, $content);
    }
    public function getUri(): string {
      return ($this->isSecure() ? 'https' : 'http') . '://' . $this->server->get('HTTP_HOST', 'localhost') . $this->server->get('REQUEST_URI', '/');
    }
    public function getClientIp(): ?string {
      // No trusted proxies configured: REMOTE_ADDR.
      return $this->server->get('REMOTE_ADDR');
    }
    public function isSecure(): bool {
      $https = $this->server->get('HTTPS');
      return !empty($https) && strtolower((string) $https) !== 'off';
    }
  }
  class RequestStack {
    private array $requests = [];
    public function push(Request $request) { $this->requests[] = $request; }
    public function pop(): ?Request { return array_pop($this->requests); }
    public function getCurrentRequest(): ?Request { return end($this->requests) ?: NULL; }
    public function getMainRequest(): ?Request { return $this->requests[0] ?? NULL; }
  }
  class Response {
    public $headers;
    protected $content;
    protected $statusCode;
    public function __construct(?string $content = '', int $status = 200, array $headers = []) {
      $this->headers = new ResponseHeaderBag($headers);
      $this->content = $content ?? '';
      $this->statusCode = $status;
    }
    public function getContent(): string|false { return $this->content; }
    public function getStatusCode(): int { return $this->statusCode; }
    public function isSuccessful(): bool {
      return $this->statusCode >= 200 && $this->statusCode < 300;
    }
  }
}

namespace Symfony\Component\EventDispatcher {
  interface EventSubscriberInterface {
    public static function getSubscribedEvents();
  }
}

namespace Symfony\Component\HttpKernel {
  use Symfony\Component\HttpFoundation\Request;
  use Symfony\Component\HttpFoundation\Response;
  interface HttpKernelInterface {
    public const MAIN_REQUEST = 1;
    public const SUB_REQUEST = 2;
    public function handle(Request $request, int $type = self::MAIN_REQUEST, bool $catch = TRUE): Response;
  }
  final class KernelEvents {
    public const REQUEST = 'kernel.request';
    public const RESPONSE = 'kernel.response';
    public const TERMINATE = 'kernel.terminate';
  }
}

namespace Symfony\Component\HttpKernel\Event {
  use Symfony\Component\HttpFoundation\Request;
  use Symfony\Component\HttpFoundation\Response;
  use Symfony\Component\HttpKernel\HttpKernelInterface;
  class KernelEvent {
    public function __construct(private HttpKernelInterface $kernel, private Request $request, private ?int $requestType) {}
    public function getKernel(): HttpKernelInterface { return $this->kernel; }
    public function getRequest(): Request { return $this->request; }
    public function getRequestType(): int { return $this->requestType; }
    public function isMainRequest(): bool { return $this->requestType === HttpKernelInterface::MAIN_REQUEST; }
  }
  class RequestEvent extends KernelEvent {}
  final class ResponseEvent extends KernelEvent {
    public function __construct(HttpKernelInterface $kernel, Request $request, int $requestType, private Response $response) {
      parent::__construct($kernel, $request, $requestType);
    }
    public function getResponse(): Response { return $this->response; }
    public function setResponse(Response $response): void { $this->response = $response; }
  }
}
