# SPDX-License-Identifier: Apache-2.0
"""Visitors: event validation, profiles, the shared feature definition, stores, visitor rights."""
