# SPDX-License-Identifier: Apache-2.0
"""Edge delivery: the `slotwise proxy` reverse proxy that fills Slotwise placeholders in HTML
pages while they stream from the CMS to the visitor (one in-process render call per page).

May import `slotwise.gateway.http` (the app factory and the render path it shares with
`POST /v1/render`), `blocks`, `config`, `context`, and httpx/starlette/uvicorn; nothing imports it
except `cli.py`. The Varnish side (ESI) lives in `deploy/varnish/` at the repository root.
"""
