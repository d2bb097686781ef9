"""A worked example of a catalog connector, to copy when adding a CMS (see README.md)."""
from .connector import ExampleConnector

__all__ = ["ExampleConnector"]
