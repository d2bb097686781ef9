# SPDX-License-Identifier: Apache-2.0
"""Measurement: exposures, attribution, KPIs and experiment statistics.

The statistics modules (`distributions`, `stats`, `verdict`, `analysis`) are pure functions over
summary statistics and may import only numpy, the standard library and `slotwise.gateway.common`.
Modules that read events or stores may also import `slotwise.gateway.visitors` and
`slotwise.gateway.config`; nothing here imports the HTTP layer or `slotwise.models`.
"""
