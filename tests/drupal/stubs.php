<?php
// SPDX-License-Identifier: Apache-2.0

/**
 * @file
 * Minimal stand-ins for the Drupal, Symfony, Guzzle and PSR types the module uses.
 *
 * A full Drupal cannot be installed from the registries this project reaches, so the
 * unit tests declare just the members the module calls, with the signatures of Drupal 10.3 /
 * 11's API documentation (api.drupal.org), Symfony 6.4/7 and Guzzle 7. Anything the module
 * calls that is missing here fails the tests loudly.
 */

declare(strict_types=1);

namespace Psr\Log {
  interface LoggerInterface {
    public function warning(string|\Stringable $message, array $context = []): void;
  }
}

namespace Psr\Http\Message {
  interface StreamInterface {
    public function __toString(): string;
  }
  interface ResponseInterface {
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
  interface GuzzleException extends \Throwable {}
  class TransferException extends \RuntimeException implements GuzzleException {}
  class ConnectException extends TransferException {}
  class RequestException extends TransferException {}
}

namespace Drupal\Core\Config {
  interface ConfigFactoryInterface {
    public function get($name);
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

namespace Drupal\Core\PageCache\ResponsePolicy {
  /**
   * Core's class: trigger() makes check() answer DENY for the rest of the request.
   */
  class KillSwitch {
    protected bool $kill = FALSE;
    public function check($response, $request) {
      return $this->kill ? 'deny' : NULL;
    }
    public function trigger() {
      $this->kill = TRUE;
    }
  }
}

namespace Symfony\Component\HttpFoundation {
  class ParameterBag {
    public function __construct(protected array $parameters = []) {}
    public function get(string $key, mixed $default = NULL): mixed {
      return array_key_exists($key, $this->parameters) ? $this->parameters[$key] : $default;
    }
  }
  class HeaderBag {
    protected array $headers = [];
    public function __construct(array $headers = []) {
      foreach ($headers as $k => $v) {
        $this->headers[strtolower($k)] = (string) $v;
      }
    }
    public function get(string $key, ?string $default = NULL): ?string {
      return $this->headers[strtolower($key)] ?? $default;
    }
  }
  class ResponseHeaderBag extends HeaderBag {
    public array $cookies = [];
    public function setCookie(Cookie $cookie): void {
      $this->cookies[$cookie->getName()] = $cookie;
    }
  }
  class Cookie {
    public const SAMESITE_LAX = 'lax';
    public function __construct(private string $name, private ?string $value, private int $expire, private ?string $path, private ?string $domain, private ?bool $secure, private bool $httpOnly, private bool $raw, private ?string $sameSite) {}
    public static function create(string $name, ?string $value = NULL, $expire = 0, ?string $path = '/', ?string $domain = NULL, ?bool $secure = NULL, bool $httpOnly = TRUE, bool $raw = FALSE, ?string $sameSite = self::SAMESITE_LAX): self {
      return new self($name, $value, (int) $expire, $path, $domain, $secure, $httpOnly, $raw, $sameSite);
    }
    public function getName(): string { return $this->name; }
    public function getValue(): ?string { return $this->value; }
    public function isHttpOnly(): bool { return $this->httpOnly; }
    public function getSameSite(): ?string { return $this->sameSite; }
  }
  class Request {
    public HeaderBag $headers;
    public ParameterBag $cookies;
    public function __construct(private string $uri = 'https://example.com/', array $headers = [], array $cookies = [], private ?string $clientIp = '203.0.113.7', private bool $secure = TRUE) {
      $this->headers = new HeaderBag($headers);
      $this->cookies = new ParameterBag($cookies);
    }
    public function getUri(): string { return $this->uri; }
    public function getClientIp(): ?string { return $this->clientIp; }
    public function isSecure(): bool { return $this->secure; }
  }
  class RequestStack {
    public function __construct(private ?Request $request = NULL) {}
    public function getCurrentRequest(): ?Request { return $this->request; }
  }
  class Response {
    public ResponseHeaderBag $headers;
    public function __construct(public string $content = '', public int $status = 200) {
      $this->headers = new ResponseHeaderBag();
    }
    public function isSuccessful(): bool {
      return $this->status >= 200 && $this->status < 300;
    }
  }
}

namespace Symfony\Component\EventDispatcher {
  interface EventSubscriberInterface {
    public static function getSubscribedEvents();
  }
}

namespace Symfony\Component\HttpKernel {
  final class KernelEvents {
    public const RESPONSE = 'kernel.response';
    public const TERMINATE = 'kernel.terminate';
  }
}

namespace Symfony\Component\HttpKernel\Event {
  use Symfony\Component\HttpFoundation\Request;
  use Symfony\Component\HttpFoundation\Response;
  class ResponseEvent {
    public function __construct(private Request $request, private Response $response, private bool $main = TRUE) {}
    public function isMainRequest(): bool { return $this->main; }
    public function getRequest(): Request { return $this->request; }
    public function getResponse(): Response { return $this->response; }
  }
}
