"""The configuration: schema of slotwise.yaml, loading with path-named errors."""
