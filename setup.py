# SPDX-License-Identifier: Apache-2.0
"""Maps the top-level folders gateway/, models/ and connectors/ to slotwise.gateway, slotwise.models
and slotwise.connectors, so that one import package `slotwise` installs and nothing generic lands
at the top of site-packages. Metadata lives in pyproject.toml."""

from setuptools import find_packages, setup

ROOTS = ("gateway", "models", "connectors")
found = find_packages(include=[f"{root}*" for root in ROOTS])
setup(
    packages=[f"slotwise.{name}" for name in found],
    package_dir={f"slotwise.{root}": root for root in ROOTS},
    package_data={"": ["templates/**/*", "templates/*", "static/*", "static/**/*"]},
)
