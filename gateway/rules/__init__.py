# SPDX-License-Identifier: Apache-2.0
"""Editors' rules: the expression language, its name registry, rule segments and profile names."""
