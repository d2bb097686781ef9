# SPDX-License-Identifier: Apache-2.0
"""The studio: `/studio`, the web app where people (not keys) define and preview personalization.

One job: accounts, sessions and pages that edit the configuration safely (validated by the
config schema, versioned with author and diff, applied through the app's reload path). It may
import `config`, `rules`, `blocks`, `context`, `serving`, `ops` and `http` helpers; nothing in
the gateway imports it except the app factory (to mount its routes) and the CLI (`users`).
"""
