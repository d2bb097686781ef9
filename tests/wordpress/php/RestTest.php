<?php
// SPDX-License-Identifier: GPL-2.0-or-later
use PHPUnit\Framework\TestCase;

final class RestTest extends TestCase {
	public function test_simulate_keeps_only_valid_choices(): void {
		$this->assertSame( array( 'device' => 'mobile', 'country' => 'FR', 'hour' => 23, 'weekday' => 'sat' ),
			Slotwise_Rest::simulate( 'mobile', 'fr', 23, 'sat' ) );
		$this->assertSame( array(), Slotwise_Rest::simulate( 'fridge', 'FRA', -1, 'someday' ) );
		$this->assertSame( array( 'hour' => 0 ), Slotwise_Rest::simulate( '', '', 0, '' ) );
	}
}
