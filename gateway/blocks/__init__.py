# SPDX-License-Identifier: Apache-2.0
"""Rendering: block types in the Jinja2 sandbox, one page's slots under budgets, caches."""
