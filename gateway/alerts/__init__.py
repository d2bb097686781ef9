# SPDX-License-Identifier: Apache-2.0
"""Alerts: rules on KPIs and health judged on a schedule inside `slotwise serve`, deduplicated,
with recovery notices, delivered to webhooks and e-mail; `raise_alert` for any other code.

Sits above `config` (its section), `measure` (KPIs, experiment results) and `ops` (metrics);
below `serving`, `studio` and `http`, which start it and show what fires. It reads the running
app's state duck-typed and never imports the layers above it.
"""
