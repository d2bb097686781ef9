# SPDX-License-Identifier: Apache-2.0
"""Automated retraining: `slotwise retrain` and `slotwise models` (versions, rollback).

Reads the configuration and the store (through `export`'s readers), runs the training in a
subprocess (`python -m slotwise.models.retrain`: this package never imports `slotwise.models`),
decides on promotion and manages versions with `recommend.bundle_versions`.
"""
