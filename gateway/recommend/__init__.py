"""Recommendations: catalog, strategies, ONNX model bundles and the strategies that use them."""
