# SPDX-License-Identifier: Apache-2.0
"""What a running gateway holds: the site runtime built from one config, and long-lived services."""
