# SPDX-License-Identifier: Apache-2.0
"""Operations: Prometheus metrics, rate limits."""
