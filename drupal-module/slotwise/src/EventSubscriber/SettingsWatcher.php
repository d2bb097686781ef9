<?php
// SPDX-License-Identifier: GPL-2.0-or-later

declare(strict_types=1);

namespace Drupal\slotwise\EventSubscriber;

use Drupal\Core\Cache\CacheTagsInvalidatorInterface;
use Drupal\Core\Config\ConfigFactoryInterface;
use Drupal\Core\State\StateInterface;
use Symfony\Component\EventDispatcher\EventSubscriberInterface;
use Symfony\Component\HttpKernel\Event\RequestEvent;
use Symfony\Component\HttpKernel\KernelEvents;

/**
 * Notices settings.php overrides of the settings that end up in pages.
 *
 * A config save (the form, drush cset, config import) invalidates config:slotwise.settings
 * by itself; an override in settings.php changes the effective values without any save. So
 * each request compares a hash of the effective values with the last one seen (a state
 * read) and, when they differ, invalidates that one tag: pages and blocks with a slot or the
 * client.js tag render again, nothing else does.
 */
final class SettingsWatcher implements EventSubscriberInterface {

  public const STATE_KEY = 'slotwise.settings_fingerprint';
  private const WATCHED = ['gateway_url', 'site', 'publishable_key', 'default_consent', 'delivery_mode'];

  public function __construct(
    private readonly ConfigFactoryInterface $configFactory,
    private readonly StateInterface $state,
    private readonly CacheTagsInvalidatorInterface $invalidator,
  ) {}

  public static function getSubscribedEvents(): array {
    return [KernelEvents::REQUEST => ['onRequest', 100]];
  }

  public function onRequest(RequestEvent $event): void {
    if (!$event->isMainRequest()) {
      return;
    }
    $config = $this->configFactory->get('slotwise.settings');
    $values = [];
    foreach (self::WATCHED as $key) {
      $values[$key] = $config->get($key);
    }
    $fingerprint = hash('sha256', serialize($values));
    $seen = $this->state->get(self::STATE_KEY);
    if ($seen === $fingerprint) {
      return;
    }
    $this->state->set(self::STATE_KEY, $fingerprint);
    if ($seen !== NULL) {
      $this->invalidator->invalidateTags(['config:slotwise.settings']);
    }
  }

}
