# SPDX-License-Identifier: Apache-2.0
"""A worked example of a catalog connector, to copy when adding a CMS (see README.md)."""

from slotwise.connectors.example.connector import ExampleConnector

__all__ = ["ExampleConnector"]
