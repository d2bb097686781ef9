<?php
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A variant prints nothing by itself: its slot prints the default one as the fallback, and
 * the gateway serves the others (they were published with the post).
 *
 * @package Slotwise
 */

defined( 'ABSPATH' ) || exit;
