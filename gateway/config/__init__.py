# SPDX-License-Identifier: Apache-2.0
"""The configuration: schema of slotwise.yaml, loading with path-named errors."""
