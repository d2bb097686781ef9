# SPDX-License-Identifier: Apache-2.0
"""HTTP: the Starlette app factory, routes, errors and the OpenAPI document.

May import every other gateway subpackage."""
