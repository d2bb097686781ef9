"""Visitors: event validation, profiles, the shared feature definition, stores, visitor rights."""
