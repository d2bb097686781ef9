# SPDX-License-Identifier: Apache-2.0
"""Measurement: exposures, attribution, KPIs and experiment statistics.

The statistics modules (`distributions`, `stats`, `verdict`, `analysis`) are pure functions over
summary statistics and may import only numpy, the standard library and `slotwise.gateway.common`.
The aggregation modules (`exposures`, `attribution`, `kpis`, `counters`, `aggregate`) work on
event dicts and import nothing from the gateway but `common`, because both stores call them inside
`ingest`. `results` reads a store and the configuration (the commands that print it are in
`gateway/experiments/`). Nothing here imports the HTTP layer or `slotwise.models`.
"""
