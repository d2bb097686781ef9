# SPDX-License-Identifier: Apache-2.0
"""The demo shop: catalog, simulated visitors, config and page (composition root: may train models)."""
