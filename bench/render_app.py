# SPDX-License-Identifier: Apache-2.0
"""The gateway app for servers that import it by name (granian in bench/render_bench.py):
`SLOTWISE_CONFIG` names the configuration file."""

from __future__ import annotations

import os
from typing import Any


def app() -> Any:
    from slotwise.gateway.config.loader import load_config
    from slotwise.gateway.http.app import create_app

    path = os.environ["SLOTWISE_CONFIG"]
    return create_app(load_config(path, check_files=True), path)
