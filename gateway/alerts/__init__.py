# SPDX-License-Identifier: Apache-2.0
"""Alerts: rules on KPIs and health judged on a schedule inside `slotwise serve`, deduplicated,
with recovery notices, delivered to webhooks and e-mail, with the alerts that other code raises
through `ops.alerts.raise_alert`.

Sits above `config` (its section), `measure` (KPIs, experiment results) and `ops` (metrics);
below `serving`, `studio` and `http`, which start it and show what fires. It reads the running
app's state duck-typed and never imports the layers above it.
"""
