# SPDX-License-Identifier: Apache-2.0
"""Offline pipeline: features, recommenders, segments, propensity, evaluation, ONNX bundles.

Training code may import scikit-learn; the gateway never imports this package's trainers,
only the bundles they write (ONNX + manifest.json).
"""
