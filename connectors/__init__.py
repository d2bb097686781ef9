"""Catalog connectors: pull items from a CMS into the gateway's catalog file."""
from .base import AuthError, Connector, ConnectorError, Cursor, Item, MalformedResponse, SyncStats
from .registry import get, names, register

__all__ = ["AuthError", "Connector", "ConnectorError", "Cursor", "Item", "MalformedResponse",
           "SyncStats", "get", "names", "register"]
