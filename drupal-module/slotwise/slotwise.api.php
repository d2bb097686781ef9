<?php
// SPDX-License-Identifier: GPL-2.0-or-later

/**
 * @file
 * Hooks provided by the Slotwise module.
 */

/**
 * Alters the visitor's consent level before any call to the gateway.
 *
 * @param string $level
 *   none, anonymous or full. Starts from the site default, overridden by the
 *   slotwise_consent cookie the browser client writes. Any other value becomes "none".
 * @param \Symfony\Component\HttpFoundation\Request|null $request
 *   The current request.
 */
function hook_slotwise_consent_alter(string &$level, $request): void {
  // A consent banner that stores its choice in a cookie:
  if ($request && $request->cookies->get('cookie-agreed') !== '2') {
    $level = 'none';
  }
}
