# SPDX-License-Identifier: Apache-2.0
"""Variant choice per slot: rules, experiments, ttl bounds."""
