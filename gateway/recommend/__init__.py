# SPDX-License-Identifier: Apache-2.0
"""Recommendations: catalog, strategies, ONNX model bundles and the strategies that use them."""
