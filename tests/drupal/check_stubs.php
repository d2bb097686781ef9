<?php
// SPDX-License-Identifier: Apache-2.0

/**
 * @file
 * Compares the signatures in stubs.php with a real Drupal tree, by reflection.
 *
 * Usage: php check_stubs.php /path/to/drupal (the folder holding vendor/autoload.php).
 * Prints each difference; exits 1 when there is one. Not part of CI (no Drupal tree there):
 * run it by hand when the stubs change or a new Drupal/Symfony/Guzzle is targeted.
 */

declare(strict_types=1);

function signatures(array $names): array {
  $out = [];
  foreach ($names as $name) {
    if (!class_exists($name) && !interface_exists($name)) {
      $out[$name] = 'missing';
      continue;
    }
    $class = new ReflectionClass($name);
    $out[$name]['final'] = $class->isFinal();
    $out[$name]['interfaces'] = $class->getInterfaceNames();
    sort($out[$name]['interfaces']);
    foreach ($class->getMethods() as $method) {
      $params = [];
      foreach ($method->getParameters() as $p) {
        $params[] = ($p->hasType() ? $p->getType() . ' ' : '') . ($p->isPassedByReference() ? '&' : '') . '$' . $p->getName()
          . ($p->isOptional() ? ' = ' . ($p->isDefaultValueAvailable() ? var_export($p->getDefaultValue(), TRUE) : '?') : '');
      }
      $out[$name]['methods'][$method->getName()] = ($method->isStatic() ? 'static ' : '') . '(' . implode(', ', $params) . ')'
        . ($method->hasReturnType() ? ': ' . $method->getReturnType() : '');
    }
  }
  return $out;
}

if (($argv[1] ?? '') === '--dump-stubs') {
  $before = array_merge(get_declared_classes(), get_declared_interfaces());
  require __DIR__ . '/stubs.php';
  $names = array_values(array_diff(array_merge(get_declared_classes(), get_declared_interfaces()), $before));
  echo json_encode(signatures($names));
  exit(0);
}
if (($argv[1] ?? '') === '--dump-real') {
  require $argv[2] . '/vendor/autoload.php';
  echo json_encode(signatures(json_decode(stream_get_contents(STDIN), TRUE)));
  exit(0);
}

$root = $argv[1] ?? exit("usage: php check_stubs.php DRUPAL_ROOT\n");
$stubs = json_decode(shell_exec(PHP_BINARY . ' ' . escapeshellarg(__FILE__) . ' --dump-stubs'), TRUE);
$pipe = proc_open([PHP_BINARY, __FILE__, '--dump-real', $root], [['pipe', 'r'], ['pipe', 'w'], STDERR], $io);
fwrite($io[0], json_encode(array_keys($stubs)));
fclose($io[0]);
$real = json_decode(stream_get_contents($io[1]), TRUE);
proc_close($pipe);
$diffs = 0;
foreach ($stubs as $name => $stub) {
  $theirs = $real[$name] ?? 'missing';
  if ($theirs === 'missing') {
    echo "$name: not in the real tree\n";
    $diffs++;
    continue;
  }
  if ($stub['final'] !== $theirs['final']) {
    echo "$name: final differs\n";
    $diffs++;
  }
  foreach (array_diff($stub['interfaces'], $theirs['interfaces']) as $interface) {
    echo "$name: implements $interface, the real one does not\n";
    $diffs++;
  }
  foreach ($stub['methods'] ?? [] as $method => $signature) {
    if (!isset($theirs['methods'][$method])) {
      echo "$name::$method: not in the real class\n";
      $diffs++;
    }
    elseif ($theirs['methods'][$method] !== $signature) {
      echo "$name::$method\n  stub: $signature\n  real: {$theirs['methods'][$method]}\n";
      $diffs++;
    }
  }
}
echo $diffs ? "$diffs difference(s)\n" : count($stubs) . " stubbed types match\n";
exit($diffs ? 1 : 0);
