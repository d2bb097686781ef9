# SPDX-License-Identifier: Apache-2.0
"""Catalog connectors: pull items from a CMS into the gateway's catalog file."""

from slotwise.connectors.base import AuthError, Connector, ConnectorError, Cursor, Item, MalformedResponse, SyncStats
from slotwise.connectors.registry import get, names, register

__all__ = [
    "AuthError",
    "Connector",
    "ConnectorError",
    "Cursor",
    "Item",
    "MalformedResponse",
    "SyncStats",
    "get",
    "names",
    "register",
]
