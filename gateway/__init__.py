# SPDX-License-Identifier: Apache-2.0
"""Slotwise gateway: the online personalization service."""

__version__ = "0.1.0"
