# SPDX-License-Identifier: Apache-2.0
"""`slotwise experiments ACTION ...`: the commands over experiments and bandits (report, ope).

A composition root like `export` and `streams`: it loads the configuration and opens its store,
so it sits above `config`, and its entry point reports a broken configuration file as every other
command does (`config.command.reports_config_errors`). The statistics it prints are computed
below, in `measure` and `decisions`.
"""
