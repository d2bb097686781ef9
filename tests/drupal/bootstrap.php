<?php
// SPDX-License-Identifier: Apache-2.0

declare(strict_types=1);

require __DIR__ . '/stubs.php';
require __DIR__ . '/Doubles.php';

// PSR-4 for the module's own classes, as Drupal's class loader maps them.
spl_autoload_register(static function (string $class): void {
  $prefix = 'Drupal\\slotwise\\';
  if (str_starts_with($class, $prefix)) {
    $file = dirname(__DIR__, 2) . '/drupal-module/slotwise/src/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
      require $file;
    }
  }
});
