"""Variant choice per slot: rules, experiments, ttl bounds."""
