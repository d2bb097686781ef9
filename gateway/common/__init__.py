# SPDX-License-Identifier: Apache-2.0
"""Shared building blocks with no dependencies inside the gateway: types, vocabulary, JSON, items, text."""
